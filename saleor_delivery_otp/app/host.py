""":class:`AppHost`, the Saleor App's :class:`~saleor_delivery_otp.ports.Host`.

It reaches Saleor only over HTTP: Saleor's JWTs are verified offline against the
installation's JWKS (:mod:`.saleor_tokens`), App tokens and write-backs go to the
installation's GraphQL API with the App's own token (:mod:`.saleor_api`). Several
installations share the App's database: the engine's channels are named
``<installation public id>/<slug>`` (:meth:`.models.Installation.channel`), and
every question about a channel is answered only for the installation that owns it.

One instance serves one request (``installation`` set: the request's) or one task
run (``installation`` None: found from each call's channel).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from graphql_relay import to_global_id

from .. import constants as c
from .. import flows, plugin_config
from ..audit import Actor
from ..codes import Keyring
from ..conf import settings as otp_settings
from ..exceptions import ConfigurationError
from ..models import DeliveryCode
from ..ports import (
    ANONYMOUS,
    ChannelSettings,
    EmailMode,
    OrderData,
    OrderFacts,
    ParcelData,
    Requestor,
    RequestorKind,
)
from . import saleor_api, saleor_tokens
from .models import CHANNEL_SEPARATOR, ChannelConfiguration, Installation
from .saleor_api import saleor_pk

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..emails.context import EmailContext

logger = logging.getLogger(__name__)

MANAGE_ORDERS = "MANAGE_ORDERS"

_APP_QUERY = "query DeliveryOTPCourier { app { id name } }"
_STAFF_QUERY = """query DeliveryOTPStaff {
  me { userPermissions { code } restrictedAccessToChannels accessibleChannels { slug } }
}"""
_ORDER_QUERY = """query DeliveryOTPOrder($id: ID!) {
  order(id: $id) { id number userEmail user { id } channel { slug } status }
}"""
_NOTE_MUTATION = """mutation DeliveryOTPNote($id: ID!, $message: String!) {
  orderNoteAdd(order: $id, input: {message: $message}) { errors { field code } }
}"""
_STATUS_MUTATION = """mutation DeliveryOTPStatus(
  $id: ID!, $key: String!, $value: String!
) {
  updateMetadata(id: $id, input: [{key: $key, value: $value}]) { errors { field code } }
}"""


class AppHost:
    def __init__(self, installation: Installation | None = None) -> None:
        self.installation = installation
        self._settings: dict[str, ChannelSettings | None] = {}
        self._keyring: Keyring | None = None
        # The request's installation's active configurations, by slug, once read.
        self._active: dict[str, ChannelConfiguration] | None = None

    @property
    def installation_pk(self) -> int | None:
        return self.installation.pk if self.installation is not None else None

    # --- which installation ---------------------------------------------------------

    def _owner(self, channel: str) -> tuple[Installation, str] | None:
        """The installation owning ``channel`` and its Saleor slug; within a
        request, only the request's installation owns anything (no query)."""
        if self.installation is not None:
            try:
                public_id, slug = Installation.split_channel(channel)
            except ValueError:
                return None
            if public_id != str(self.installation.public_id):
                return None
            return self.installation, slug
        found = Installation.of_channel(channel)
        if found is None:
            return None
        installation, slug = found
        if self.installation is not None and installation.pk != self.installation.pk:
            return None
        return installation, slug

    def _call(
        self, installation: Installation, query: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        """One call with the App's token; its ``data``, or SaleorError."""
        document = saleor_api.execute(
            installation.saleor_api_url, installation.token(), query, variables
        )
        data = document.get("data")
        if not isinstance(data, dict) or document.get("errors"):
            raise saleor_api.SaleorUnavailable("the call was refused")
        return data

    def _mutate(
        self,
        installation: Installation,
        mutation: str,
        query: str,
        variables: dict[str, Any],
    ) -> None:
        """A write-back; SaleorError unless Saleor says it was done. A mutation
        Saleor refuses answers HTTP 200 with its own ``errors`` list: the task
        must fail (and retry, and log it), not count it written."""
        payload = self._call(installation, query, variables).get(mutation)
        if not isinstance(payload, dict) or payload.get("errors"):
            codes = sorted(
                str(error.get("code"))
                for error in (payload or {}).get("errors") or ()
                if isinstance(error, dict)
            )
            raise saleor_api.SaleorUnavailable(
                f"{mutation} refused ({', '.join(codes) or 'no answer'})"
            )

    # --- the API's questions ----------------------------------------------------------

    def requestor(self, request: HttpRequest) -> Requestor:
        """A Saleor JWT (customer or staff), verified offline against the
        installation's keys; else an App token, named by Saleor (a courier app).
        Anything else, or any doubt, is anonymous."""
        installation = self.installation
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if installation is None or scheme.lower() != "bearer" or not token:
            return ANONYMOUS
        if token.count(".") == 2:
            return self._user(installation, token)
        return self._app(installation, token)

    def _user(self, installation: Installation, token: str) -> Requestor:
        try:
            verified = saleor_tokens.verify_user_token(
                token, installation.saleor_api_url
            )
        except Exception as exc:  # a bad token, or the keys out of reach
            logger.info(
                "Delivery-code App: token refused (%s).",
                getattr(exc, "reason", type(exc).__name__),
            )
            return ANONYMOUS
        user_id = installation.scoped_id(saleor_pk(verified.user_id, "User"))
        if not user_id:
            return ANONYMOUS
        if not verified.is_staff:
            return Requestor(
                RequestorKind.CUSTOMER, user_id, verified.email, verified.email
            )
        # Staff: their permissions and channels, as Saleor grants them now.
        try:
            document = saleor_api.execute(
                installation.saleor_api_url, token, _STAFF_QUERY
            )
            me = (document.get("data") or {}).get("me") or {}
        except saleor_api.SaleorError as exc:
            logger.info("Delivery-code App: staff unknown (%s).", exc)
            return ANONYMOUS
        codes = {p.get("code") for p in me.get("userPermissions") or ()}
        can_manage = MANAGE_ORDERS in codes
        channels: frozenset[str] | None = None
        if me.get("restrictedAccessToChannels"):
            channels = frozenset(
                installation.channel(str(ch.get("slug")))
                for ch in me.get("accessibleChannels") or ()
            )
        return Requestor(
            RequestorKind.STAFF,
            user_id,
            verified.email,
            verified.email,
            can_manage_orders=can_manage,
            channels=channels if can_manage else None,
        )

    def _app(self, installation: Installation, token: str) -> Requestor:
        """The app behind an App token, as Saleor names it, then kept for
        ``DELIVERY_OTP_APP_TOKEN_CACHE`` under the token's digest (and the
        installation's): a steady stream of verifies makes no Saleor round trip,
        and a deactivated app is refused at most that long after."""
        ttl = otp_settings.DELIVERY_OTP_APP_TOKEN_CACHE.total_seconds()
        key = (
            "delivery-otp:app:courier:"
            + hashlib.sha256(
                f"{installation.public_id}\x00{token}".encode()
            ).hexdigest()
        )
        if ttl > 0:
            try:
                known = cache.get(key)
            except Exception as exc:  # the cache is an optimisation, never a gate
                logger.warning(
                    "Delivery-code App: cache failed (%s).", type(exc).__name__
                )
                known = None
            if known is not None:
                return Requestor(RequestorKind.APP, known[0], known[1])
        try:
            document = saleor_api.execute(
                installation.saleor_api_url, token, _APP_QUERY
            )
        except saleor_api.SaleorError as exc:
            logger.info("Delivery-code App: app token refused (%s).", exc)
            return ANONYMOUS
        app = (document.get("data") or {}).get("app")
        if not isinstance(app, dict) or not isinstance(app.get("id"), str):
            return ANONYMOUS
        found = (
            installation.scoped_id(saleor_pk(app["id"], "App")),
            str(app.get("name") or ""),
        )
        if not found[0]:
            return ANONYMOUS
        if ttl > 0:
            try:
                cache.set(key, found, ttl)
            except Exception as exc:
                logger.warning(
                    "Delivery-code App: cache failed (%s).", type(exc).__name__
                )
        return Requestor(RequestorKind.APP, found[0], found[1])

    def order(self, order_id: uuid.UUID) -> OrderFacts | None:
        """The order as the request's installation has it now (one call)."""
        installation = self.installation
        if installation is None:
            return None
        try:
            data = self._call(
                installation, _ORDER_QUERY, {"id": to_global_id("Order", order_id)}
            )
        except saleor_api.SaleorError as exc:
            logger.warning("Delivery-code App: order not read (%s).", exc)
            return None
        order = data.get("order")
        if not isinstance(order, dict) or order.get("status") == "DRAFT":
            return None
        if held_elsewhere(installation, order_id):
            return None
        user = order.get("user") or None
        return OrderFacts(
            id=order_id,
            channel=installation.channel(str((order.get("channel") or {})["slug"])),
            email=str(order.get("userEmail") or ""),
            user_id=installation.scoped_id(saleor_pk(user["id"], "User"))
            if user
            else None,
            number=str(order.get("number") or ""),
        )

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        if channel not in self._settings:
            self._settings[channel] = self._read_settings(channel)
        return self._settings[channel]

    def _read_settings(self, channel: str) -> ChannelSettings | None:
        owner = self._owner(channel)
        if owner is None:
            return None
        installation, slug = owner
        if self._active is not None and installation.pk == self.installation_pk:
            # active_channels() read them already, in the same query.
            row = self._active.get(slug)
        else:
            row = ChannelConfiguration.objects.filter(
                installation=installation, slug=slug, active=True
            ).first()
        if row is None:
            return None
        try:
            settings = plugin_config.parse_items(
                row.items, currency=row.currency
            ).settings()
        except ConfigurationError as exc:
            logger.error(
                "Delivery codes are off in channel %s: invalid configuration of %s.",
                channel,
                ", ".join(sorted(exc.errors)),
            )
            return None
        if settings.email_mode is EmailMode.SINGLE:
            # The App sends no order confirmation (confirmation_context): a code
            # left to it would reach nobody. Each code gets its own e-mail.
            logger.warning(
                "Delivery codes in channel %s: e-mail mode single is the plugin's; "
                "the App e-mails each code on its own.",
                channel,
            )
            settings = replace(settings, email_mode=EmailMode.SEPARATE)
        # The form names courier apps by their Saleor ids, the requestors by the
        # installation's (scoped_id).
        return replace(
            settings,
            verifying_apps=frozenset(
                installation.scoped_id(pk) for pk in settings.verifying_apps
            ),
        )

    def active_channels(self) -> Collection[str]:
        """The request's installation's channels where codes are on. Their
        configurations come in the same query and are kept for
        channel_settings (the courier's verify asks both)."""
        if self.installation is None:
            return []
        if self._active is None:
            self._active = {
                row.slug: row
                for row in ChannelConfiguration.objects.filter(
                    installation=self.installation, active=True
                )
            }
        return [self.installation.channel(slug) for slug in self._active]

    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = plugin_config.reading_keyring()
        return self._keyring

    def issuing_keyring(self, channel: str) -> Keyring:
        owner = self._owner(channel)
        keys: tuple[str, ...] = ()
        if owner is not None:
            row = ChannelConfiguration.objects.filter(
                installation=owner[0], slug=owner[1]
            ).first()
            if row is not None:
                try:
                    keys = plugin_config.parse_items(
                        row.items, currency=row.currency
                    ).keys
                except ConfigurationError:
                    keys = ()
        return plugin_config.issuing_keyring(keys)

    def timeline(
        self, order_id: uuid.UUID, message: str, requestor: Requestor, *, channel: str
    ) -> None:
        """Queued: written by a worker through Saleor's API."""
        flows.queue_timeline(order_id, message, requestor, channel=channel)

    # --- the events' questions ------------------------------------------------------

    def load_order(self, order_id: str) -> OrderData | None:
        # A retry runs again from Saleor's own retry of the webhook (the App
        # answers 5xx for a delivery it could not handle).
        return None

    def load_parcel(self, parcel_id: str) -> ParcelData | None:
        return None

    # --- write-backs, from Celery ---------------------------------------------------

    def write_timeline(
        self,
        order_id: uuid.UUID | str,
        message: str,
        *,
        event: str,
        actor: Actor | None,
        channel: str,
    ) -> None:
        """An order note by the App (``orderNoteAdd``): Saleor's Dashboard shows
        it on the order's timeline. Never holds a code."""
        owner = self._owner(channel)
        if owner is None:
            return
        self._mutate(
            owner[0],
            "orderNoteAdd",
            _NOTE_MUTATION,
            {"id": to_global_id("Order", str(order_id)), "message": message},
        )

    def set_parcel_status(self, parcel_id: int, status: str, *, channel: str) -> None:
        """The fulfillment's public metadata ``delivery_otp_status``
        (``updateMetadata``): never the code."""
        owner = self._owner(channel)
        if owner is None:
            return
        self._mutate(
            owner[0],
            "updateMetadata",
            _STATUS_MUTATION,
            {
                "id": to_global_id("Fulfillment", parcel_id),
                "key": c.FULFILLMENT_STATUS_METADATA_KEY,
                "value": status,
            },
        )

    def parcel_label(self, parcel_id: int | None, *, channel: str) -> str:
        from .mail import parcel_label

        return parcel_label(self, parcel_id, channel=channel)

    # --- the e-mail layer's questions -----------------------------------------------

    def email_context(self, record: DeliveryCode) -> EmailContext:
        from .mail import email_context

        return email_context(self, record)

    def confirmation_context(
        self, payload: Mapping[str, Any], record: DeliveryCode | None
    ) -> EmailContext:
        raise ConfigurationError(
            "The Saleor App sends no order confirmation (single-e-mail mode is the "
            "plugin's, for now)."
        )

    def db_access(self) -> AbstractContextManager[Any]:
        return nullcontext()


def held_elsewhere(installation: Installation, order_id: uuid.UUID | str) -> bool:
    """Whether codes of ``order_id`` belong to another installation.

    The engine knows an order by its id alone (its order-level code, its revoke,
    its codes for the API), and Saleor's order ids are uuid4s: two honest Saleors
    never share one. One that does was given another shop's order id on purpose
    (its staff control its database); its customers must not read, and its
    webhooks must not bind or revoke, the other shop's codes. Logged: it is an
    attack or a bug, never routine."""
    foreign = (
        DeliveryCode.objects.for_order(order_id)
        .exclude(channel__startswith=f"{installation.public_id}{CHANNEL_SEPARATOR}")
        .exists()
    )
    if foreign:
        logger.error(
            "Delivery-code App: order %s of installation %s has codes of another "
            "installation; refused.",
            order_id,
            installation.public_id,
        )
    return foreign


def scoped(installation: Installation, data: OrderData | ParcelData) -> Any:
    """A webhook's plain data in the engine's names for this installation: its
    channel (``<public id>/<slug>``) and the customer account a code is pinned to
    (``<public id>:<pk>``)."""
    reader = data.reader
    if reader is not None and reader.customer_id:
        reader = replace(reader, customer_id=installation.scoped_id(reader.customer_id))
    return replace(
        data, channel_slug=installation.channel(data.channel_slug), reader=reader
    )

"""The Saleor plugin's host: :class:`SaleorHost`, what the engine, the flows and the
API ask of a real Saleor (its tokens, orders, apps, configuration, timeline and
fulfillment metadata). Nothing here ever holds or writes a plain code."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import F, JSONField, Value
from saleor.account.models import Group, User
from saleor.app.models import App
from saleor.core.auth import get_token_from_request
from saleor.core.auth_backend import load_user_from_request
from saleor.core.db.connection import allow_writer
from saleor.core.db.expressions import PostgresJsonConcatenate
from saleor.core.utils.events import call_event
from saleor.graphql.app.dataloaders.utils import promise_app
from saleor.order import OrderStatus
from saleor.order.events import external_notification_event
from saleor.order.models import Fulfillment, Order
from saleor.permission.enums import OrderPermissions
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration

from .. import constants as c
from .. import flows, plugin_config
from ..audit import Actor, ActorKind
from ..codes import Keyring
from ..conf import settings as otp_settings
from ..plugin_config import ChannelConfig
from ..ports import (
    ANONYMOUS,
    ChannelSettings,
    OrderData,
    OrderFacts,
    ParcelData,
    Requestor,
    RequestorKind,
)
from . import mail, readers
from .configuration import (
    channel_config,
    channel_keys,
    parsed_config,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..emails.context import EmailContext
    from ..models import DeliveryCode

logger = logging.getLogger(__name__)


def set_parcel_status(fulfillment_id: int, status: str) -> None:
    """Public metadata ``delivery_otp_status`` on the fulfillment: the code's status
    for storefronts and apps, never the code.

    Written as Saleor's updateMetadata writes it, one ``metadata || {...}`` UPDATE,
    so keys written meanwhile by apps or staff are kept; no write when the status
    is already the same. A change is announced as Saleor's metadata mutations
    announce theirs: FULFILLMENT_METADATA_UPDATED, so apps that mirror orders need
    not poll.

    Saleor's fulfillmentUpdateTracking saves the whole row with the metadata it
    loaded first, which takes back a status written in between; the
    ``tracking_number_updated`` hook that follows that save writes it again
    (:func:`reassert_parcel_status`). A row lock here would not help: that save
    does not wait for one.
    """
    updated = (
        Fulfillment.objects.filter(pk=fulfillment_id)
        .exclude(metadata__contains={c.FULFILLMENT_STATUS_METADATA_KEY: status})
        .update(
            metadata=PostgresJsonConcatenate(
                F("metadata"),
                Value(
                    {c.FULFILLMENT_STATUS_METADATA_KEY: status},
                    output_field=JSONField(),
                ),
            )
        )
    )
    if updated:
        _announce_metadata_update(fulfillment_id)


def _announce_metadata_update(fulfillment_id: int) -> None:
    """Fire Saleor's FULFILLMENT_METADATA_UPDATED through its plugin manager (after
    commit inside a transaction, as Saleor does). Best effort, like Saleor's own
    webhooks: the status is written whether or not the announcement goes out.
    This plugin has no ``fulfillment_metadata_updated`` hook, so it does not call
    itself back."""
    try:
        fulfillment = (
            Fulfillment.objects.select_related("order__channel")
            .filter(pk=fulfillment_id)
            .first()
        )
        if fulfillment is None:
            return
        manager = get_plugins_manager(allow_replica=False)
        call_event(manager.fulfillment_metadata_updated, fulfillment)
    except Exception as exc:
        logger.error(
            "FULFILLMENT_METADATA_UPDATED for fulfillment %s not fired (%s).",
            fulfillment_id,
            type(exc).__name__,
        )


def parcel_label(fulfillment_id: int | None) -> str:
    """How staff name a parcel: Saleor's ``<order number>-<n>``."""
    if fulfillment_id is None:
        return ""
    row = (
        Fulfillment.objects.filter(pk=fulfillment_id)
        .values_list("order__number", "fulfillment_order")
        .first()
    )
    return f"#{row[0]}-{row[1]}" if row else f"#{fulfillment_id}"


def accessible_channels(user: User) -> frozenset[str] | None:
    """The slugs of the channels a staff member may act in; None for every channel.

    Saleor's rule (``get_user_accessible_channels`` and its data loader in
    saleor/graphql/account): a member of any permission group without
    ``restrictedAccessToChannels`` reaches every channel; otherwise the union of
    the channels of her groups (none without groups). One query here, where
    Saleor's loader runs four or five: this runs on every staff request.
    """
    rows = Group.objects.filter(user=user).values_list(
        "restricted_access_to_channels", "channels__slug"
    )
    slugs: set[str] = set()
    for restricted, slug in rows:
        if not restricted:
            return None
        if slug is not None:
            slugs.add(slug)
    return frozenset(slugs)


def _app_requestor(request: HttpRequest) -> Requestor:
    """The App behind an App token, looked up as Saleor's API does and then kept
    for ``DELIVERY_OTP_APP_TOKEN_CACHE`` under the token's digest. Only tokens
    that name an active app are kept: a stranger's guesses cost a look-up each."""
    token = get_token_from_request(request) or ""
    ttl = otp_settings.DELIVERY_OTP_APP_TOKEN_CACHE.total_seconds()
    key = "delivery-otp:app-token:" + hashlib.sha256(token.encode()).hexdigest()
    if ttl > 0 and token:
        try:
            known = cache.get(key)
        except Exception as exc:  # the cache is an optimisation, never a gate
            logger.warning("Delivery-code API: cache failed (%s).", type(exc).__name__)
            known = None
        if known is not None:
            return Requestor(RequestorKind.APP, known[0], known[1])
    try:
        app = promise_app(request).get()
    except Exception as exc:
        logger.info("Delivery-code API: app token refused (%s).", type(exc).__name__)
        return ANONYMOUS
    if app is None:
        return ANONYMOUS
    if ttl > 0:
        try:
            cache.set(key, (str(app.pk), app.name), ttl)
        except Exception as exc:
            logger.warning("Delivery-code API: cache failed (%s).", type(exc).__name__)
    # An app acts by the channel's list of apps allowed to verify, not by its
    # permissions: no permission query on the courier's hot path.
    return Requestor(RequestorKind.APP, str(app.pk), app.name)


class SaleorHost:
    """:class:`saleor_delivery_otp.ports.Host` for a real Saleor: its tokens, orders,
    apps, plugin configuration, order timeline and fulfillment metadata.

    One instance serves one request (or one task run), so what it reads of the
    configuration is read once however often it is asked.
    """

    def __init__(self, loaded: Mapping[str, ChannelConfig | None] | None = None):
        """``loaded``: configurations Saleor already parsed for this request (the
        plugin instance's own channel), so they are not read again."""
        self._configs: dict[str, ChannelConfig | None] = dict(loaded or {})
        self._settings: dict[str, ChannelSettings | None] = {}
        self._keyring: Keyring | None = None

    def requestor(self, request: HttpRequest) -> Requestor:
        """The customer, staff member or App behind ``Authorization: Bearer``.

        JWTs (customers, staff) are checked by Saleor's own backend; App tokens
        are looked up like Saleor's API does. A bad or expired token is anonymous.
        """
        try:
            user = load_user_from_request(request)
        except Exception as exc:
            logger.info("Delivery-code API: token refused (%s).", type(exc).__name__)
            return ANONYMOUS
        if user is not None:
            if user.is_staff:
                can_manage_orders = user.has_perm(OrderPermissions.MANAGE_ORDERS)
                return Requestor(
                    RequestorKind.STAFF,
                    str(user.pk),
                    user.get_full_name() or user.email,
                    user.email,
                    can_manage_orders=can_manage_orders,
                    channels=accessible_channels(user) if can_manage_orders else None,
                )
            return Requestor(
                RequestorKind.CUSTOMER,
                str(user.pk),
                user.get_full_name() or user.email,
                user.email,
            )
        return _app_requestor(request)

    def order(self, order_id: uuid.UUID) -> OrderFacts | None:
        order = (
            Order.objects.select_related("channel", "user")
            .only(
                "id", "number", "status", "user_email", "channel__slug", "user__email"
            )
            .filter(pk=order_id)
            .exclude(status=OrderStatus.DRAFT)
            .first()
        )
        if order is None:
            return None
        return OrderFacts(
            id=order.pk,
            channel=order.channel.slug,
            email=order.get_customer_email() or "",
            user_id=str(order.user_id) if order.user_id else None,
            number=str(order.number),
        )

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        if channel not in self._settings:
            if channel not in self._configs:
                self._configs[channel] = channel_config(channel)
            config = self._configs[channel]
            if config is not None and config.app_names:
                logger.error(
                    "Channel %s lists apps by name (%s); only App IDs allow an app "
                    "to verify. Save the channel's delivery-code configuration to "
                    "turn the names into IDs.",
                    channel,
                    ", ".join(config.app_names),
                )
            self._settings[channel] = None if config is None else config.settings()
        return self._settings[channel]

    def active_channels(self) -> list[str]:
        """The channels where the plugin is on. Their configurations come in the
        same query and are kept, so the channel-less route asks the database once
        whatever the number of channels."""
        rows = PluginConfiguration.objects.filter(
            identifier=c.PLUGIN_ID, active=True, channel__isnull=False
        ).values_list("channel__slug", "configuration", "channel__currency_code")
        slugs = []
        for slug, items, currency in rows:
            if slug not in self._configs:
                self._configs[slug] = parsed_config(slug, items, currency)
            slugs.append(slug)
        return slugs

    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = plugin_config.reading_keyring()
        return self._keyring

    def issuing_keyring(self, channel: str) -> Keyring:
        return plugin_config.issuing_keyring(channel_keys(channel))

    def timeline(
        self, order_id: uuid.UUID, message: str, requestor: Requestor, *, channel: str
    ) -> None:
        """Queued, not written here: the courier's verify is a hot path, and the
        entry and the parcels' status metadata can follow on a worker."""
        flows.queue_timeline(order_id, message, requestor, channel=channel)

    # --- the events' questions ---------------------------------------------------

    def load_order(self, order_id: str) -> OrderData | None:
        order = readers.load_order(order_id)
        if order is None:
            return None
        return readers.order_data(order, with_categories=True)

    def load_parcel(self, parcel_id: str) -> ParcelData | None:
        fulfillment = readers.load_fulfillment(parcel_id)
        if fulfillment is None:
            return None
        return readers.parcel_data(fulfillment, with_categories=True)

    # --- write-backs --------------------------------------------------------------

    def write_timeline(
        self,
        order_id: uuid.UUID | str,
        message: str,
        *,
        event: str,
        actor: Actor | None,
        channel: str,
    ) -> None:
        """A line in the order's history in the Dashboard ("Notification from
        external service", which the Dashboard renders as the message itself),
        carrying the staff member or App who acted. Never holds a code."""
        order = Order.objects.only("id").filter(pk=order_id).first()
        if order is None:
            return
        user = app = None
        if actor is not None and actor.identifier.isdigit():
            if actor.kind == ActorKind.STAFF:
                user = User.objects.filter(pk=int(actor.identifier)).first()
            elif actor.kind == ActorKind.APP:
                app = App.objects.filter(pk=int(actor.identifier)).first()
        external_notification_event(
            order=order,
            user=user,
            app=app,
            message=message,
            parameters={"delivery_otp_event": event},
        )

    def set_parcel_status(self, parcel_id: int, status: str, *, channel: str) -> None:
        # One Saleor: a fulfillment id names one parcel whatever the channel.
        set_parcel_status(parcel_id, status)

    def parcel_label(self, parcel_id: int | None, *, channel: str) -> str:
        return parcel_label(parcel_id)

    # --- the e-mail layer's questions -------------------------------------------

    def email_context(self, record: DeliveryCode) -> EmailContext:
        return mail.email_context(record)

    def confirmation_context(
        self, payload: Mapping[str, Any], record: DeliveryCode | None
    ) -> EmailContext:
        return mail.confirmation_context(payload, record)

    def db_access(self) -> AbstractContextManager[Any]:
        """Saleor's ``allow_writer()``: its Celery tasks refuse (tests) or log
        (production) any query on the writer outside it; ours write, on purpose."""
        return allow_writer()

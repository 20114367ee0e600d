"""Who is looking at the App's Dashboard pages, from the token the Dashboard hands
them.

The Dashboard gives an App's pages a JWT of type ``thirdparty``
(``saleor/core/jwt.py`` ``_create_access_token_for_third_party_actions``): the
order widget gets it in its POST form (``saleorApiUrl``, ``appId``,
``accessToken``, ``orderId``: saleor-dashboard ``IframePost``), the configuration
page through App Bridge's handshake. It is verified offline
(:func:`~saleor_delivery_otp.app.saleor_tokens.verify_dashboard_token`) for the
active installation with exactly that API URL and, for the widget, that app id.

Two permission claims, two questions:

* ``permissions``: the App's and the user's in common (for the widget's token,
  the extension's, MANAGE_ORDERS, and the user's). The widget requires
  MANAGE_ORDERS there: it is what the user may do to orders through this App.
* ``user_permissions``: every permission of the user. The configuration page
  requires MANAGE_APPS there, as Saleor's Dashboard does for an App's settings:
  the App itself does not hold MANAGE_APPS (``manifest.PERMISSIONS``), so the
  intersection never lists it.

A staff member's channels are not in the token: Saleor is asked, with the token
itself, ``me { restrictedAccessToChannels accessibleChannels { slug } }``; that
also proves the token still holds (a deactivated user, a changed password).

The widget's actions are plain HTML forms in a third-party iframe, where the
App has no cookie to lean on (and wants none): each form carries a *form token*,
signed with Django's :mod:`~django.core.signing` (HMAC with ``SECRET_KEY``), that
binds the installation, its app id, the order and the staff member (with the
channels Saleor named) for :data:`FORM_TOKEN_MAX_AGE`. A cross-site form cannot
forge one, nor read one out of the App's page (the same-origin policy), and with
no ambient credential there is nothing else to ride on. The Dashboard's JWT
itself is never written into the page: it could act on Saleor's whole API.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.core import signing
from graphql_relay import from_global_id

from ...ports import Requestor, RequestorKind
from .. import saleor_api, saleor_tokens
from ..models import Installation
from ..saleor_api import saleor_pk

logger = logging.getLogger(__name__)

MANAGE_ORDERS = "MANAGE_ORDERS"
MANAGE_APPS = "MANAGE_APPS"

# As long as a staff member may keep the widget open and still act; a
# permission or channel taken away in Saleor stops the actions at most this long
# after (the Dashboard's own token lives 5 minutes, JWT_TTL_APP_ACCESS).
FORM_TOKEN_MAX_AGE = 15 * 60
FORM_TOKEN_SALT = "saleor_delivery_otp.app.dashboard.order-widget"  # noqa: S105
# A staff member's channels travel in it, as slugs.
MAX_FORM_TOKEN_CHARS = 64 * 1024
MAX_CHANNELS = 500

STAFF_QUERY = """query DeliveryOTPDashboardStaff {
  me { restrictedAccessToChannels accessibleChannels { slug } }
}"""


class Refused(Exception):
    """The page is not shown: ``status`` 400, 401, 403 or 503, ``message`` safe to
    show (never a token)."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or str(status)


NOT_SIGNED_IN = (
    "Open this page from the Saleor Dashboard: it did not come with a valid "
    "sign-in of this App's shop."
)
EXPIRED = "This page was open too long. Reload the order page and try again."


def installation_for(api_url: object, app_id: object = None) -> Installation:
    """The active installation at ``api_url`` (and, if given, whose app id in its
    Saleor is ``app_id``), else :class:`Refused` 401."""
    try:
        normalized = saleor_api.normalize_api_url(api_url)
    except saleor_api.InvalidAPIURL:
        raise Refused(401, NOT_SIGNED_IN, "api-url") from None
    rows = Installation.objects.active().filter(saleor_api_url=normalized)
    if app_id is not None:
        if not isinstance(app_id, str) or not app_id:
            raise Refused(401, NOT_SIGNED_IN, "app-id")
        rows = rows.filter(saleor_app_id=app_id)
    found = rows.first()
    if found is None:
        raise Refused(401, NOT_SIGNED_IN, "installation")
    return found


def verified_token(
    installation: Installation, token: object
) -> saleor_tokens.SaleorToken:
    """The Dashboard token of this installation's App, verified offline; a staff
    member's. :class:`Refused` 401 otherwise."""
    if not isinstance(token, str) or not token:
        raise Refused(401, NOT_SIGNED_IN, "missing")
    try:
        verified = saleor_tokens.verify_dashboard_token(
            token, installation.saleor_api_url, installation.saleor_app_id
        )
    except saleor_tokens.TokenInvalid as exc:
        logger.info("Delivery-code App: Dashboard token refused (%s).", exc.reason)
        if exc.reason == "jwks-unavailable":
            raise Refused(
                503,
                "Saleor's keys could not be fetched to check your sign-in. Try again.",
                exc.reason,
            ) from None
        raise Refused(
            401, EXPIRED if exc.reason == "expired" else NOT_SIGNED_IN, exc.reason
        ) from None
    if not verified.is_staff:
        raise Refused(403, "Only staff members can use this page.", "not-staff")
    return verified


def staff_channels(installation: Installation, token: str) -> frozenset[str] | None:
    """The engine's names of the channels this staff member may act in, None for
    all of them, as Saleor says now (asked with the staff member's token)."""
    try:
        document = saleor_api.execute(installation.saleor_api_url, token, STAFF_QUERY)
    except saleor_api.TokenRefused:
        raise Refused(401, NOT_SIGNED_IN, "saleor-refused") from None
    except saleor_api.SaleorError as exc:
        logger.warning("Delivery-code App: staff channels unknown (%s).", exc)
        raise Refused(
            503,
            "Saleor could not be asked which channels you may see. Try again.",
            "saleor-unavailable",
        ) from None
    data = document.get("data")
    me = data.get("me") if isinstance(data, dict) else None
    if not isinstance(me, dict):
        # Saleor no longer takes the token: the user is gone or signed out.
        raise Refused(401, NOT_SIGNED_IN, "saleor-no-user")
    restricted = me.get("restrictedAccessToChannels")
    if restricted is False:
        return None
    channels = me.get("accessibleChannels")
    if restricted is not True or not isinstance(channels, list):
        raise Refused(
            503, "Saleor's answer about your channels was unreadable.", "saleor-shape"
        )
    slugs = [ch.get("slug") for ch in channels[:MAX_CHANNELS] if isinstance(ch, dict)]
    return frozenset(
        installation.channel(slug) for slug in slugs if isinstance(slug, str) and slug
    )


def user_pk(global_id: str) -> str:
    """The user's database id in Saleor's global ID (``VXNlcjo1`` -> ``5``), as
    the plugin names staff in the audit trail."""
    pk = saleor_pk(global_id, "User")
    if not pk:
        raise Refused(401, NOT_SIGNED_IN, "claim-user")
    return pk


def order_uuid(value: object) -> uuid.UUID:
    """The order's id in the Dashboard's ``orderId`` (a global ID of an Order)."""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise Refused(400, "The Dashboard did not say which order this is.", "order")
    try:
        type_name, pk = from_global_id(value)
        if type_name != "Order":
            raise ValueError(type_name)
        return uuid.UUID(pk)
    except Exception:
        raise Refused(
            400, "The Dashboard did not say which order this is.", "order"
        ) from None


# --- the widget's sessions ------------------------------------------------------------


@dataclass(frozen=True)
class WidgetSession:
    """A staff member with MANAGE_ORDERS on one order of one installation."""

    installation: Installation
    order_id: uuid.UUID
    requestor: Requestor

    def form_token(self) -> str:
        channels = self.requestor.channels
        slugs = None
        if channels is not None:
            # Only this installation's channels, by slug: the prefix is implied.
            slugs = sorted(
                Installation.split_channel(channel)[1]
                for channel in channels
                if channel.startswith(self.installation.channel(""))
            )
        payload: dict[str, Any] = {
            "i": str(self.installation.public_id),
            "a": self.installation.saleor_app_id,
            "o": str(self.order_id),
            "u": self.requestor.identifier,
            "n": self.requestor.name,
            "c": slugs,
        }
        return signing.dumps(payload, salt=FORM_TOKEN_SALT, compress=True)


def widget_session(form: Any) -> WidgetSession:
    """The session the Dashboard's POST opens (its form fields), else
    :class:`Refused`."""
    # The app id is required: "" (not None) when the form lacks it.
    installation = installation_for(form.get("saleorApiUrl"), form.get("appId") or "")
    token = form.get("accessToken")
    verified = verified_token(installation, token)
    if MANAGE_ORDERS not in (verified.permissions or ()):
        raise Refused(
            403,
            "Delivery codes need the Manage orders permission in Saleor.",
            "no-manage-orders",
        )
    identifier = installation.scoped_id(user_pk(verified.user_id))
    order_id = order_uuid(form.get("orderId"))
    channels = staff_channels(installation, str(token))
    return WidgetSession(
        installation,
        order_id,
        Requestor(
            RequestorKind.STAFF,
            identifier,
            verified.email,
            verified.email,
            can_manage_orders=True,
            channels=channels,
        ),
    )


def session_from_form_token(value: object) -> WidgetSession:
    """The session a widget form carries back, else :class:`Refused` (401 for a
    token that is not the App's, or too old)."""
    if not isinstance(value, str) or not value or len(value) > MAX_FORM_TOKEN_CHARS:
        raise Refused(401, NOT_SIGNED_IN, "form-missing")
    try:
        payload = signing.loads(value, salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise Refused(401, EXPIRED, "form-expired") from None
    except signing.BadSignature:
        raise Refused(401, NOT_SIGNED_IN, "form-bad") from None
    try:
        installation = (
            Installation.objects.active()
            .filter(public_id=uuid.UUID(payload["i"]), saleor_app_id=payload["a"])
            .first()
        )
        order_id = uuid.UUID(payload["o"])
        slugs = payload["c"]
        identifier, name = str(payload["u"]), str(payload["n"])
    except (KeyError, TypeError, ValueError):
        raise Refused(401, NOT_SIGNED_IN, "form-shape") from None
    if installation is None:
        # Uninstalled, or installed again (another app id) since.
        raise Refused(401, NOT_SIGNED_IN, "form-installation")
    channels = (
        frozenset(installation.channel(str(slug)) for slug in slugs)
        if isinstance(slugs, list)
        else None
    )
    requestor = Requestor(
        RequestorKind.STAFF,
        identifier,
        name,
        name,
        can_manage_orders=True,
        channels=channels,
    )
    return WidgetSession(installation, order_id, requestor)


# --- the configuration page -----------------------------------------------------------


@dataclass(frozen=True)
class ConfigurationSession:
    """A staff member with MANAGE_APPS on one installation's configuration."""

    installation: Installation
    token: str
    verified: saleor_tokens.SaleorToken
    # The staff member's database id in Saleor, for the logs.
    user: str


def configuration_session(headers: Any) -> ConfigurationSession:
    """From a request's headers: ``Saleor-Api-Url`` and ``Authorization: Bearer
    <App Bridge's token>``. :class:`Refused` 401 or 403 otherwise."""
    installation = installation_for(headers.get("Saleor-Api-Url"))
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, NOT_SIGNED_IN, "missing")
    verified = verified_token(installation, token)
    if MANAGE_APPS not in (verified.user_permissions or ()):
        raise Refused(
            403,
            "Configuring delivery codes needs the Manage apps permission in Saleor.",
            "no-manage-apps",
        )
    return ConfigurationSession(
        installation, token, verified, user_pk(verified.user_id)
    )

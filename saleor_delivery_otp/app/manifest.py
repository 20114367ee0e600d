"""The App's manifest: what Saleor reads at ``appInstall`` (saleor/app/
manifest_schema.py and manifest_validations.py in Saleor 3.23).

Every URL in it is ``DELIVERY_OTP_APP_URL`` (where the App is served, e.g.
``https://otp.example.com``) joined with one of the paths below; ``app/urls.py``
routes the same constants, so the manifest cannot name a page the App lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .. import __version__
from .saleor_api import InvalidAPIURL, normalize_api_url

# Saleor's App.identifier. Saleor refuses to install a second app with the same
# identifier, and registration checks a token's app against it: never change it.
APP_IDENTIFIER: Final = "saleor-delivery-otp"
APP_NAME: Final = "Delivery codes"
APP_ABOUT: Final = (
    "Valuable parcels are handed over only against a one-time code that the "
    "customer receives by e-mail and tells the courier at the door. Staff and "
    "apps see each parcel's status, attempts and events, never a code."
)

# The widget mount ORDER_DETAILS_WIDGETS is in Saleor and its Dashboard since
# 3.22; an app's own APP_DELETED reaches it without MANAGE_APPS only since 3.23.5
# (saleor/webhook/utils.py get_webhooks_for_app_lifecycle_event, #19160). Before,
# the App would never learn it was uninstalled.
REQUIRED_SALEOR_VERSION: Final = ">=3.23.5 <4"

# The App needs MANAGE_ORDERS and nothing else (saleor/permission/enums.py):
# - reading orders, fulfillments and the customer's e-mail, in the subscription
#   payloads (Saleor sends ORDER_* and FULFILLMENT_* events only to apps holding
#   it, saleor/webhook/event_types.py) and in the reconciliation's ``orders``;
# - ``orderNoteAdd``, the timeline entry (saleor/graphql/order/mutations/
#   order_note_add.py: permissions = (MANAGE_ORDERS,));
# - ``updateMetadata`` on a Fulfillment, the parcel's status (saleor/graphql/meta/
#   permissions.py: "Fulfillment": order_permissions, one of MANAGE_ORDERS or
#   HANDLE_TAXES).
# Not asked for: MANAGE_APPS (the configuration page reads the user's own
# permissions from the Dashboard's token, whose ``user_permissions`` claim lists
# them whatever the App holds, saleor/core/jwt.py; APP_DELETED needs none since
# 3.23.5), MANAGE_PRODUCTS (categories, product types and a product's public
# metadata are public), MANAGE_USERS (an order's userEmail comes with
# MANAGE_ORDERS), MANAGE_CHANNELS (any app may list channels).
PERMISSIONS: Final = ("MANAGE_ORDERS",)

MANIFEST_PATH: Final = "api/manifest"
REGISTER_PATH: Final = "api/register"
WEBHOOK_PATH: Final = "api/webhooks"
# The delivery-code GraphQL API of one installation (storefronts, couriers).
GRAPHQL_PATH: Final = "api/graphql/<uuid:installation>/"
# The App's own page in the Dashboard (``appUrl``, Apps > Delivery codes), where
# Saleor puts an app's configuration since ``configurationUrl`` was deprecated;
# App Bridge hands it the user's token.
CONFIGURATION_PATH: Final = "dashboard/configuration"
# The order page's widget; the Dashboard POSTs it saleorApiUrl, appId and
# accessToken (a JWT with the extension's permissions).
ORDER_WIDGET_PATH: Final = "dashboard/order-widget"

URL_SETTING = "DELIVERY_OTP_APP_URL"
WEBHOOK_KEYS = frozenset({"name", "asyncEvents", "query", "targetUrl"})


def base_url() -> str:
    """``DELIVERY_OTP_APP_URL`` without its trailing slash. https, or http on a
    loopback address (Saleor posts the App token to it)."""
    value = getattr(settings, URL_SETTING, None)
    if not value:
        raise ImproperlyConfigured(
            f"{URL_SETTING} is not set: the public URL the App is served at, "
            "e.g. https://otp.example.com."
        )
    try:
        normalized = normalize_api_url(value)
    except InvalidAPIURL as exc:
        raise ImproperlyConfigured(f"{URL_SETTING} {exc}.") from None
    return normalized.rstrip("/")


def absolute_url(path: str) -> str:
    """``path`` (one of the constants above, or a webhook's) under the App's URL."""
    return f"{base_url()}/{path.lstrip('/')}"


def build_manifest(webhooks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The manifest, with ``webhooks``: each ``{name, asyncEvents, query,
    targetUrl}`` (an absolute URL, see :func:`absolute_url`), copied as given."""
    return {
        "id": APP_IDENTIFIER,
        "name": APP_NAME,
        "version": __version__,
        "about": APP_ABOUT,
        "permissions": list(PERMISSIONS),
        "appUrl": absolute_url(CONFIGURATION_PATH),
        "tokenTargetUrl": absolute_url(REGISTER_PATH),
        "requiredSaleorVersion": REQUIRED_SALEOR_VERSION,
        "extensions": [
            {
                "label": APP_NAME,
                "mount": "ORDER_DETAILS_WIDGETS",
                "target": "WIDGET",
                # Absolute: the Dashboard appends a relative URL to appUrl.
                "url": absolute_url(ORDER_WIDGET_PATH),
                # Only staff holding it get the widget, and its token carries it.
                "permissions": ["MANAGE_ORDERS"],
                # POST: the token arrives in a form body, not in a URL (logs).
                "options": {"widgetTarget": {"method": "POST"}},
            }
        ],
        "webhooks": [_webhook(entry) for entry in webhooks],
    }


def _webhook(entry: Mapping[str, Any]) -> dict[str, Any]:
    if set(entry) != WEBHOOK_KEYS:
        raise ValueError(f"a manifest webhook has exactly {sorted(WEBHOOK_KEYS)}")
    events = entry["asyncEvents"]
    if (
        not isinstance(entry["name"], str)
        or not isinstance(entry["query"], str)
        or not isinstance(entry["targetUrl"], str)
        or not isinstance(events, list | tuple)
        or not events
        or not all(isinstance(event, str) for event in events)
    ):
        raise ValueError(f"malformed manifest webhook {entry.get('name')!r}")
    return {
        "name": entry["name"],
        "asyncEvents": list(events),
        "query": entry["query"],
        "targetUrl": entry["targetUrl"],
    }


def webhook_definitions() -> list[dict[str, Any]]:
    """The App's webhooks, served in its manifest: every one to the one webhook
    route, which tells them apart by ``Saleor-Event``."""
    from .subscriptions import WEBHOOKS

    return [
        {
            "name": webhook.name,
            "asyncEvents": [webhook.event],
            "query": webhook.query,
            "targetUrl": absolute_url(WEBHOOK_PATH),
        }
        for webhook in WEBHOOKS
    ]

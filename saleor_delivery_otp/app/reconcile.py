"""What Saleor says of an order, applied: for each webhook (a notice that the order
changed) and, for the events Saleor gave up on, a periodic pass over each
installation's recently updated orders.

A webhook's body is signed by Saleor, but with the key Saleor signs every app's
webhooks with, and any app of the shop may write its own subscription query
(aliases included): a body is no proof of the order's state. So the App takes
from a webhook only which order changed, and asks Saleor for that order with its
own App token (:func:`settle`); the flows run on Saleor's answer.

Saleor retries a webhook a few times and then drops it; a code must not go missing
with it. Every flow is idempotent, so the pass simply plays, for each order
updated within ``DELIVERY_OTP_APP_RECONCILE_WINDOW``: the order placed, each
parcel on its way, each parcel canceled, and the order cancelled or expired. What
a code already has is left as it is; nothing is e-mailed twice.

The orders come with the same fields as the webhooks' subscriptions
(:mod:`.subscriptions`), so the same readers (:mod:`.payloads`) make the same
plain data of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.utils import timezone
from graphql_relay import to_global_id

from .. import flows
from ..models import DeliveryCode
from ..ports import OrderData, ParcelData
from . import mail, payloads, saleor_api, subscriptions
from .host import AppHost, held_elsewhere, scoped
from .models import Installation
from .saleor_api import saleor_pk

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(hours=6)
PAGE_SIZE = 50
# Bounds one pass per installation: 20 pages of 50 orders.
MAX_PAGES = 20

# An order as the flows need it now: the webhooks' fields, its parcels, and what
# tells a full refund (Saleor's order status does not).
_NODE = """
      ...DeliveryOtpOrder
      lines { quantity ...DeliveryOtpLine }
      fulfillments { ...DeliveryOtpParcel }
      total { gross { amount } }
      totalRefunded { amount }
"""
_FRAGMENTS = (
    subscriptions.ORDER_FIELDS + subscriptions.PARCEL_FIELDS + subscriptions.LINE_FIELDS
)

QUERY = (
    """query DeliveryOtpReconcile($since: DateTime!, $after: String) {
  orders(first: PAGE_SIZE, after: $after, filter: {updatedAt: {gte: $since}}) {
    pageInfo { hasNextPage endCursor }
    edges { node {NODE} }
  }
}
""".replace("PAGE_SIZE", str(PAGE_SIZE)).replace("NODE", _NODE)
    + _FRAGMENTS
)

ORDER_QUERY = (
    """query DeliveryOtpOrderNow($id: ID!) {
  order(id: $id) {NODE}
}
""".replace("NODE", _NODE)
    + _FRAGMENTS
)

_CLOSED = {
    "CANCELED": (flows.ORDER_CANCELLED, "OrderCancelled"),
    "EXPIRED": (flows.ORDER_EXPIRED, "OrderExpired"),
}
_FULFILLED = "FULFILLED"
_CANCELED = "CANCELED"


@dataclass
class Outcome:
    orders: int = 0
    events: int = 0
    failed: int = 0
    # Orders whose id another installation's codes hold (host.held_elsewhere).
    refused: int = 0


def window() -> timedelta:
    value = getattr(django_settings, "DELIVERY_OTP_APP_RECONCILE_WINDOW", None)
    return value if isinstance(value, timedelta) else DEFAULT_WINDOW


def settle(installation: Installation, order_id: str) -> Outcome:
    """Apply what Saleor says now of one order (``order_id``: its global ID), as
    the installation's App token reads it. An order Saleor does not know to this
    App does nothing."""
    host = AppHost(installation)
    outcome = Outcome()
    document = saleor_api.execute(
        installation.saleor_api_url, installation.token(), ORDER_QUERY, {"id": order_id}
    )
    if document.get("errors"):
        raise saleor_api.SaleorUnavailable("the order could not be read")
    node = (document.get("data") or {}).get("order")
    if isinstance(node, dict):
        outcome.orders = 1
        _apply(installation, host, node, outcome)
    return outcome


def reconcile(installation: Installation, *, now: datetime | None = None) -> Outcome:
    """One pass over one installation's recent orders."""
    since = (now or timezone.now()) - window()
    host = AppHost(installation)
    outcome = Outcome()
    after: str | None = None
    for _ in range(MAX_PAGES):
        document = saleor_api.execute(
            installation.saleor_api_url,
            installation.token(),
            QUERY,
            {"since": since.isoformat(), "after": after},
        )
        orders = ((document.get("data") or {}).get("orders")) or {}
        for edge in orders.get("edges") or ():
            node = (edge or {}).get("node")
            if isinstance(node, dict):
                outcome.orders += 1
                _apply(installation, host, node, outcome)
        page = orders.get("pageInfo") or {}
        after = page.get("endCursor")
        if not page.get("hasNextPage") or not after:
            break
    return outcome


def _envelope(installation: Installation, typename: str, **body: Any) -> dict:
    """A webhook payload's shape, for the webhooks' readers."""
    recipient = to_global_id("App", saleor_pk(installation.saleor_app_id, "App"))
    return {"__typename": typename, "recipient": {"id": recipient}, **body}


def _apply(
    installation: Installation, host: AppHost, node: dict, outcome: Outcome
) -> None:
    order_only = {key: value for key, value in node.items() if key != "fulfillments"}
    steps: list[tuple[str, Any, bool]] = [
        (
            flows.ORDER_CREATED,
            _envelope(installation, "OrderCreated", order=order_only),
            True,
        )
    ]
    for fulfillment in node.get("fulfillments") or ():
        status = (fulfillment or {}).get("status")
        if status == _FULFILLED:
            steps.append(
                (
                    flows.FULFILLMENT_CREATED,
                    _envelope(
                        installation,
                        "FulfillmentCreated",
                        fulfillment=fulfillment,
                        order=order_only,
                    ),
                    True,
                )
            )
            if _tracking_changed(installation, node, fulfillment):
                steps.append(
                    (
                        flows.TRACKING_NUMBER_UPDATED,
                        _envelope(
                            installation,
                            "FulfillmentTrackingNumberUpdated",
                            fulfillment=fulfillment,
                            order=order_only,
                        ),
                        False,
                    )
                )
        elif status == _CANCELED:
            steps.append(
                (
                    flows.FULFILLMENT_CANCELED,
                    _envelope(
                        installation,
                        "FulfillmentCanceled",
                        fulfillment=fulfillment,
                        order=order_only,
                    ),
                    False,
                )
            )
    closed = _CLOSED.get(str(node.get("status")))
    if closed is None and _fully_refunded(node):
        closed = (flows.ORDER_FULLY_REFUNDED, "OrderFullyRefunded")
    if closed is not None:
        event, typename = closed
        steps.append(
            (event, _envelope(installation, typename, order=order_only), False)
        )
    try:
        order_id = payloads.order_brief({"order": order_only}).id
    except payloads.PayloadError:
        outcome.failed += 1
        return
    if held_elsewhere(installation, order_id):
        # Never another shop's codes to bind or revoke (host.held_elsewhere).
        outcome.refused += 1
        return
    for event, envelope, issues in steps:
        try:
            data = _read(event, envelope)
        except payloads.PayloadError as exc:
            logger.warning(
                "Delivery-code App: order of installation %s not reconciled (%s).",
                installation.public_id,
                exc,
            )
            outcome.failed += 1
            return
        data = scoped(installation, data)
        settings = host.channel_settings(data.channel_slug)
        if settings is None:
            return
        if issues:
            mail.remember(installation, data, payloads.mail_facts(envelope), settings)
        outcome.events += 1
        if not flows.run(event, host, data.id, _given(data), settings):
            outcome.failed += 1


def _tracking_changed(
    installation: Installation, node: dict, fulfillment: dict
) -> bool:
    """Whether the parcel's code knows another tracking number than Saleor's."""
    try:
        parcel_id = payloads.parcel_brief(
            {"fulfillment": fulfillment, "order": node}
        ).id
        channel = installation.channel(str((node.get("channel") or {})["slug"]))
    except (payloads.PayloadError, KeyError, TypeError):
        return False
    return (
        DeliveryCode.objects.current()
        .filter(fulfillment_id=parcel_id, channel=channel)
        .exclude(tracking_number=str(fulfillment.get("trackingNumber") or ""))
        .exists()
    )


def _fully_refunded(node: dict) -> bool:
    try:
        gross = float(((node.get("total") or {}).get("gross") or {})["amount"])
        refunded = float((node.get("totalRefunded") or {})["amount"])
    except (KeyError, TypeError, ValueError):
        return False
    return gross > 0 and refunded >= gross


def _given(data: OrderData | ParcelData) -> Callable[[], OrderData | ParcelData]:
    return lambda: data


def _read(event: str, envelope: dict) -> OrderData | ParcelData:
    if event == flows.ORDER_CREATED:
        return payloads.order_data(envelope)
    if event == flows.FULFILLMENT_CREATED:
        return payloads.parcel_data(envelope)
    if event in (flows.FULFILLMENT_CANCELED, flows.TRACKING_NUMBER_UPDATED):
        return payloads.parcel_brief(envelope)
    return payloads.order_brief(envelope)


def reconcile_all() -> Outcome:
    """Every active installation in turn; one failing does not stop the others."""
    total = Outcome()
    for installation in Installation.objects.active().order_by("pk"):
        try:
            found = reconcile(installation)
        except Exception as exc:
            logger.warning(
                "Delivery-code App: installation %s not reconciled (%s).",
                installation.public_id,
                type(exc).__name__,
            )
            total.failed += 1
            continue
        total.orders += found.orders
        total.events += found.events
        total.failed += found.failed
    return total

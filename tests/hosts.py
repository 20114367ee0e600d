"""A stand-in host for the CI tier: what the Saleor layer provides in production.

Orders a test registers in :data:`ORDERS` get their own context (language, parcels,
SMTP server, templates); any other record gets the fixed sample order the engine
tests expect. Module state, so an in-process Celery worker sees it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from saleor_delivery_otp.audit import Actor
from saleor_delivery_otp.codes import Keyring
from saleor_delivery_otp.emails.sending import (
    EmailContext,
    EmailTemplates,
    ParcelItem,
    SmtpTransport,
)
from saleor_delivery_otp.ports import (
    ANONYMOUS,
    ChannelSettings,
    OrderData,
    OrderFacts,
    ParcelData,
    Requestor,
)

CUSTOMER_EMAIL = "customer@example.com"


@dataclass
class StandInOrder:
    number: str = "1042"
    email: str = CUSTOMER_EMAIL
    language_code: str = ""
    channel_language_code: str = "en"
    shop_name: str = "Example Shop"
    customer_name: str = "Anna"
    # What an order-level code is for, before any parcel exists.
    qualifying: tuple[ParcelItem, ...] = (ParcelItem("Smartphone X"),)
    # fulfillment id -> (parcel number in the order, what the parcel holds)
    parcels: dict[int, tuple[int, tuple[ParcelItem, ...]]] = field(default_factory=dict)
    transport: SmtpTransport | None = None
    code_email: EmailTemplates = field(default_factory=EmailTemplates)
    confirmation_email: EmailTemplates = field(default_factory=EmailTemplates)
    time_zone: str = "UTC"
    validity_days: int = 30
    order_url: str | None = None


ORDERS: dict[uuid.UUID, StandInOrder] = {}


def _order_url(order_id: uuid.UUID, order: StandInOrder) -> str:
    if order.order_url is not None:
        return order.order_url
    return f"https://shop.example.com/orders/{order_id}"


def email_context(record: Any) -> EmailContext:
    order = ORDERS.get(record.order_id)
    if order is None:
        return EmailContext(
            recipient=CUSTOMER_EMAIL,
            order_reference="1042",
            order_url=f"https://shop.example.com/orders/{record.order_id}",
            item_names=("Smartphone X",),
            shop_name="Example Shop",
        )
    parcel_number, items = order.parcels.get(
        record.fulfillment_id or 0, (None, order.qualifying)
    )
    return _context(record.order_id, order, parcel_number=parcel_number, items=items)


def confirmation_context(payload: Mapping[str, Any], record: Any) -> EmailContext:
    """Single-e-mail mode: the order is named by the payload's ``token``."""
    if record is not None:
        return email_context(record)
    order_id = uuid.UUID(str(payload["order"]["token"]))
    order = ORDERS.get(order_id, StandInOrder(email=payload["recipient_email"]))
    return _context(order_id, order, parcel_number=None, items=())


def _context(
    order_id: uuid.UUID,
    order: StandInOrder,
    *,
    parcel_number: int | None,
    items: tuple[ParcelItem, ...],
) -> EmailContext:
    return EmailContext(
        recipient=order.email,
        order_reference=order.number,
        language_code=order.language_code,
        channel_language_code=order.channel_language_code,
        order_url=_order_url(order_id, order),
        items=items,
        parcel_number=parcel_number,
        shop_name=order.shop_name,
        customer_name=order.customer_name,
        transport=order.transport,
        code_email=order.code_email,
        confirmation_email=order.confirmation_email,
        time_zone=order.time_zone,
        validity_days=order.validity_days,
    )


# What the flows wrote back through the host, for tests that look (module state,
# so an in-process Celery worker writes here too).
TIMELINE: list[tuple[str, str, str]] = []  # (order id, event, message)
STATUSES: dict[int, str] = {}


class StandInHost:
    """:class:`saleor_delivery_otp.ports.Host` of the CI tier's tasks and e-mails
    (``DELIVERY_OTP_HOST``): the stand-in orders above, the settings' keys, the
    write-backs kept in :data:`TIMELINE` and :data:`STATUSES`."""

    def requestor(self, request: Any) -> Requestor:
        return ANONYMOUS

    def order(self, order_id: uuid.UUID) -> OrderFacts | None:
        return None

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        return None

    def active_channels(self) -> list[str]:
        return []

    def keyring(self) -> Keyring:
        return Keyring.from_settings()

    def issuing_keyring(self, channel: str) -> Keyring:
        return Keyring.from_settings()

    def timeline(self, order_id: uuid.UUID, message: str, requestor: Requestor) -> None:
        TIMELINE.append((str(order_id), "api", message))

    def load_order(self, order_id: str) -> OrderData | None:
        return None

    def load_parcel(self, parcel_id: str) -> ParcelData | None:
        return None

    def write_timeline(
        self, order_id: Any, message: str, *, event: str, actor: Actor | None
    ) -> None:
        TIMELINE.append((str(order_id), event, message))

    def set_parcel_status(self, parcel_id: int, status: str) -> None:
        STATUSES[parcel_id] = status

    def parcel_label(self, parcel_id: int | None) -> str:
        return f"#{parcel_id}" if parcel_id is not None else ""

    def email_context(self, record: Any) -> EmailContext:
        return email_context(record)

    def confirmation_context(
        self, payload: Mapping[str, Any], record: Any
    ) -> EmailContext:
        return confirmation_context(payload, record)

    def db_access(self) -> AbstractContextManager[Any]:
        return nullcontext()

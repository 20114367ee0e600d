"""Hosts for the CI tier: a stand-in for what the Saleor layer provides in
production, and a whole shop kept in memory (:class:`MemoryShopHost`).

For the stand-in, orders a test registers in :data:`ORDERS` get their own context
(language, parcels, SMTP server, templates); any other record gets the fixed
sample order the engine tests expect. Module state, so an in-process Celery
worker sees it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from saleor_delivery_otp import flows
from saleor_delivery_otp.audit import Actor
from saleor_delivery_otp.codes import Keyring
from saleor_delivery_otp.emails.sending import (
    EmailContext,
    EmailTemplates,
    ParcelItem,
    SmtpTransport,
)
from saleor_delivery_otp.limits import CodeLimits
from saleor_delivery_otp.policy import Line, Policy, order_decision
from saleor_delivery_otp.ports import (
    ANONYMOUS,
    ChannelSettings,
    OrderData,
    OrderFacts,
    ParcelData,
    Requestor,
)
from saleor_delivery_otp.service import Reader

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
# (order id, channel, event, message)
TIMELINE: list[tuple[str, str, str, str]] = []
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

    def timeline(
        self, order_id: uuid.UUID, message: str, requestor: Requestor, *, channel: str
    ) -> None:
        TIMELINE.append((str(order_id), channel, "api", message))

    def load_order(self, order_id: str) -> OrderData | None:
        return None

    def load_parcel(self, parcel_id: str) -> ParcelData | None:
        return None

    def write_timeline(
        self,
        order_id: Any,
        message: str,
        *,
        event: str,
        actor: Actor | None,
        channel: str,
    ) -> None:
        TIMELINE.append((str(order_id), channel, event, message))

    def set_parcel_status(self, parcel_id: int, status: str, *, channel: str) -> None:
        STATUSES[parcel_id] = status

    def parcel_label(self, parcel_id: int | None, *, channel: str) -> str:
        return f"#{parcel_id}" if parcel_id is not None else ""

    def email_context(self, record: Any) -> EmailContext:
        return email_context(record)

    def confirmation_context(
        self, payload: Mapping[str, Any], record: Any
    ) -> EmailContext:
        return confirmation_context(payload, record)

    def db_access(self) -> AbstractContextManager[Any]:
        return nullcontext()


# --- a whole shop in memory ---------------------------------------------------------

MEMORY_CHANNEL = "memory-eur"
MEMORY_CURRENCY = "EUR"


@dataclass
class MemoryLine:
    id: str
    product: str
    unit_price: Decimal  # gross, in MEMORY_CURRENCY
    quantity: int = 1


@dataclass
class MemoryParcel:
    id: int
    number: int  # 1st, 2nd ... parcel of its order
    order_id: uuid.UUID
    quantities: dict[str, int]  # order line id -> quantity shipped
    tracking_number: str = ""
    # fulfilled, waiting_for_approval or canceled (Saleor's fulfillment statuses)
    status: str = "fulfilled"
    # What the shop shows on the parcel to storefronts and apps (Saleor: the
    # fulfillment's public metadata ``delivery_otp_status``).
    shown_status: str | None = None


@dataclass
class MemoryOrder:
    id: uuid.UUID
    number: str
    email: str
    lines: list[MemoryLine]
    customer_id: str = ""
    customer_name: str = ""
    status: str = "unfulfilled"  # unfulfilled, canceled, refunded
    parcels: list[MemoryParcel] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)

    def line(self, line_id: str) -> MemoryLine:
        return next(line for line in self.lines if line.id == line_id)


class MemoryShopHost:
    """A :class:`saleor_delivery_otp.ports.Host` whose shop lives in memory: orders,
    parcels, their timeline and the status each parcel shows. The shop's own
    actions (placing an order, shipping, approving, tracking, canceling,
    refunding) play their events through :func:`saleor_delivery_otp.flows.run`, as
    the plugin's hooks do. Default policy: a code above 300 EUR per item."""

    def __init__(self, policy: Policy | None = None):
        self.policy = policy or Policy()
        self.limits = CodeLimits.from_settings()
        self.orders: dict[uuid.UUID, MemoryOrder] = {}
        self._next_parcel_id = 1

    # --- the shop's actions, each with its event ------------------------------

    def place_order(self, order: MemoryOrder) -> MemoryOrder:
        self.orders[order.id] = order
        self._event(flows.ORDER_CREATED, order.id, self.load_order)
        return order

    def ship(
        self,
        order: MemoryOrder,
        quantities: Mapping[str, int],
        *,
        tracking_number: str = "",
        approved: bool = True,
    ) -> MemoryParcel:
        parcel = MemoryParcel(
            self._next_parcel_id,
            len(order.parcels) + 1,
            order.id,
            dict(quantities),
            tracking_number,
            "fulfilled" if approved else "waiting_for_approval",
        )
        self._next_parcel_id += 1
        order.parcels.append(parcel)
        self._event(flows.FULFILLMENT_CREATED, parcel.id, self.load_parcel)
        return parcel

    def approve(self, parcel: MemoryParcel) -> None:
        parcel.status = "fulfilled"
        self._event(flows.FULFILLMENT_APPROVED, parcel.id, self.load_parcel)

    def update_tracking(self, parcel: MemoryParcel, tracking_number: str) -> None:
        parcel.tracking_number = tracking_number
        self._event(flows.TRACKING_NUMBER_UPDATED, parcel.id, self.load_parcel)

    def cancel_parcel(self, parcel: MemoryParcel) -> None:
        parcel.status = "canceled"
        self._event(flows.FULFILLMENT_CANCELED, parcel.id, self.load_parcel)

    def refund(self, order: MemoryOrder) -> None:
        order.status = "refunded"
        self._event(flows.ORDER_FULLY_REFUNDED, order.id, self.load_order)

    def cancel_order(self, order: MemoryOrder) -> None:
        order.status = "canceled"
        self._event(flows.ORDER_CANCELLED, order.id, self.load_order)

    def _event(
        self,
        event: str,
        object_id: object,
        load: Callable[[str], OrderData | ParcelData | None],
    ) -> None:
        settings = self.channel_settings(MEMORY_CHANNEL)
        assert settings is not None

        def data() -> OrderData | ParcelData:
            found = load(str(object_id))
            if found is None:
                raise LookupError(f"No such object: {object_id}")
            return found

        if not flows.run(event, self, object_id, data, settings):
            raise RuntimeError(f"The memory shop's {event} failed (see the log).")

    def parcel(self, parcel_id: int) -> MemoryParcel | None:
        for order in self.orders.values():
            for parcel in order.parcels:
                if parcel.id == parcel_id:
                    return parcel
        return None

    # --- the API's questions ------------------------------------------------------

    def requestor(self, request: Any) -> Requestor:
        return ANONYMOUS

    def order(self, order_id: uuid.UUID) -> OrderFacts | None:
        order = self.orders.get(order_id)
        if order is None:
            return None
        return OrderFacts(
            order.id,
            MEMORY_CHANNEL,
            order.email,
            order.customer_id or None,
            number=order.number,
        )

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        if channel != MEMORY_CHANNEL:
            return None
        return ChannelSettings(self.limits, policy=self.policy)

    def active_channels(self) -> list[str]:
        return [MEMORY_CHANNEL]

    def keyring(self) -> Keyring:
        return Keyring.from_settings()

    def issuing_keyring(self, channel: str) -> Keyring:
        return Keyring.from_settings()

    def timeline(
        self, order_id: uuid.UUID, message: str, requestor: Requestor, *, channel: str
    ) -> None:
        self.write_timeline(
            order_id, message, event=flows.API_EVENT, actor=None, channel=channel
        )

    # --- the events' questions ----------------------------------------------------

    def load_order(self, order_id: str) -> OrderData | None:
        order = self.orders.get(uuid.UUID(str(order_id)))
        if order is None:
            return None
        return OrderData(
            id=order.id,
            channel_slug=MEMORY_CHANNEL,
            currency=MEMORY_CURRENCY,
            lines=tuple(
                Line(line.id, line.unit_price, MEMORY_CURRENCY, line.quantity)
                for line in order.lines
            ),
            number=order.number,
            reader=self._reader(order),
        )

    def load_parcel(self, parcel_id: str) -> ParcelData | None:
        parcel = self.parcel(int(parcel_id))
        if parcel is None:
            return None
        order = self.orders[parcel.order_id]
        return ParcelData(
            id=parcel.id,
            order_id=order.id,
            channel_slug=MEMORY_CHANNEL,
            currency=MEMORY_CURRENCY,
            is_shipped=parcel.status == "fulfilled",
            tracking_number=parcel.tracking_number,
            lines=tuple(
                Line(line_id, order.line(line_id).unit_price, MEMORY_CURRENCY, qty)
                for line_id, qty in parcel.quantities.items()
            ),
            reader=self._reader(order),
        )

    @staticmethod
    def _reader(order: MemoryOrder) -> Reader:
        return Reader(customer_id=order.customer_id, email=order.email)

    # --- write-backs --------------------------------------------------------------

    def write_timeline(
        self,
        order_id: Any,
        message: str,
        *,
        event: str,
        actor: Actor | None,
        channel: str,
    ) -> None:
        order = self.orders.get(uuid.UUID(str(order_id)))
        if order is not None:
            order.timeline.append(message)

    def set_parcel_status(self, parcel_id: int, status: str, *, channel: str) -> None:
        parcel = self.parcel(parcel_id)
        if parcel is not None:
            parcel.shown_status = status

    def parcel_label(self, parcel_id: int | None, *, channel: str) -> str:
        parcel = self.parcel(parcel_id) if parcel_id is not None else None
        if parcel is None:
            return ""
        return f"#{self.orders[parcel.order_id].number}-{parcel.number}"

    # --- the e-mail layer's questions ---------------------------------------------

    def email_context(self, record: Any) -> EmailContext:
        order = self.orders[record.order_id]
        parcel = (
            self.parcel(record.fulfillment_id)
            if record.fulfillment_id is not None
            else None
        )
        if parcel is not None:
            quantities = parcel.quantities
        else:
            # Before shipment the code is for the lines that made the order qualify.
            lines = [Line(li.id, li.unit_price, MEMORY_CURRENCY) for li in order.lines]
            qualifying = order_decision(self.policy, lines).qualifying_line_ids
            quantities = {
                line_id: order.line(line_id).quantity for line_id in qualifying
            }
        return EmailContext(
            recipient=order.email,
            order_reference=order.number,
            items=tuple(
                ParcelItem(order.line(line_id).product, quantity)
                for line_id, quantity in quantities.items()
            ),
            parcel_number=parcel.number if parcel is not None else None,
            shop_name="Memory Shop",
            customer_name=order.customer_name,
            validity_days=self.limits.validity.days,
        )

    def confirmation_context(
        self, payload: Mapping[str, Any], record: Any
    ) -> EmailContext:
        if record is None:
            raise LookupError("The memory shop sends no order confirmation.")
        return self.email_context(record)

    def db_access(self) -> AbstractContextManager[Any]:
        return nullcontext()

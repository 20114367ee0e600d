"""The sandbox as a host: what :mod:`saleor_delivery_otp.plugin.host` is for Saleor.

It authenticates the shop's tokens, answers the API's questions about orders and
channels, plays Saleor's order and fulfillment events (placing an order, shipping a
parcel) through the same flows as the plugin, and tells the e-mail layer about an
order.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from .. import flows, policy, service
from ..audit import Actor
from ..codes import Keyring
from ..emails.context import EmailContext, ParcelItem
from ..limits import CodeLimits
from ..models import DeliveryCode
from ..ports import (
    ANONYMOUS,
    ChannelSettings,
    OrderData,
    OrderFacts,
    ParcelData,
    Requestor,
    RequestorKind,
)
from .shop import CHANNEL, COURIER_APP_ID, CURRENCY, SHOP_PHONE, Order, Parcel, Shop

POLICY = policy.Policy()  # the defaults: a code above 300 EUR per item

_KINDS = {
    "customer": RequestorKind.CUSTOMER,
    "app": RequestorKind.APP,
    "staff": RequestorKind.STAFF,
}


class SandboxHost:
    def __init__(self, shop: Shop, data_dir: Path):
        self.shop = shop
        self.data_dir = data_dir
        self.limits = CodeLimits.from_settings()
        self._lock = threading.Lock()

    # --- the API's questions (saleor_delivery_otp.ports.Host) ----------------------

    def requestor(self, request: Any) -> Requestor:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        found = (
            self.shop.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        )
        # Driver keys never get here: the API checks them first, on every host.
        if found is None or found.kind not in _KINDS:
            return ANONYMOUS
        return Requestor(
            _KINDS[found.kind],
            found.identifier,
            found.name,
            found.email,
            can_manage_orders=found.kind == "staff",
        )

    def order(self, order_id: uuid.UUID) -> OrderFacts | None:
        order = self.shop.order(order_id)
        if order is None:
            return None
        return OrderFacts(
            order.uuid, CHANNEL, order.email, order.customer_id, number=order.number
        )

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        if channel != CHANNEL:
            return None
        return ChannelSettings(
            self.limits,
            frozenset({COURIER_APP_ID}),
            shop_phone=SHOP_PHONE,
            policy=POLICY,
        )

    def active_channels(self) -> Collection[str]:
        return [CHANNEL]

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

    # --- the events' questions and the write-backs --------------------------------

    def load_order(self, order_id: str) -> OrderData | None:
        order = self.shop.order(uuid.UUID(str(order_id)))
        return _order_data(order) if order is not None else None

    def load_parcel(self, parcel_id: str) -> ParcelData | None:
        found = self.shop.parcel(int(parcel_id))
        return _parcel_data(*found) if found is not None else None

    def write_timeline(
        self,
        order_id: uuid.UUID | str,
        message: str,
        *,
        event: str,
        actor: Actor | None,
        channel: str,
    ) -> None:
        order = self.shop.order(uuid.UUID(str(order_id)))
        if order is not None:
            with self._lock:
                order.timeline.append(message)
                self.shop.save(self.data_dir)

    def set_parcel_status(self, parcel_id: int, status: str, *, channel: str) -> None:
        found = self.shop.parcel(parcel_id)
        if found is not None and found[1].status != status:
            with self._lock:
                found[1].status = status
                self.shop.save(self.data_dir)

    def parcel_label(self, parcel_id: int | None, *, channel: str) -> str:
        found = self.shop.parcel(parcel_id) if parcel_id is not None else None
        if found is None:
            return ""
        order, parcel = found
        return f"#{order.number}-{parcel.number}"

    def confirmation_context(
        self, payload: Mapping[str, Any], record: DeliveryCode | None
    ) -> EmailContext:
        if record is None:
            raise LookupError("The sandbox sends no order confirmation.")
        return self.email_context(record)

    def db_access(self) -> AbstractContextManager[Any]:
        return nullcontext()

    def ensure_driver_key(self) -> None:
        """A driver key for the sandbox's driver, made once and kept with the
        other tokens: the banner prints it for the driver's page."""
        if any(token.kind == "driver" for token in self.shop.tokens.values()):
            return
        from .. import drivers
        from ..audit import Actor, ActorKind
        from .shop import Token

        record, key = drivers.create(
            "Dario", [CHANNEL], by=Actor(ActorKind.STAFF, "sam", "Sam (staff)")
        )
        with self._lock:
            self.shop.tokens[key] = Token("driver", str(record.pk), "Dario (driver)")
            self.shop.save(self.data_dir)

    # --- Saleor's events, played by the sandbox -----------------------------------

    def place_order(self, order: Order) -> DeliveryCode | None:
        """What Saleor's ``order_created`` does: the order flow, a code if it
        qualifies."""
        with self._lock:
            self.shop.orders.append(order)
            self.shop.save(self.data_dir)
        self._event(flows.ORDER_CREATED, order.uuid, _order_data(order))
        return _codes(order.uuid).filter(fulfillment_id__isnull=True).first()

    def ship(
        self, order: Order, line_ids: list[str], tracking_number: str
    ) -> tuple[Parcel, DeliveryCode | None]:
        """What ``fulfillment_created`` does: the parcel flow, its code if it
        needs one."""
        with self._lock:
            parcel = Parcel(
                self.shop.next_parcel_id,
                len(order.parcels) + 1,
                line_ids,
                tracking_number,
            )
            self.shop.next_parcel_id += 1
            order.parcels.append(parcel)
            self.shop.save(self.data_dir)
        self._event(flows.FULFILLMENT_CREATED, parcel.id, _parcel_data(order, parcel))
        return parcel, _codes(order.uuid).filter(fulfillment_id=parcel.id).first()

    def _event(
        self, event: str, object_id: object, data: OrderData | ParcelData
    ) -> None:
        settings = self.channel_settings(CHANNEL)
        assert settings is not None  # the sandbox's one channel
        if not flows.run(event, self, object_id, lambda: data, settings):
            raise RuntimeError(f"The sandbox's {event} failed (see the log).")

    # --- the e-mail layer's questions ---------------------------------------------

    def email_context(self, record: DeliveryCode) -> EmailContext:
        order = self.shop.order(record.order_id)
        if order is None:
            raise LookupError("The sandbox has no such order.")
        found = (
            self.shop.parcel(record.fulfillment_id) if record.fulfillment_id else None
        )
        parcel = found[1] if found is not None else None
        if parcel is not None:
            line_ids: list[str] | tuple[str, ...] = parcel.line_ids
        else:
            # Before shipment the code is for the lines that made the order qualify.
            line_ids = policy.order_decision(
                POLICY, [line.facts() for line in order.lines]
            ).qualifying_line_ids
        lines = [order.line(line_id) for line_id in line_ids]
        return EmailContext(
            recipient=order.email,
            order_reference=order.number,
            language_code=order.language_code,
            shop_name="Sandbox Shop",
            items=tuple(ParcelItem(line.product, line.quantity) for line in lines),
            parcel_number=parcel.number if parcel is not None else None,
            validity_days=self.limits.validity.days,
            customer_name=order.customer_name,
        )


def _reader(order: Order) -> service.Reader:
    """Who the order's codes are for: its account ("" for a guest), its address."""
    return service.Reader(customer_id=order.customer_id or "", email=order.email)


def _order_data(order: Order) -> OrderData:
    return OrderData(
        id=order.uuid,
        channel_slug=CHANNEL,
        currency=CURRENCY,
        lines=tuple(line.facts() for line in order.lines),
        number=order.number,
        reader=_reader(order),
    )


def _parcel_data(order: Order, parcel: Parcel) -> ParcelData:
    return ParcelData(
        id=parcel.id,
        order_id=order.uuid,
        channel_slug=CHANNEL,
        currency=CURRENCY,
        tracking_number=parcel.tracking_number,
        lines=tuple(order.line(line_id).facts() for line_id in parcel.line_ids),
        reader=_reader(order),
    )


def _codes(order_id: uuid.UUID) -> Any:
    return DeliveryCode.objects.current().for_order(order_id)


_current: SandboxHost | None = None


def install(host: SandboxHost) -> None:
    global _current
    _current = host


def current() -> SandboxHost:
    if _current is None:
        raise RuntimeError("The sandbox host is not set up.")
    return _current

"""The sandbox as a host: what :mod:`saleor_delivery_otp.saleor_host` is for Saleor.

It authenticates the shop's tokens, answers the API's questions about orders and
channels, plays Saleor's order and fulfillment events (placing an order, shipping a
parcel) and tells the e-mail layer about an order.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .. import policy, service
from ..codes import Keyring
from ..emails.context import EmailContext, ParcelItem
from ..host import ANONYMOUS, ChannelSettings, OrderFacts, Requestor, RequestorKind
from ..limits import CodeLimits
from ..models import DeliveryCode
from .shop import CHANNEL, COURIER_APP_ID, SHOP_PHONE, Order, Parcel, Shop

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

    # --- the API's questions (saleor_delivery_otp.host.Host) ----------------------

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
            self.limits, frozenset({COURIER_APP_ID}), shop_phone=SHOP_PHONE
        )

    def active_channels(self) -> Collection[str]:
        return [CHANNEL]

    def keyring(self) -> Keyring:
        return Keyring.from_settings()

    def issuing_keyring(self, channel: str) -> Keyring:
        return Keyring.from_settings()

    def timeline(self, order_id: uuid.UUID, message: str, requestor: Requestor) -> None:
        order = self.shop.order(order_id)
        if order is not None:
            with self._lock:
                order.timeline.append(message)
                self.shop.save(self.data_dir)

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
        """What the plugin's ``order_created`` hook does: a code if it qualifies."""
        with self._lock:
            self.shop.orders.append(order)
            self.shop.save(self.data_dir)
        facts = [line.facts() for line in order.lines]
        if not policy.order_decision(POLICY, facts).required:
            return None
        issued = service.issue_for_order(
            order.uuid, channel=CHANNEL, reader=_reader(order), limits=self.limits
        )
        if issued.created:
            service.announce(issued.record, limits=self.limits)
            self.timeline(order.uuid, "Delivery code issued and e-mailed.", ANONYMOUS)
        return issued.record

    def ship(
        self, order: Order, line_ids: list[str], tracking_number: str
    ) -> tuple[Parcel, DeliveryCode | None]:
        """What ``fulfillment_created`` does: the parcel's code, if it needs one."""
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
        facts = [order.line(line_id).facts() for line_id in line_ids]
        if not policy.parcel_decision(POLICY, facts).required:
            return parcel, None
        issued = service.issue_for_parcel(
            order.uuid,
            parcel.id,
            channel=CHANNEL,
            tracking_number=tracking_number,
            reader=_reader(order),
            limits=self.limits,
        )
        if issued.created:
            # A further parcel: its own code, in its own e-mail.
            service.announce(issued.record, limits=self.limits)
        self.timeline(
            order.uuid,
            f"Parcel {parcel.number} shipped with a delivery code.",
            ANONYMOUS,
        )
        return parcel, issued.record

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


_current: SandboxHost | None = None


def install(host: SandboxHost) -> None:
    global _current
    _current = host


def current() -> SandboxHost:
    if _current is None:
        raise RuntimeError("The sandbox host is not set up.")
    return _current


def email_context(record: DeliveryCode) -> EmailContext:
    """``DELIVERY_OTP_EMAIL_CONTEXT`` of the sandbox."""
    return current().email_context(record)

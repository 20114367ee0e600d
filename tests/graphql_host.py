"""The host the API tests run against: tokens, orders and channels in memory."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta

from saleor_delivery_otp.codes import Keyring
from saleor_delivery_otp.limits import CodeLimits
from saleor_delivery_otp.ports import (
    ANONYMOUS,
    ChannelSettings,
    OrderFacts,
    Requestor,
    RequestorKind,
)

RULES = CodeLimits(
    length=6,
    max_attempts=5,
    validity=timedelta(days=30),
    resend_cooldown=timedelta(seconds=60),
    resend_daily_cap=5,
)

SHOP_PHONE = "+39 02 9876 5432"

TOKENS = {
    "customer-token": Requestor(
        RequestorKind.CUSTOMER, "7", "Anna", "anna@example.com"
    ),
    "other-customer-token": Requestor(
        RequestorKind.CUSTOMER, "8", "Bob", "bob@example.com"
    ),
    "staff-token": Requestor(
        RequestorKind.STAFF, "5", "Sam", "sam@example.com", can_manage_orders=True
    ),
    "eu-staff-token": Requestor(
        RequestorKind.STAFF,
        "9",
        "Eve",
        "eve@example.com",
        can_manage_orders=True,
        channels=frozenset({"eu"}),
    ),
    "staff-without-permission": Requestor(
        RequestorKind.STAFF, "6", "Pat", "pat@example.com"
    ),
    # MANAGE_ORDERS in a permission group restricted to channel us.
    "us-staff-token": Requestor(
        RequestorKind.STAFF,
        "9",
        "Uma",
        "uma@example.com",
        can_manage_orders=True,
        channels=frozenset({"us"}),
    ),
    "courier-token": Requestor(RequestorKind.APP, "17", "Courier app"),
    "other-app-token": Requestor(RequestorKind.APP, "99", "Some other app"),
    "us-courier-token": Requestor(RequestorKind.APP, "21", "US courier"),
}


@dataclass
class MemoryHost:
    orders: dict[uuid.UUID, OrderFacts] = field(default_factory=dict)
    channels: dict[str, ChannelSettings] = field(
        default_factory=lambda: {
            "eu": ChannelSettings(RULES, frozenset({"17"}), shop_phone=SHOP_PHONE),
            "us": ChannelSettings(RULES, frozenset({"21"})),
        }
    )
    notes: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)

    def requestor(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return ANONYMOUS
        return TOKENS.get(token.strip(), ANONYMOUS)

    def order(self, order_id):
        return self.orders.get(order_id)

    def channel_settings(self, channel):
        return self.channels.get(channel)

    def active_channels(self):
        return list(self.channels)

    def keyring(self):
        return Keyring.from_settings()

    def issuing_keyring(self, channel):
        return Keyring.from_settings()

    def timeline(self, order_id, message, requestor, *, channel):
        self.notes.append((order_id, message, str(requestor.actor)))

    def add_order(self, *, channel="eu", user_id="7", email="anna@example.com"):
        order = OrderFacts(uuid.uuid4(), channel, email, user_id, number="1042")
        self.orders[order.id] = order
        return order

    def change_order(self, order, **changes):
        """What staff do in Saleor: a new e-mail, another or no account."""
        changed = replace(order, **changes)
        self.orders[order.id] = changed
        return changed


HOST = MemoryHost()

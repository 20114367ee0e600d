"""What the API needs from the shop it runs in, as plain data and one protocol.

The GraphQL layer never reads Saleor objects: it asks a :class:`Host`. Saleor's
implementation lives in :mod:`saleor_delivery_otp.saleor_host`; the sandbox and the
CI tier have their own. Who may do what is decided from this plain data in
:mod:`saleor_delivery_otp.access`, so the rules are the same whatever the host.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from .audit import Actor, ActorKind
from .codes import Keyring
from .limits import CodeLimits


class RequestorKind(enum.StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"
    APP = "app"
    # A shop's own driver, by a driver key (see drivers.py), whatever the host.
    DRIVER = "driver"


@dataclass(frozen=True)
class Requestor:
    """Who sent the request, as the host authenticated them."""

    kind: RequestorKind
    identifier: str = ""
    name: str = ""
    email: str = ""
    # Staff holding Saleor's MANAGE_ORDERS permission. (Apps act by the channel's
    # list of apps allowed to verify.)
    can_manage_orders: bool = False
    # The channels this staff member may act in (Saleor's permission groups with
    # restrictedAccessToChannels); None means every channel. For a driver: the
    # channels of the driver's key.
    channels: frozenset[str] | None = None

    @property
    def actor(self) -> Actor:
        kind = {
            RequestorKind.CUSTOMER: ActorKind.CUSTOMER,
            RequestorKind.STAFF: ActorKind.STAFF,
            RequestorKind.APP: ActorKind.APP,
            RequestorKind.DRIVER: ActorKind.DRIVER,
        }.get(self.kind, ActorKind.SYSTEM)
        return Actor(kind, self.identifier, self.name)


ANONYMOUS = Requestor(RequestorKind.ANONYMOUS)


@dataclass(frozen=True)
class OrderFacts:
    """What the API must know of an order, as it is now.

    Who may read a code is pinned on the code when it is issued (see
    :mod:`~saleor_delivery_otp.access`); the order's current e-mail is used only to
    refuse a resend to a changed address (and to move a pin to a new key while the
    address is unchanged), its current account to tell its owner "no codes" rather
    than a refusal.
    """

    id: UUID
    channel: str
    email: str
    # The customer account the order belongs to now; None for a guest checkout.
    user_id: str | None = None
    number: str = ""


@dataclass(frozen=True)
class ChannelSettings:
    """One channel's plugin configuration, as the API uses it."""

    limits: CodeLimits
    # Apps (by id) allowed to verify codes in this channel.
    verifying_apps: frozenset[str] = frozenset()
    # The number a driver calls when a code is locked ("Shop phone for drivers").
    shop_phone: str = ""


class Host(Protocol):
    def requestor(self, request: Any) -> Requestor:
        """Authenticate the request with the shop's own tokens."""

    def order(self, order_id: UUID) -> OrderFacts | None: ...

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        """None when the plugin is not active in that channel."""

    def active_channels(self) -> Collection[str]: ...

    def keyring(self) -> Keyring:
        """Every key any channel may have used: verification and display find
        the right one by the key id stored on each record."""

    def issuing_keyring(self, channel: str) -> Keyring:
        """The keys a channel issues new codes with (its newest first)."""

    def timeline(self, order_id: UUID, message: str, requestor: Requestor) -> None:
        """Write a line on the order's timeline. Never pass a code."""

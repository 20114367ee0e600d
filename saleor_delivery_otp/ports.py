"""The contracts between the engine and the program it runs in: plain data and the
one Protocol every host implements.

A *host* is the program that embeds the engine and talks to a shop: the Saleor
plugin (:mod:`saleor_delivery_otp.plugin`), the sandbox
(:mod:`saleor_delivery_otp.sandbox`), and next the Saleor App. Each host has one
adapter class implementing :class:`Host`; the flows
(:mod:`saleor_delivery_otp.flows`), the API (:mod:`saleor_delivery_otp.graphql`)
and the Celery tasks reach the shop only through it, with the plain data below,
never with a host's own objects. Who may do what is decided from this data in
:mod:`saleor_delivery_otp.access`, so the rules are the same whatever the host.

The process's host is named by ``DELIVERY_OTP_HOST`` (a dotted path to a class or
a factory, as django-axes's ``AXES_HANDLER``); a host that Saleor loads by entry
point declares itself instead (:func:`declare_default_host`), so a Saleor shop
sets nothing. :func:`get_host` returns it.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from django.utils.module_loading import import_string

from .audit import Actor, ActorKind
from .codes import Keyring
from .conf import settings
from .exceptions import ConfigurationError
from .limits import CodeLimits
from .policy import Line, Policy

if TYPE_CHECKING:
    from .emails.context import EmailContext
    from .models import DeliveryCode
    from .service import Reader


# --- who asks -------------------------------------------------------------------


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


# --- what the shop knows --------------------------------------------------------


class EmailMode(enum.StrEnum):
    # The code travels in its own e-mail, sent by this project.
    SEPARATE = "separate"
    # The code travels in the order confirmation, which this project then sends
    # in the shop's place (docs/emails.md).
    SINGLE = "single"


@dataclass(frozen=True)
class ChannelSettings:
    """One channel's settings, as the flows and the API use them. A host builds
    them from where it keeps its configuration (the plugin: the Dashboard form,
    parsed by :mod:`saleor_delivery_otp.plugin_config`)."""

    limits: CodeLimits
    # Apps (by id) allowed to verify codes in this channel.
    verifying_apps: frozenset[str] = frozenset()
    # The number a driver calls when a code is locked ("Shop phone for drivers").
    shop_phone: str = ""
    # Which orders and parcels need a code.
    policy: Policy = field(default_factory=Policy)
    email_mode: EmailMode = EmailMode.SEPARATE
    # The keys this channel issues new codes with (newest first); None: the
    # server's DELIVERY_OTP_KEYS.
    keyring: Keyring | None = None


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
class OrderData:
    """An order as an event hands it to the flows. ``lines`` may be empty where
    the flow needs none (an order closed)."""

    id: UUID
    channel_slug: str
    currency: str = ""
    lines: tuple[Line, ...] = ()
    number: int | str = ""
    # Who a code issued now is for: the order's account ("" for a guest) and the
    # address its e-mails go to. None where no code is issued (an order closed).
    reader: Reader | None = None
    # False for a draft: a draft gets no code (it becomes an order later, and
    # that event comes again).
    is_placed: bool = True
    # Whether the shop sends this order a confirmation (a checkout order yes; a
    # draft completed by staff, in Saleor, no): single-e-mail mode puts the code
    # in it.
    sends_confirmation: bool = True


@dataclass(frozen=True)
class ParcelData:
    """A parcel (Saleor's fulfillment) as an event hands it to the flows."""

    id: int
    order_id: UUID
    channel_slug: str
    currency: str = ""
    # ``fulfilled`` for a parcel on its way; anything else (waiting for approval,
    # canceled, a return or refund group) needs no code.
    is_shipped: bool = True
    tracking_number: str = ""
    lines: tuple[Line, ...] = ()
    # The order's reader and confirmation, as on :class:`OrderData`.
    reader: Reader | None = None
    sends_confirmation: bool = True


# --- the port -------------------------------------------------------------------


class Host(Protocol):
    """What the engine asks of the shop it runs in. One adapter per host.

    An instance may keep what it read for as long as it lives: the API builds one
    per request, a Celery task one per run (:func:`get_host`).
    """

    # The API's questions, per request.

    def requestor(self, request: Any) -> Requestor:
        """Authenticate the request with the shop's own tokens."""

    def order(self, order_id: UUID) -> OrderFacts | None: ...

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        """None when delivery codes are off in that channel."""

    def active_channels(self) -> Collection[str]: ...

    def keyring(self) -> Keyring:
        """Every key any channel may have used: verification and display find
        the right one by the key id stored on each record."""

    def issuing_keyring(self, channel: str) -> Keyring:
        """The keys a channel issues new codes with (its newest first)."""

    def timeline(
        self, order_id: UUID, message: str, requestor: Requestor, *, channel: str
    ) -> None:
        """Record an API action on the order's timeline, now or queued
        (:func:`saleor_delivery_otp.flows.queue_timeline`). Never pass a code."""

    # The events' questions: the order or parcel again, by id (a retry).

    def load_order(self, order_id: str) -> OrderData | None: ...

    def load_parcel(self, parcel_id: str) -> ParcelData | None: ...

    # Write-backs, from the flows' Celery tasks. Never a code. ``channel`` is the
    # order's or parcel's, as on its codes: a host serving several Saleor
    # installations finds the installation by it (a parcel is its id within its
    # channel).

    def write_timeline(
        self,
        order_id: UUID | str,
        message: str,
        *,
        event: str,
        actor: Actor | None,
        channel: str,
    ) -> None:
        """Write one entry on the order's timeline, by ``actor`` (None: the
        project itself)."""

    def set_parcel_status(self, parcel_id: int, status: str, *, channel: str) -> None:
        """Show the parcel code's status to storefronts and apps."""

    def parcel_label(self, parcel_id: int | None, *, channel: str) -> str:
        """How staff name a parcel (Saleor: ``#<order number>-<n>``)."""

    # The e-mail layer's questions.

    def email_context(self, record: DeliveryCode) -> EmailContext:
        """Who receives a code and what its e-mail says about the order."""

    def confirmation_context(
        self, payload: Mapping[str, Any], record: DeliveryCode | None
    ) -> EmailContext:
        """Single-e-mail mode: the order confirmation's context; ``record`` is the
        order's usable code, or None."""

    def db_access(self) -> AbstractContextManager[Any]:
        """A context the engine's writes run in (Saleor: ``allow_writer()``)."""


_declared: str | None = None


def declare_default_host(dotted_path: str) -> None:
    """Used when ``DELIVERY_OTP_HOST`` is unset. The Saleor plugin declares itself
    on import: Saleor imports every plugin in its web processes (the plugin
    manager) and in its Celery workers (task discovery) before any of our code
    runs, so a Saleor shop needs no setting."""
    global _declared
    _declared = dotted_path


def host_path() -> str | None:
    """The dotted path of this process's host, or None if none is known."""
    return settings.DELIVERY_OTP_HOST or _declared


def get_host() -> Host:
    """A new instance of this process's host (a factory may return a shared one)."""
    path = host_path()
    if not path:
        raise ConfigurationError(
            "No delivery-code host is set: set DELIVERY_OTP_HOST to the dotted "
            "path of a class implementing saleor_delivery_otp.ports.Host."
        )
    factory = import_string(path)
    host: Host = factory()
    return host

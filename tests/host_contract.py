"""The host contract: one set of tests every host passes, as django-otp runs its
``ThrottlingTestMixin`` against every device.

Each test plays a delivery through a host's own event path (the plugin's hooks
inside Saleor, the sandbox's shop, the CI tier's shop in memory) and asserts what
the customer, the courier and the shop's staff would notice, the same on every
host: which parcels have a code and in what state (the ``DeliveryCode`` rows), how
many code e-mails went out (one per code), the words on the order's timeline and
the status each parcel shows. The order: a 349 EUR phone and a 20 EUR cable, under
the default policy (a code above 300 EUR per item).

A host takes part through a :class:`Harness` (a ``harness`` fixture on a subclass
of :class:`HostContract`). Differences between hosts that are real, such as how a
host names a parcel or how it models a parcel waiting for approval, live in the
harness; the assertions here are the same for all.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.core.mail import EmailMessage

from saleor_delivery_otp import service
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.models import DeliveryCode

CUSTOMER_EMAIL = "customer@example.com"
COURIER = Actor(ActorKind.APP, "7", "Courier app")


@dataclass(frozen=True)
class Item:
    name: str
    unit_price: Decimal  # gross, in the channel's currency (EUR)
    quantity: int = 1


PHONE = Item("Smartphone X", Decimal("349.00"))
CABLE = Item("USB-C cable", Decimal("20.00"))


@dataclass(eq=False)
class PlacedOrder:
    id: uuid.UUID
    number: str  # as the shop numbers it, without "#"
    handle: Any  # the host's own order


@dataclass(eq=False)
class ShippedParcel:
    id: int  # the parcel's id as the flows know it (Saleor: the fulfillment's)
    order: PlacedOrder
    handle: Any  # the host's own parcel


class Harness(Protocol):
    """What the contract asks of a host, in the shop's own terms. Each action is
    one request to the shop; the Celery tasks it queues run at
    :meth:`run_follow_ups`, which the tests call after each action, as a shop's
    workers run them right after the request."""

    # The channel the harness's orders are placed in.
    channel: str

    def place_order(self, items: Sequence[Item]) -> PlacedOrder:
        """Place an order for ``items`` (the customer's checkout), to
        :data:`CUSTOMER_EMAIL`."""

    def ship(
        self,
        order: PlacedOrder,
        quantities: Mapping[str, int],
        *,
        tracking_number: str = "",
        waiting_for_approval: bool = False,
    ) -> ShippedParcel:
        """Ship ``quantities`` (by item name) as one parcel; optionally as a
        parcel that waits for staff's approval."""

    def approve(self, parcel: ShippedParcel) -> None: ...

    def set_tracking(self, parcel: ShippedParcel, tracking_number: str) -> None: ...

    def cancel_parcel(self, parcel: ShippedParcel) -> None: ...

    def refund(self, order: PlacedOrder) -> None:
        """The order is fully refunded."""

    def cancel_order(self, order: PlacedOrder) -> None: ...

    def run_follow_ups(self) -> None:
        """Run the Celery tasks the actions so far queued, and those they queue
        (nothing is left where the host runs them inline)."""

    def timeline(self, order: PlacedOrder) -> list[str]:
        """The order's timeline entries written by delivery codes, oldest first,
        as the shop's staff read them."""

    def shown_status(self, parcel: ShippedParcel) -> str | None:
        """The delivery-code status the parcel shows to storefronts and apps; None
        when it shows none."""

    def parcel_name(self, parcel: ShippedParcel) -> str:
        """How the shop's staff name the parcel (Saleor: ``#<number>-<n>``)."""

    def sent_mail(self) -> list[EmailMessage]:
        """Every e-mail the host sent so far."""


# --- what a person would notice --------------------------------------------------

ISSUED_FOR_ORDER = (
    "Delivery code issued and e-mailed to the customer; it will protect the first "
    "parcel that needs one."
)


def bound_to(parcel: str) -> str:
    return f"The order's delivery code now protects parcel {parcel}."


def issued_for(parcel: str) -> str:
    return f"Delivery code issued for parcel {parcel} and e-mailed to the customer."


def parcel_revoked(parcel: str) -> str:
    return f"Delivery code of parcel {parcel} revoked: parcel canceled."


def code(
    status: str = "active",
    *,
    scope: str = "order",
    tracking: str = "",
    reason: str = "",
) -> dict[str, str]:
    return {"status": status, "scope": scope, "tracking": tracking, "reason": reason}


def current_codes(order: PlacedOrder) -> list[DeliveryCode]:
    return list(
        DeliveryCode.objects.current().for_order(order.id).order_by("created_at", "pk")
    )


def _mentions(message: EmailMessage, plain: str) -> bool:
    texts = [str(message.subject), str(message.body)]
    texts += [str(content) for content, _ in getattr(message, "alternatives", [])]
    pattern = re.compile(rf"(?<!\d){re.escape(plain)}(?!\d)")
    return any(pattern.search(text) for text in texts)


def observe(
    harness: Harness, order: PlacedOrder, parcels: Mapping[str, ShippedParcel]
) -> dict[str, Any]:
    """The delivery as a person sees it once the shop's workers have run: each
    code by the parcel it protects (``order`` while it protects none yet), how many
    e-mails carry each code, the e-mails to the customer, the order's timeline and
    what each parcel shows."""
    harness.run_follow_ups()
    names = {parcel.id: name for name, parcel in parcels.items()}
    to_customer = [m for m in harness.sent_mail() if CUSTOMER_EMAIL in m.to]
    codes: dict[str, dict[str, str]] = {}
    code_mails: dict[str, int] = {}
    for record in current_codes(order):
        name = (
            "order"
            if record.fulfillment_id is None
            else names.get(record.fulfillment_id, f"parcel {record.fulfillment_id}")
        )
        while name in codes:  # a second code for the same parcel shows as such
            name += "'"
        codes[name] = code(
            record.status,
            scope=record.scope,
            tracking=record.tracking_number,
            reason=record.status_reason,
        )
        plain = service.open_code(record)
        code_mails[name] = sum(_mentions(message, plain) for message in to_customer)
    return {
        "codes": codes,
        "code e-mails": code_mails,
        "e-mails to the customer": len(to_customer),
        "timeline": harness.timeline(order),
        "shown on parcels": {
            name: harness.shown_status(parcel) for name, parcel in parcels.items()
        },
    }


class HostContract:
    """The contract's tests; a subclass provides the ``harness`` fixture."""

    def test_an_order_with_a_349_eur_phone_gets_one_code_emailed_once(self, harness):
        order = harness.place_order([PHONE, CABLE])
        harness.run_follow_ups()

        assert observe(harness, order, {}) == {
            "codes": {"order": code()},
            "code e-mails": {"order": 1},
            "e-mails to the customer": 1,
            "timeline": [ISSUED_FOR_ORDER],
            "shown on parcels": {},
        }

    def test_an_order_of_a_20_eur_cable_gets_no_code(self, harness):
        order = harness.place_order([CABLE])
        harness.run_follow_ups()
        cable = harness.ship(order, {CABLE.name: 1}, tracking_number="TRK-CABLE")
        harness.run_follow_ups()

        assert observe(harness, order, {"cable": cable}) == {
            "codes": {},
            "code e-mails": {},
            "e-mails to the customer": 0,
            "timeline": [],
            "shown on parcels": {"cable": None},
        }

    def test_two_parcels_the_phones_takes_the_order_code_the_cables_gets_none(
        self, harness
    ):
        order = harness.place_order([PHONE, CABLE])
        harness.run_follow_ups()
        (order_code,) = current_codes(order)

        phone = harness.ship(order, {PHONE.name: 1}, tracking_number="TRK-PHONE")
        harness.run_follow_ups()
        cable = harness.ship(order, {CABLE.name: 1}, tracking_number="TRK-CABLE")
        harness.run_follow_ups()

        assert observe(harness, order, {"phone": phone, "cable": cable}) == {
            "codes": {"phone": code(tracking="TRK-PHONE")},
            "code e-mails": {"phone": 1},
            "e-mails to the customer": 1,
            "timeline": [ISSUED_FOR_ORDER, bound_to(harness.parcel_name(phone))],
            "shown on parcels": {"phone": "active", "cable": None},
        }
        (record,) = current_codes(order)
        assert record.pk == order_code.pk
        assert service.open_code(record) == service.open_code(order_code)

    def test_a_parcel_waiting_for_approval_gets_its_code_once_approved(self, harness):
        order = harness.place_order([PHONE, CABLE])
        harness.run_follow_ups()
        phone = harness.ship(
            order,
            {PHONE.name: 1},
            tracking_number="TRK-PHONE",
            waiting_for_approval=True,
        )
        harness.run_follow_ups()

        assert observe(harness, order, {"phone": phone}) == {
            "codes": {"order": code()},
            "code e-mails": {"order": 1},
            "e-mails to the customer": 1,
            "timeline": [ISSUED_FOR_ORDER],
            "shown on parcels": {"phone": None},
        }

        harness.approve(phone)
        harness.run_follow_ups()

        assert observe(harness, order, {"phone": phone}) == {
            "codes": {"phone": code(tracking="TRK-PHONE")},
            "code e-mails": {"phone": 1},
            "e-mails to the customer": 1,
            "timeline": [ISSUED_FOR_ORDER, bound_to(harness.parcel_name(phone))],
            "shown on parcels": {"phone": "active"},
        }

    def test_a_new_tracking_number_is_recorded_on_the_code(self, harness):
        order = harness.place_order([PHONE, CABLE])
        harness.run_follow_ups()
        phone = harness.ship(order, {PHONE.name: 1})
        harness.run_follow_ups()

        harness.set_tracking(phone, "TRK-LATE")
        harness.run_follow_ups()

        assert observe(harness, order, {"phone": phone}) == {
            "codes": {"phone": code(tracking="TRK-LATE")},
            "code e-mails": {"phone": 1},
            "e-mails to the customer": 1,
            "timeline": [ISSUED_FOR_ORDER, bound_to(harness.parcel_name(phone))],
            "shown on parcels": {"phone": "active"},
        }
        # The courier names the parcel by its new tracking number.
        (record,) = current_codes(order)
        result = service.verify(
            service.Lookup(tracking_number="TRK-LATE"),
            service.open_code(record),
            COURIER,
            channels=[harness.channel],
        )
        assert result.accepted

    def test_canceling_a_parcel_revokes_its_code_only(self, harness):
        order = harness.place_order([PHONE, CABLE])
        harness.run_follow_ups()
        phone = harness.ship(order, {PHONE.name: 1}, tracking_number="TRK-PHONE")
        harness.run_follow_ups()
        cable = harness.ship(order, {CABLE.name: 1}, tracking_number="TRK-CABLE")
        harness.run_follow_ups()

        harness.cancel_parcel(phone)
        harness.run_follow_ups()

        name = harness.parcel_name(phone)
        assert observe(harness, order, {"phone": phone, "cable": cable}) == {
            "codes": {
                "phone": code("revoked", tracking="TRK-PHONE", reason="parcel canceled")
            },
            "code e-mails": {"phone": 1},
            "e-mails to the customer": 1,
            "timeline": [ISSUED_FOR_ORDER, bound_to(name), parcel_revoked(name)],
            "shown on parcels": {"phone": "revoked", "cable": None},
        }

    def test_a_full_refund_revokes_every_code_of_the_order(self, harness):
        # Two phones in two parcels: the first takes the order's code, the second
        # gets its own; the cable none.
        order = harness.place_order([Item(PHONE.name, PHONE.unit_price, 2), CABLE])
        harness.run_follow_ups()
        first = harness.ship(order, {PHONE.name: 1}, tracking_number="TRK-1")
        harness.run_follow_ups()
        second = harness.ship(order, {PHONE.name: 1}, tracking_number="TRK-2")
        harness.run_follow_ups()
        cable = harness.ship(order, {CABLE.name: 1}, tracking_number="TRK-3")
        harness.run_follow_ups()
        parcels = {"first phone": first, "second phone": second, "cable": cable}
        timeline = [
            ISSUED_FOR_ORDER,
            bound_to(harness.parcel_name(first)),
            issued_for(harness.parcel_name(second)),
        ]

        assert observe(harness, order, parcels) == {
            "codes": {
                "first phone": code(tracking="TRK-1"),
                "second phone": code(scope="parcel", tracking="TRK-2"),
            },
            "code e-mails": {"first phone": 1, "second phone": 1},
            "e-mails to the customer": 2,
            "timeline": timeline,
            "shown on parcels": {
                "first phone": "active",
                "second phone": "active",
                "cable": None,
            },
        }

        harness.refund(order)
        harness.run_follow_ups()

        refunded = "order fully refunded"
        assert observe(harness, order, parcels) == {
            "codes": {
                "first phone": code("revoked", tracking="TRK-1", reason=refunded),
                "second phone": code(
                    "revoked", scope="parcel", tracking="TRK-2", reason=refunded
                ),
            },
            "code e-mails": {"first phone": 1, "second phone": 1},
            "e-mails to the customer": 2,
            "timeline": [*timeline, "Delivery codes revoked: order fully refunded."],
            "shown on parcels": {
                "first phone": "revoked",
                "second phone": "revoked",
                "cable": None,
            },
        }

    def test_canceling_the_order_revokes_its_code(self, harness):
        order = harness.place_order([PHONE, CABLE])
        harness.run_follow_ups()

        harness.cancel_order(order)
        harness.run_follow_ups()

        assert observe(harness, order, {}) == {
            "codes": {"order": code("revoked", reason="order cancelled")},
            "code e-mails": {"order": 1},
            "e-mails to the customer": 1,
            "timeline": [ISSUED_FOR_ORDER, "Delivery codes revoked: order cancelled."],
            "shown on parcels": {},
        }

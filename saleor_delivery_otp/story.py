"""A purchase walked through the engine, step by step, on sample data.

It plays the host's part itself (orders, lines, parcels live in this module), so it
shows what the engine does and nothing else. Requires :mod:`.standalone` set-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core import mail

from . import policy, service
from .audit import Actor, ActorKind
from .emails.sending import EmailContext
from .models import DeliveryCode
from .rules import CodeRules

CHANNEL = "sandbox-eur"
POLICY = policy.Policy()  # the defaults: a code above 300 EUR per item
RULES = CodeRules(
    length=6,
    max_attempts=5,
    validity=timedelta(days=30),
    resend_cooldown=timedelta(seconds=60),
    resend_daily_cap=5,
)
COURIER = Actor(ActorKind.APP, "courier-app", "Sandbox courier")


@dataclass
class SampleOrder:
    number: str
    email: str
    lines: dict[str, tuple[str, policy.Line]]  # line id -> (product name, facts)
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    parcels: dict[int, list[str]] = field(default_factory=dict)  # id -> line ids
    # The lines an order-level code is for, before any parcel exists.
    qualifying: list[str] = field(default_factory=list)


ORDERS: dict[uuid.UUID, SampleOrder] = {}


def _line(line_id: str, name: str, price: str) -> tuple[str, tuple[str, policy.Line]]:
    return line_id, (name, policy.Line(line_id, Decimal(price), "EUR"))


def email_context(record: DeliveryCode) -> EmailContext:
    order = ORDERS[record.order_id]
    line_ids = order.parcels.get(record.fulfillment_id or 0, order.qualifying)
    return EmailContext(
        recipient=order.email,
        order_reference=order.number,
        order_url=f"http://127.0.0.1:8000/orders/{order.id}",
        item_names=tuple(order.lines[i][0] for i in line_ids),
        shop_name="Sandbox Shop",
    )


@dataclass
class Outcome:
    code_emailed: bool = False
    cable_parcel_needs_code: bool = True
    wrong_code_refused: bool = False
    right_code_accepted: bool = False
    second_use_refused: bool = False
    cheap_order_needs_code: bool = True

    @property
    def as_expected(self) -> bool:
        return (
            self.code_emailed
            and not self.cable_parcel_needs_code
            and self.wrong_code_refused
            and self.right_code_accepted
            and self.second_use_refused
            and not self.cheap_order_needs_code
        )


def play(say: Callable[[str], None]) -> Outcome:
    outcome = Outcome()
    order = SampleOrder(
        "1001",
        "anna@example.com",
        dict(
            [
                _line("phone", "Smartphone X", "349.00"),
                _line("cable", "USB-C cable", "20.00"),
            ]
        ),
    )
    ORDERS[order.id] = order
    facts = [line for _, line in order.lines.values()]

    say("1. Purchase: order 1001, Smartphone X 349.00 EUR + USB-C cable 20.00 EUR")
    decision = policy.order_decision(POLICY, facts)
    say(
        "   policy (a code above 300 EUR per item): "
        f"{'code needed' if decision.required else 'no code'}, "
        f"because of {', '.join(decision.qualifying_line_ids) or 'nothing'}"
    )
    order.qualifying = list(decision.qualifying_line_ids)
    issued = service.issue_for_order(order.id, channel=CHANNEL, rules=RULES)
    service.announce(issued.record, rules=RULES)
    say("2. Order confirmation: the code e-mail goes out (Celery task, id only)")
    if mail.outbox:
        message = mail.outbox[-1]
        outcome.code_emailed = True
        say(f"   To: {message.to[0]}  Subject: {message.subject}")
        for text in message.body.rstrip().splitlines():
            say(f"   | {text}")

    say("3. Shipping in two parcels")
    order.parcels = {1: ["phone"], 2: ["cable"]}
    first = service.issue_for_parcel(
        order.id, 1, channel=CHANNEL, tracking_number="SBX-TRACK-1", rules=RULES
    )
    say(
        "   parcel 1 (Smartphone X, tracking SBX-TRACK-1): "
        + ("takes the order's code" if first.bound else "gets a new code")
    )
    cable = policy.parcel_decision(POLICY, [order.lines["cable"][1]])
    outcome.cable_parcel_needs_code = cable.required
    say(
        "   parcel 2 (USB-C cable, tracking SBX-TRACK-2): "
        + ("needs a code" if cable.required else "needs no code, handed over as usual")
    )

    say("4. The customer opens 'track my package' on the order page")
    for shown in service.reveal(order.id):
        say(
            f"   parcel {shown.record.fulfillment_id}: status {shown.record.status}, "
            f"code {shown.code}, valid until {shown.record.expires_at:%Y-%m-%d}"
        )
    code = service.open_code(first.record)

    say("5. At the door the courier types a wrong code")
    at_door = service.Lookup(tracking_number="SBX-TRACK-1")
    wrong = str((int(code) + 1) % 10**RULES.length).zfill(RULES.length)
    answer = service.verify(at_door, wrong, COURIER, rules=RULES)
    outcome.wrong_code_refused = not answer.accepted
    say(f"   answer: accepted={answer.accepted}, attempts left {answer.attempts_left}")

    say("6. The customer tells the right code")
    answer = service.verify(at_door, code, COURIER, rules=RULES)
    outcome.right_code_accepted = answer.accepted
    say(f"   answer: accepted={answer.accepted}: the parcel is handed over")

    say("7. Someone tries the same code again")
    answer = service.verify(at_door, code, COURIER, rules=RULES)
    outcome.second_use_refused = not answer.accepted
    say(f"   answer: accepted={answer.accepted}: a code works once")

    say("8. Order 1002: headphones 50.00 EUR")
    cheap = policy.order_decision(
        POLICY, [policy.Line("headphones", Decimal("50.00"), "EUR")]
    )
    outcome.cheap_order_needs_code = cheap.required
    say(f"   policy: {'code needed' if cheap.required else 'no code, nothing changes'}")

    say(
        "Story complete: every step as expected."
        if outcome.as_expected
        else "Story FAILED: a step did not go as expected."
    )
    return outcome

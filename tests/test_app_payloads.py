"""The App's readers (saleor_delivery_otp/app/payloads.py) on real payloads.

Every fixture in tests/app_payloads/ is a body Saleor 3.23.28 rendered from the
App's subscription queries (tests/saleor/capture_app_payloads.py) with, beside
it, what the plugin's readers read from Saleor's database for the same objects.
Here the App's readers must read the same from the payload: the proof that both
hosts hand the flows the same order. Lines are compared as a set keyed by their
id (the plugin reads them in primary-key order, the App in Saleor's; no flow
depends on their order), as the capture says.

Then malformed payloads: each raises ``PayloadError``, never a ``KeyError`` or
``TypeError``, whatever field is missing or mistyped.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from saleor_delivery_otp.app import payloads
from saleor_delivery_otp.app.payloads import PayloadError
from saleor_delivery_otp.app.subscriptions import EVENT_TYPENAMES
from saleor_delivery_otp.emails.context import ParcelItem
from saleor_delivery_otp.policy import Line, Policy, ProductFlag, parcel_decision
from saleor_delivery_otp.ports import OrderData, ParcelData
from saleor_delivery_otp.service import Reader

FIXTURES = Path(__file__).resolve().parent / "app_payloads"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def fixture(name: str, **json_options: Any) -> dict[str, Any]:
    text = (FIXTURES / f"{name}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text, **json_options)
    return loaded


def payload(name: str) -> dict[str, Any]:
    body: dict[str, Any] = fixture(name)["payload"]
    return body


def global_id(type_name: str, object_id: object) -> str:
    return base64.b64encode(f"{type_name}:{object_id}".encode()).decode()


# --- the expected blocks as plain data ---------------------------------------------


def _reader(value: dict[str, str] | None) -> Reader | None:
    return None if value is None else Reader(**value)


def _line(value: dict[str, Any]) -> Line:
    return Line(
        line_id=value["line_id"],
        unit_price_gross=Decimal(value["unit_price_gross"]),
        currency=value["currency"],
        quantity=value["quantity"],
        category_slugs=tuple(value["category_slugs"]),
        product_type_slug=value["product_type_slug"],
        flag=ProductFlag(value["flag"]),
        is_shipping_required=value["is_shipping_required"],
    )


def expected_order(value: dict[str, Any]) -> OrderData:
    return OrderData(
        id=uuid.UUID(value["id"]),
        channel_slug=value["channel_slug"],
        currency=value["currency"],
        lines=tuple(_line(line) for line in value["lines"]),
        number=value["number"],
        reader=_reader(value["reader"]),
        is_placed=value["is_placed"],
        sends_confirmation=value["sends_confirmation"],
    )


def expected_parcel(value: dict[str, Any]) -> ParcelData:
    return ParcelData(
        id=value["id"],
        order_id=uuid.UUID(value["order_id"]),
        channel_slug=value["channel_slug"],
        currency=value["currency"],
        is_shipped=value["is_shipped"],
        tracking_number=value["tracking_number"],
        lines=tuple(_line(line) for line in value["lines"]),
        reader=_reader(value["reader"]),
        sends_confirmation=value["sends_confirmation"],
    )


def expected_data(expected: dict[str, Any]) -> OrderData | ParcelData:
    if "order" in expected:
        return expected_order(expected["order"])
    return expected_parcel(expected["parcel"])


def first(pair: tuple[str, Any]) -> str:
    return pair[0]


def by_line_id(data: OrderData | ParcelData) -> OrderData | ParcelData:
    return replace(data, lines=tuple(sorted(data.lines, key=lambda x: x.line_id)))


# --- every fixture -------------------------------------------------------------------


def test_the_fixtures_cover_every_event_and_case():
    events = {fixture(name)["event"] for name in NAMES}

    assert events == set(EVENT_TYPENAMES)
    assert {
        "order_created_guest",
        "order_created_customer",
        "order_created_from_draft",
        "order_created_draft",
        "fulfillment_created_waiting_for_approval",
        "fulfillment_created_with_tracking",
    } <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_the_app_reads_what_the_plugin_reads(name):
    captured = fixture(name)
    expected = captured["expected"]
    body = captured["payload"]

    assert payloads.event_of(body) == captured["event"]
    assert payloads.recipient_id(body) == expected["recipient_id"]
    if captured["event"] == "APP_DELETED":
        assert payloads.deleted_app_id(body) == expected["app_id"]
        return
    flow_event, data = payloads.read(captured["event"], body)
    assert flow_event == expected["flow_event"]
    assert by_line_id(data) == expected_data(expected)


@pytest.mark.parametrize("name", NAMES)
def test_prices_parsed_as_decimals_read_the_same(name):
    """A handler may parse with ``parse_float=Decimal``; plain floats read the
    same (through their shortest repr)."""
    captured = fixture(name, parse_float=Decimal)
    if captured["event"] == "APP_DELETED":
        return
    _, data = payloads.read(captured["event"], captured["payload"])
    assert by_line_id(data) == expected_data(captured["expected"])


@pytest.mark.parametrize(
    "name", [name for name in NAMES if "mail" in fixture(name)["expected"]]
)
def test_the_code_emails_facts_are_the_plugins(name):
    captured = fixture(name)
    expected = captured["expected"]["mail"]

    facts = payloads.mail_facts(captured["payload"])
    facts = replace(facts, items=tuple(sorted(facts.items, key=first)))

    assert facts == payloads.MailFacts(
        order_number=expected["order_number"],
        language_code=expected["language_code"],
        customer_name=expected["customer_name"],
        items=tuple(
            sorted((line_id, ParcelItem(**item)) for line_id, item in expected["items"])
        ),
        parcel_number=expected["parcel_number"],
    )


def test_mail_items_keep_saleors_order_and_sort_the_same():
    facts = payloads.mail_facts(payload("order_created_guest"))

    assert [item for _, item in facts.items] == [
        ParcelItem("Phone X", 1),
        ParcelItem("USB-C cable", 2),
    ]


# --- what the fixtures show, read by the App ------------------------------------------


def test_a_guests_order_is_for_her_address_alone():
    order = payloads.order_data(payload("order_created_guest"))

    assert order.reader == Reader(customer_id="", email="guest@example.com")
    assert order.is_placed and order.sends_confirmation
    assert parcel_decision(Policy(), order.lines).required  # the 349 EUR phone
    (phone,) = (line for line in order.lines if line.unit_price_gross > 300)
    assert phone.category_slugs == ("electronics", "phones")
    assert phone.product_type_slug == "smartphone"
    (cable,) = (line for line in order.lines if line is not phone)
    assert (cable.category_slugs, cable.flag, cable.quantity) == (
        (),
        ProductFlag.NEVER,
        2,
    )


def test_a_customers_order_is_for_her_account():
    order = payloads.order_data(payload("order_created_customer"))

    assert order.reader is not None
    assert order.reader.customer_id == "1"
    assert order.reader.email == "test@example.com"


def test_a_draft_gets_no_code_and_a_completed_draft_no_confirmation():
    draft = payloads.order_data(payload("order_created_draft"))
    completed = payloads.order_data(payload("order_created_from_draft"))

    assert not draft.is_placed and draft.lines == () and draft.reader is None
    assert completed.is_placed and not completed.sends_confirmation
    assert completed.lines


def test_parcels_on_their_way_and_not():
    waiting = payloads.parcel_data(payload("fulfillment_created_waiting_for_approval"))
    approved = payloads.parcel_data(payload("fulfillment_approved"))
    canceled = payloads.parcel_brief(payload("fulfillment_canceled"))
    tracked = payloads.parcel_data(payload("fulfillment_created_with_tracking"))

    assert not waiting.is_shipped and waiting.lines == () and waiting.reader is None
    assert approved.is_shipped and len(approved.lines) == 2
    assert approved.id == waiting.id
    assert not canceled.is_shipped
    assert tracked.tracking_number == "1Z999AA10123456784"
    assert not parcel_decision(Policy(), tracked.lines).required  # cables only
    assert (
        payloads.parcel_brief(payload("fulfillment_tracking_number_updated"))
    ).tracking_number == "JJD000390007827383"


# --- malformed payloads ---------------------------------------------------------------


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and index of a JSON value, depth first."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index)
            yield from _paths(child, (*path, index))


def _parent(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        body = body[step]
    return body


READERS: dict[str, Callable[[Any], Any]] = {
    "ORDER_CREATED": lambda body: (
        payloads.order_data(body),
        payloads.mail_facts(body),
    ),
    "FULFILLMENT_CREATED": lambda body: (
        payloads.parcel_data(body),
        payloads.mail_facts(body),
    ),
    "FULFILLMENT_APPROVED": lambda body: (
        payloads.parcel_data(body),
        payloads.mail_facts(body),
    ),
    "FULFILLMENT_TRACKING_NUMBER_UPDATED": payloads.parcel_brief,
    "FULFILLMENT_CANCELED": payloads.parcel_brief,
    "ORDER_CANCELLED": payloads.order_brief,
    "ORDER_EXPIRED": payloads.order_brief,
    "ORDER_FULLY_REFUNDED": payloads.order_brief,
    "APP_DELETED": payloads.deleted_app_id,
}
WRONG_VALUES = [None, True, -1, 1.5, "", "x", [], {}]


@pytest.mark.parametrize("name", NAMES)
def test_any_field_missing_or_mistyped_is_a_payload_error(name):
    """Delete or replace every field of a real payload, one at a time: the
    readers read it or raise PayloadError, nothing else."""
    captured = fixture(name)
    read = READERS[captured["event"]]
    refused = 0
    for path in _paths(captured["payload"]):
        for change in ["delete", *WRONG_VALUES]:
            body = copy.deepcopy(captured["payload"])
            parent = _parent(body, path)
            if change == "delete":
                if isinstance(parent, list):
                    continue  # a shorter list is still a list
                del parent[path[-1]]
            else:
                parent[path[-1]] = change
            try:
                read(body)
                payloads.recipient_id(body)
                payloads.event_of(body)
            except PayloadError:
                refused += 1
    assert refused > 0


@pytest.mark.parametrize("body", [None, [], "order", 1, {"order": None}, {}])
def test_not_a_payload_at_all(body):
    for read in (
        payloads.order_data,
        payloads.order_brief,
        payloads.parcel_data,
        payloads.parcel_brief,
        payloads.mail_facts,
        payloads.event_of,
        payloads.recipient_id,
        payloads.deleted_app_id,
    ):
        with pytest.raises(PayloadError):
            read(body)


def _with(name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = payload(name)
    change(body)
    return body


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *steps, last = [int(s) if s.isdigit() else s for s in path.split(".")]
        target: Any = body
        for step in steps:
            target = target[step]
        target[last] = value

    return change


FOREIGN_ORDER_ID = str(uuid.UUID(int=7))


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        ("order_created_guest", "order.id", FOREIGN_ORDER_ID, "order.id"),
        ("order_created_guest", "order.id", global_id("User", 1), "Order id"),
        ("order_created_guest", "order.id", global_id("Order", "7"), "Order id"),
        ("order_created_guest", "order.id", "not base64!", "order.id"),
        ("order_created_guest", "order.id", global_id("Order", ""), "Order id"),
        ("order_created_guest", "order.number", "12a", "order.number"),
        ("order_created_guest", "order.status", "draft", "order.status"),
        ("order_created_guest", "order.origin", None, "order.origin"),
        ("order_created_guest", "order.channel.slug", " ", "order.channel.slug"),
        ("order_created_guest", "order.total.currency", "", "order.total.currency"),
        ("order_created_guest", "order.userEmail", 7, "order.userEmail"),
        ("order_created_guest", "order.userEmail", "a" * 300, "order.userEmail"),
        ("order_created_guest", "order.lines", {}, "order.lines"),
        ("order_created_guest", "order.lines.0.quantity", "1", "lines[0].quantity"),
        ("order_created_guest", "order.lines.0.quantity", True, "lines[0].quantity"),
        ("order_created_guest", "order.lines.1.quantity", -1, "lines[1].quantity"),
        (
            "order_created_guest",
            "order.lines.0.id",
            global_id("Order", FOREIGN_ORDER_ID),
            "OrderLine id",
        ),
        (
            "order_created_guest",
            "order.lines.0.unitPrice.gross.amount",
            "349",
            "amount",
        ),
        (
            "order_created_guest",
            "order.lines.0.unitPrice.gross.amount",
            float("nan"),
            "amount",
        ),
        ("order_created_guest", "order.lines.0.unitPrice.gross.amount", -1, "amount"),
        (
            "order_created_guest",
            "order.lines.0.unitPrice.gross.amount",
            False,
            "amount",
        ),
        (
            "order_created_guest",
            "order.lines.0.isShippingRequired",
            "yes",
            "isShippingRequired",
        ),
        (
            "order_created_guest",
            "order.lines.0.variant.product.productType",
            None,
            "productType",
        ),
        (
            "order_created_guest",
            "order.lines.0.variant.product.category.slug",
            "",
            "category.slug",
        ),
        (
            "order_created_guest",
            "order.lines.0.variant.product.category.ancestors.pageInfo.hasNextPage",
            True,
            "cut short",
        ),
        ("order_created_guest", "order.lines.0.variant.product.flag", 1, "flag"),
        ("order_created_customer", "order.user.id", global_id("User", "x1"), "User id"),
        (
            "fulfillment_created",
            "fulfillment.id",
            global_id("Fulfillment", "1.5"),
            "Fulfillment id",
        ),
        ("fulfillment_created", "fulfillment.trackingNumber", None, "trackingNumber"),
        ("fulfillment_created", "fulfillment.lines.0.orderLine", None, "orderLine"),
        ("fulfillment_created", "fulfillment.lines.0.quantity", None, "quantity"),
        ("fulfillment_created", "fulfillment.status", 1, "fulfillment.status"),
    ],
)
def test_a_bad_field_is_named(name, path, value, message):
    captured = fixture(name)
    body = _with(name, _set(path, value))

    with pytest.raises(PayloadError, match=re.escape(message)) as raised:
        READERS[captured["event"]](body)
    # The message names the field, never the value.
    if isinstance(value, str) and len(value) > 3:
        assert value not in str(raised.value)


def test_an_e_mail_is_never_in_a_message():
    body = _with("order_created_guest", _set("order.userEmail", "x\u0000@example.com"))

    with pytest.raises(PayloadError) as raised:
        payloads.order_data(body)
    assert "example.com" not in str(raised.value)


def test_read_checks_the_event_against_the_payloads_own():
    body = payload("order_created_guest")

    assert payloads.read("order_created", body)[0] == "order_created"
    with pytest.raises(PayloadError, match="another event"):
        payloads.read("ORDER_CANCELLED", body)
    with pytest.raises(PayloadError, match="not one the flows run on"):
        payloads.read("APP_DELETED", payload("app_deleted"))
    with pytest.raises(PayloadError, match="not one the flows run on"):
        payloads.read("ORDER_UPDATED", body)
    with pytest.raises(PayloadError, match="__typename"):
        payloads.event_of({**body, "__typename": "OrderUpdated"})
    with pytest.raises(PayloadError, match="recipient"):
        payloads.recipient_id({**body, "recipient": {"id": global_id("User", 1)}})


def test_a_variant_gone_reads_as_the_plugin_reads_it():
    body = _with("order_created_guest", _set("order.lines.0.variant", None))

    (line, _) = payloads.order_data(body).lines

    assert (line.category_slugs, line.product_type_slug, line.flag) == (
        (),
        None,
        ProductFlag.DEFAULT,
    )


@pytest.mark.parametrize(
    ("flag", "read"),
    [
        (" Always ", ProductFlag.ALWAYS),
        ("NEVER", ProductFlag.NEVER),
        ("sometimes", ProductFlag.DEFAULT),
        ("", ProductFlag.DEFAULT),
        (None, ProductFlag.DEFAULT),
    ],
)
def test_the_product_flag_reads_as_the_plugin_reads_it(flag, read):
    body = _with(
        "order_created_guest", _set("order.lines.0.variant.product.flag", flag)
    )

    assert payloads.order_data(body).lines[0].flag is read


def test_an_unknown_status_reads_as_the_plugin_reads_it():
    """A status a newer Saleor adds: placed (not a draft), not shipped."""
    order = payloads.order_data(
        _with("order_created_guest", _set("order.status", "ON_HOLD"))
    )
    parcel = payloads.parcel_data(
        _with("fulfillment_created", _set("fulfillment.status", "IN_TRANSIT"))
    )

    assert order.is_placed and order.lines
    assert not parcel.is_shipped and parcel.lines == ()


def test_the_reader_falls_back_to_the_accounts_e_mail():
    """Saleor's Order.get_customer_email: userEmail, else the account's."""
    body = _with("order_created_customer", _set("order.userEmail", None))

    reader = payloads.order_data(body).reader

    assert reader == Reader(customer_id="1", email="test@example.com")


def test_the_customer_name_falls_back_to_the_billing_address():
    body = _with("order_created_customer", _set("order.user.firstName", ""))

    assert payloads.mail_facts(body).customer_name == "John"
    assert payloads.mail_facts(payload("order_created_guest")).customer_name == "John"
    assert payloads.mail_facts(payload("order_created_customer")).customer_name == (
        "Leslie"
    )

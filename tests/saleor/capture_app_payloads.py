"""The App's webhook payloads, as Saleor 3.23.28 sends them, captured into
``tests/app_payloads/*.json`` with what the plugin reads of the same objects.

Regenerate them from the repository root, in Saleor's virtualenv (``--create-db``
on the first run, ~4 min), then commit the changed files::

    PYTHONPATH=$PWD DATABASE_URL=postgres://postgres@127.0.0.1:5432/saleor \\
      /work/saleor-venv/bin/pytest -c tests/saleor/saleor-tier.ini \\
      tests/saleor/capture_app_payloads.py -q

Named so that the Saleor tier's default collection (``test_*.py``) skips it: a
run of the tier must never rewrite committed files. The tier's
``test_app_payloads_current.py`` plays the same story and fails, with this
command in its message, while a committed fixture differs from what Saleor sends.

The story goes through Saleor's own machinery: an App with MANAGE_ORDERS and one
webhook per entry of ``saleor_delivery_otp.app.subscriptions.WEBHOOKS``, Saleor's
WebhookPlugin, its API (checkoutComplete as a guest and as a customer,
draftOrderCreate and draftOrderComplete as staff, orderFulfill with and without a
tracking number and with approval, orderFulfillmentApprove,
orderFulfillmentUpdateTracking, orderFulfillmentCancel, orderCancel, appDelete),
its expiry task (``expire_orders_task``) and its order-event dispatcher for a
full refund (``call_order_event``, as its refund flows call it). Saleor renders
each payload from our query (``generate_payload_from_subscription``, deferred
payloads in the Celery task as in production; Celery runs eagerly here) and
hands it to ``send_webhook_using_scheme_method``, which this module replaces by a
recorder: what it records is the body Saleor would have posted. Each step asserts
which events Saleor sent; three facts of Saleor 3.23.28 the App must live with:

* a parcel waiting for approval sends no fulfillment event at all (only
  ORDER_UPDATED); its approval sends FULFILLMENT_CREATED, then
  FULFILLMENT_APPROVED;
* the parcel that fulfills the whole order sends FULFILLMENT_APPROVED after its
  FULFILLMENT_CREATED, approval or not; orderFulfill with a tracking number also
  sends FULFILLMENT_TRACKING_NUMBER_UPDATED;
* an unpaid checkout order (the channel allows it) is UNCONFIRMED.

Two payloads Saleor would not send are rendered directly by the same renderer,
for the readers' rules: ``order_created_draft`` (a draft: no ORDER_CREATED) and
``fulfillment_created_waiting_for_approval``.

Each fixture::

    {"event": "ORDER_CREATED", "story": "...", "payload": {...},
     "expected": {"flow_event": ..., "recipient_id": ..., "order" | "parcel":
                  {...}, "mail": {...}, "app_id": ...}}

``expected`` is computed in Saleor from the same objects right after the event:
``order``/``parcel`` by ``saleor_delivery_otp.plugin.readers`` (``order_data`` or
``order_brief``, ``parcel_data`` or ``parcel_brief``, as ``plugin/hooks.py``
picks them for the event, with categories), ``mail`` by the rules and columns of
``saleor_delivery_otp.plugin.mail``. So ``tests/test_app_payloads.py`` proves the
App reads from the payload what the plugin reads from Saleor's database.

Deterministic where Saleor is not: Saleor's ids and order numbers differ from run
to run (random UUIDs, database sequences). The capture renames them, the same way
in the payload and in ``expected`` (global ids re-encoded): orders
``00000000-0000-4000-a000-00000000000N`` and their lines
``00000000-0000-4000-b000-0000000000NN`` in the story's order, fulfillments, the
customer and the App ``1, 2, ...``, order numbers ``1001, 1002, ...``. Three
further normalizations in ``expected``, none of which a flow can see: category
slugs sorted (the plugin reads them in the database's order, the App sorts them),
lines sorted by id (the plugin reads them by primary key, a random UUID order;
the App in Saleor's), and mail items likewise.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import graphene
import pytest
from django.utils import timezone
from prices import Money
from saleor.app.models import App
from saleor.channel import AllocationStrategy
from saleor.channel.models import Channel
from saleor.core import EventDeliveryStatus
from saleor.graphql.webhook.subscription_payload import (
    generate_payload_from_subscription,
    initialize_request,
)
from saleor.order import OrderStatus
from saleor.order.actions import call_order_event
from saleor.order.models import Fulfillment, FulfillmentLine, Order, OrderLine
from saleor.order.tasks import expire_orders_task
from saleor.plugins.manager import get_plugins_manager
from saleor.product.models import Category, ProductType
from saleor.shipping.models import ShippingMethodChannelListing
from saleor.tax.tests.fixtures.utils import create_channel_tax_configuration
from saleor.webhook.event_types import WebhookEventAsyncType
from saleor.webhook.models import Webhook, WebhookEvent
from saleor.webhook.transport.utils import WebhookResponse

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import flows
from saleor_delivery_otp.app.subscriptions import WEBHOOKS
from saleor_delivery_otp.plugin import mail, readers

from .fixtures import _variant, global_id

FIXTURES = Path(__file__).resolve().parent.parent / "app_payloads"
REGENERATE = (
    "PYTHONPATH=$PWD DATABASE_URL=postgres://postgres@127.0.0.1:5432/saleor "
    "/work/saleor-venv/bin/pytest -c tests/saleor/saleor-tier.ini "
    "tests/saleor/capture_app_payloads.py -q"
)
WEBHOOK_PLUGIN = "saleor.plugins.webhook.plugin.WebhookPlugin"
SEND = (
    "saleor.webhook.transport.asynchronous.transport.send_webhook_using_scheme_method"
)

GUEST_EMAIL = "guest@example.com"
DRAFT_EMAIL = "draft@example.com"
TRACKING_ON_FULFILL = "1Z999AA10123456784"
TRACKING_UPDATED = "JJD000390007827383"

# The flow each Saleor event runs in the plugin (plugin/__init__.py's hooks).
FLOW_EVENTS = {
    "ORDER_CREATED": flows.ORDER_CREATED,
    "FULFILLMENT_CREATED": flows.FULFILLMENT_CREATED,
    "FULFILLMENT_APPROVED": flows.FULFILLMENT_APPROVED,
    "FULFILLMENT_TRACKING_NUMBER_UPDATED": flows.TRACKING_NUMBER_UPDATED,
    "FULFILLMENT_CANCELED": flows.FULFILLMENT_CANCELED,
    "ORDER_CANCELLED": flows.ORDER_CANCELLED,
    "ORDER_EXPIRED": flows.ORDER_EXPIRED,
    "ORDER_FULLY_REFUNDED": flows.ORDER_FULLY_REFUNDED,
}

DRAFT_CREATE = """
mutation draft($input: DraftOrderCreateInput!) {
  draftOrderCreate(input: $input) {
    order { id }
    errors { field code message }
  }
}
"""
DRAFT_COMPLETE = """
mutation complete($id: ID!) {
  draftOrderComplete(id: $id) {
    order { id status origin }
    errors { field code message }
  }
}
"""
APPROVE = """
mutation approve($id: ID!) {
  orderFulfillmentApprove(id: $id, notifyCustomer: true) {
    errors { field code message }
  }
}
"""
UPDATE_TRACKING = """
mutation track($id: ID!, $tracking: String) {
  orderFulfillmentUpdateTracking(id: $id, input: {trackingNumber: $tracking}) {
    errors { field code message }
  }
}
"""
CANCEL_FULFILLMENT = """
mutation cancelFulfillment($id: ID!, $warehouseId: ID) {
  orderFulfillmentCancel(id: $id, input: {warehouseId: $warehouseId}) {
    errors { field code message }
  }
}
"""
CANCEL_ORDER = """
mutation cancelOrder($id: ID!) {
  orderCancel(id: $id) {
    errors { field code message }
  }
}
"""
APP_DELETE = """
mutation deleteApp($id: ID!) {
  appDelete(id: $id) {
    errors { field code message }
  }
}
"""


# --- what Saleor sends ----------------------------------------------------------


class Recorder:
    """Stands in for ``send_webhook_using_scheme_method``: keeps each body Saleor
    would post, and answers as a target that took it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(
        self,
        target_url: str,
        domain: str,
        secret: str,
        event_type: str,
        data: bytes,
        *args: Any,
        **kwargs: Any,
    ) -> WebhookResponse:
        self.sent.append((target_url, event_type, json.loads(data)))
        return WebhookResponse(content="", status=EventDeliveryStatus.SUCCESS)

    def take(self) -> dict[str, dict[str, Any]]:
        """The bodies sent since the last call, by event (one each)."""
        found: dict[str, dict[str, Any]] = {}
        for target_url, event_type, body in self.sent:
            event = event_type.upper()
            assert target_url == _target_url(event)
            assert event not in found, f"{event} sent twice"
            found[event] = body
        self.sent = []
        return found


def _target_url(event: str) -> str:
    return f"https://delivery-otp.example.com/api/webhooks/{event.lower()}"


# --- deterministic ids ------------------------------------------------------------

_GLOBAL_ID_TYPES = ("Order", "OrderLine", "Fulfillment", "User", "App")


def _decode_global_id(value: str) -> tuple[str, str] | None:
    try:
        raw = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, object_id = raw.partition(":")
    if not sep or type_name not in _GLOBAL_ID_TYPES:
        return None
    return type_name, object_id


class Renamer:
    """Saleor's ids and numbers to fixed ones, assigned in the story's order."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[str, str]] = {name: {} for name in _GLOBAL_ID_TYPES}
        self.numbers: dict[str, str] = {}

    def order(self, order: Order) -> None:
        orders = self.ids["Order"]
        orders[str(order.pk)] = f"00000000-0000-4000-a000-{len(orders) + 1:012d}"
        self.numbers[str(order.number)] = str(1000 + len(self.numbers) + 1)
        lines = self.ids["OrderLine"]
        for line in OrderLine.objects.filter(order_id=order.pk).order_by(
            "product_name"
        ):
            lines[str(line.pk)] = f"00000000-0000-4000-b000-{len(lines) + 1:012d}"

    def add(self, type_name: str, pk: object) -> None:
        known = self.ids[type_name]
        known.setdefault(str(pk), str(len(known) + 1))

    def _id(self, type_name: str, object_id: str) -> str:
        known = self.ids[type_name]
        assert object_id in known, f"{type_name} {object_id} is not in the story"
        return known[object_id]

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(item, key) for item in value]
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            decoded = _decode_global_id(value)
            if decoded is not None:
                type_name, object_id = decoded
                return graphene.Node.to_global_id(
                    type_name, self._id(type_name, object_id)
                )
            for type_name in ("Order", "OrderLine"):
                if value in self.ids[type_name]:
                    return self.ids[type_name][value]
            if key in ("number", "order_number") and value:
                return self.numbers[value]
            if key == "customer_id" and value:
                return self._id("User", value)
            if key in ("recipient_id", "app_id"):
                return self._id("App", value)
            return value
        if isinstance(value, int):
            if key == "number":
                return int(self.numbers[str(value)])
            if key == "id":  # a parcel's
                return int(self._id("Fulfillment", str(value)))
        return value


# --- what the plugin reads --------------------------------------------------------


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def order_expected(order_pk: Any, *, brief: bool) -> dict[str, Any]:
    order = readers.load_order(order_pk)
    assert order is not None
    if brief:
        return _plain(readers.order_brief(order))
    return _plain(readers.order_data(order, with_categories=True))


def parcel_expected(fulfillment_pk: int, *, brief: bool) -> dict[str, Any]:
    fulfillment = readers.load_fulfillment(fulfillment_pk)
    assert fulfillment is not None
    if brief:
        return _plain(readers.parcel_brief(fulfillment))
    return _plain(readers.parcel_data(fulfillment, with_categories=True))


def mail_expected(order_pk: Any, fulfillment_pk: int | None = None) -> dict[str, Any]:
    """What plugin/mail.py puts in the code e-mail: its customer-name rule, its
    item columns and ``_items``; every line (the plugin then keeps the lines that
    need the code, as the App will)."""
    order = Order.objects.select_related("user", "billing_address").get(pk=order_pk)
    customer = order.user.first_name if order.user_id and order.user else ""
    if not customer and order.billing_address:
        customer = order.billing_address.first_name
    number: int | None = None
    if fulfillment_pk is not None:
        rows = list(
            FulfillmentLine.objects.filter(fulfillment_id=fulfillment_pk)
            .order_by("pk")
            .values_list(
                "order_line_id",
                *(f"order_line__{column}" for column in mail._ITEM_COLUMNS),
                "quantity",
            )
        )
        number = Fulfillment.objects.get(pk=fulfillment_pk).fulfillment_order
    else:
        rows = list(
            OrderLine.objects.filter(order_id=order_pk)
            .order_by("pk")
            .values_list("id", *mail._ITEM_COLUMNS, "quantity")
        )
    items = mail._items(row[1:] for row in rows)
    return {
        "order_number": str(order.number),
        "language_code": order.language_code,
        "customer_name": customer or "",
        "items": [
            [str(row[0]), _plain(item)] for row, item in zip(rows, items, strict=True)
        ],
        "parcel_number": number,
    }


def _sorted_expected(expected: dict[str, Any]) -> dict[str, Any]:
    """Category slugs and lines (and mail items) in a fixed order."""
    for kind in ("order", "parcel"):
        if kind in expected:
            lines = expected[kind]["lines"]
            for line in lines:
                line["category_slugs"] = sorted(line["category_slugs"])
            lines.sort(key=lambda line: line["line_id"])
    if "mail" in expected:
        expected["mail"]["items"].sort(key=lambda item: item[0])
    return expected


# --- the story --------------------------------------------------------------------


@dataclasses.dataclass
class Shop:
    channel: Channel
    app: App
    phone: Any
    cable: Any
    recorder: Recorder
    renamer: Renamer
    # A staff mutation (MANAGE_ORDERS), its on-commit hooks run.
    staff: Callable[[str, dict[str, Any]], dict[str, Any]]
    captured: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def keep(
        self,
        name: str,
        event: str,
        payload: dict[str, Any],
        story: str,
        **expected: Any,
    ) -> None:
        assert name not in self.captured
        assert "errors" not in payload, payload.get("errors")
        block = {"recipient_id": str(self.app.pk), **expected}
        if event in FLOW_EVENTS:
            block = {"flow_event": FLOW_EVENTS[event], **block}
        self.captured[name] = {
            "event": event,
            "story": story,
            "payload": self.renamer(payload),
            "expected": _sorted_expected(self.renamer(block)),
        }


def _pk(type_name: str, value: str) -> str:
    found_type, found_id = graphene.Node.from_global_id(value)
    assert found_type == type_name
    return found_id


@pytest.fixture
def webhook_app(db, permission_manage_orders) -> App:
    """The App as its manifest installs it: MANAGE_ORDERS, one webhook per event
    with our subscription query."""
    app = App.objects.create(
        name="Delivery codes", identifier="saleor.delivery-otp", is_active=True
    )
    app.permissions.add(permission_manage_orders)
    for entry in WEBHOOKS:
        webhook = Webhook.objects.create(
            app=app,
            name=entry.name,
            target_url=_target_url(entry.event),
            subscription_query=entry.query,
            is_active=True,
        )
        WebhookEvent.objects.create(webhook=webhook, event_type=entry.event.lower())
    return app


@pytest.fixture
def eur_channel(db, shipping_zone, warehouse) -> Channel:
    """A channel selling in EUR, shipping from Saleor's test warehouse and zone."""
    channel = Channel.objects.create(
        name="Channel EUR",
        slug="c-eur",
        currency_code="EUR",
        default_country="DE",
        is_active=True,
        allocation_strategy=AllocationStrategy.PRIORITIZE_HIGH_STOCK,
        allow_unpaid_orders=True,
    )
    create_channel_tax_configuration(channel)
    shipping_zone.channels.add(channel)
    ShippingMethodChannelListing.objects.create(
        channel=channel,
        currency=channel.currency_code,
        shipping_method=shipping_zone.shipping_methods.get(),
        minimum_order_price=Money(0, channel.currency_code),
        price=Money(10, channel.currency_code),
    )
    warehouse.channels.add(channel)
    return channel


@pytest.fixture
def app_payloads(
    settings,
    webhook_app,
    eur_channel,
    warehouse,
    default_tax_class,
    address,
    shipping_zone,
    site_settings,
    make_checkout,
    complete_checkout,
    fulfill,
    staff_mutation,
    api_client,
    user_api_client,
    staff_api_client,
    permission_manage_apps,
    django_capture_on_commit_callbacks,
) -> dict[str, dict[str, Any]]:
    """Every fixture of tests/app_payloads/, by file name (without ``.json``)."""
    settings.PLUGINS = [*settings.PLUGINS, WEBHOOK_PLUGIN]
    electronics = Category.objects.create(name="Electronics", slug="electronics")
    phones = Category.objects.create(name="Phones", slug="phones", parent=electronics)
    smartphone = ProductType.objects.create(
        name="Smartphone", slug="smartphone", has_variants=False
    )
    accessory = ProductType.objects.create(
        name="Accessory", slug="accessory", has_variants=False
    )
    kwargs = {
        "channel": eur_channel,
        "warehouses": [warehouse],
        "tax_class": default_tax_class,
    }
    phone = _variant("Phone X", phones, 349, product_type=smartphone, **kwargs)
    # The cable: no category, and the product flag (read, here "never").
    cable = _variant("USB-C cable", None, 20, product_type=accessory, **kwargs)
    cable.product.store_value_in_metadata({c.PRODUCT_FLAG_METADATA_KEY: "never"})
    cable.product.save(update_fields=["metadata"])
    recorder = Recorder()
    shop = Shop(
        eur_channel, webhook_app, phone, cable, recorder, Renamer(), staff_mutation
    )
    shop.renamer.add("App", webhook_app.pk)

    with mock.patch(SEND, new=recorder):
        _guest_story(shop, make_checkout, complete_checkout, api_client, fulfill)
        _customer_story(
            shop,
            make_checkout,
            complete_checkout,
            user_api_client,
            fulfill,
            site_settings,
            django_capture_on_commit_callbacks,
        )
        _draft_story(shop, address, shipping_zone)
        _expired_story(
            shop,
            make_checkout,
            complete_checkout,
            api_client,
            django_capture_on_commit_callbacks,
        )
        staff_api_client.user.user_permissions.add(permission_manage_apps)
        _mutation(shop, APP_DELETE, {"id": global_id("App", webhook_app.pk)})
        sent = recorder.take()
        assert set(sent) == {"APP_DELETED"}
        shop.keep(
            "app_deleted",
            "APP_DELETED",
            sent["APP_DELETED"],
            "appDelete by staff with MANAGE_APPS.",
            app_id=str(webhook_app.pk),
        )
    return shop.captured


def _order_created(shop: Shop, name: str, order: Order, story: str) -> None:
    sent = shop.recorder.take()
    assert set(sent) == {"ORDER_CREATED"}, set(sent)
    shop.renamer.order(order)
    shop.keep(
        name,
        "ORDER_CREATED",
        sent["ORDER_CREATED"],
        story,
        order=order_expected(order.pk, brief=False),
        mail=mail_expected(order.pk),
    )


def _parcel_shipped(
    shop: Shop,
    name: str,
    event: str,
    body: dict[str, Any],
    parcel: Fulfillment,
    story: str,
) -> None:
    shop.renamer.add("Fulfillment", parcel.pk)  # once: setdefault
    shop.keep(
        name,
        event,
        body,
        story,
        parcel=parcel_expected(parcel.pk, brief=False),
        mail=mail_expected(parcel.order_id, parcel.pk),
    )


def _guest_story(
    shop: Shop,
    make_checkout: Callable[..., Any],
    complete_checkout: Callable[..., Order],
    api_client: Any,
    fulfill: Callable[..., list[Fulfillment]],
) -> None:
    checkout = make_checkout(
        shop.channel, [(shop.phone, 1), (shop.cable, 2)], email=GUEST_EMAIL
    )
    order = complete_checkout(checkout, client=api_client)
    _order_created(
        shop,
        "order_created_guest",
        order,
        "A guest's checkoutComplete: a 349 EUR phone (category phones, child of "
        "electronics) and two 20 EUR cables (no category, flagged never). Unpaid "
        "(the channel allows it), so Saleor leaves the order UNCONFIRMED.",
    )

    (first,) = fulfill(order, {shop.phone: 1})
    sent = shop.recorder.take()
    assert set(sent) == {"FULFILLMENT_CREATED"}, set(sent)
    _parcel_shipped(
        shop,
        "fulfillment_created",
        "FULFILLMENT_CREATED",
        sent["FULFILLMENT_CREATED"],
        first,
        "orderFulfill of the guest's phone, approved at once (Saleor's default).",
    )

    (second,) = fulfill(order, {shop.cable: 2}, tracking_number=TRACKING_ON_FULFILL)
    sent = shop.recorder.take()
    # The order is fulfilled now: Saleor sends FULFILLMENT_APPROVED too
    # (saleor/order/actions.py, order_fulfilled), for the same parcel.
    assert set(sent) == {
        "FULFILLMENT_CREATED",
        "FULFILLMENT_TRACKING_NUMBER_UPDATED",
        "FULFILLMENT_APPROVED",
    }, set(sent)
    _parcel_shipped(
        shop,
        "fulfillment_created_with_tracking",
        "FULFILLMENT_CREATED",
        sent["FULFILLMENT_CREATED"],
        second,
        "orderFulfill of the guest's two cables with a tracking number.",
    )
    _parcel_shipped(
        shop,
        "fulfillment_approved_order_fulfilled",
        "FULFILLMENT_APPROVED",
        sent["FULFILLMENT_APPROVED"],
        second,
        "The same orderFulfill: the last parcel fulfills the order, and Saleor "
        "sends FULFILLMENT_APPROVED for it after FULFILLMENT_CREATED.",
    )
    shop.keep(
        "fulfillment_tracking_number_updated_on_fulfill",
        "FULFILLMENT_TRACKING_NUMBER_UPDATED",
        sent["FULFILLMENT_TRACKING_NUMBER_UPDATED"],
        "The same orderFulfill: Saleor also sends the tracking number's event.",
        parcel=parcel_expected(second.pk, brief=True),
    )

    data = _mutation(
        shop,
        UPDATE_TRACKING,
        {"id": global_id("Fulfillment", first.pk), "tracking": TRACKING_UPDATED},
    )
    sent = shop.recorder.take()
    assert set(sent) == {"FULFILLMENT_TRACKING_NUMBER_UPDATED"}, (set(sent), data)
    shop.keep(
        "fulfillment_tracking_number_updated",
        "FULFILLMENT_TRACKING_NUMBER_UPDATED",
        sent["FULFILLMENT_TRACKING_NUMBER_UPDATED"],
        "orderFulfillmentUpdateTracking of the phone's parcel.",
        parcel=parcel_expected(first.pk, brief=True),
    )

    _mutation(
        shop,
        CANCEL_FULFILLMENT,
        {
            "id": global_id("Fulfillment", first.pk),
            "warehouseId": global_id("Warehouse", first.lines.get().stock.warehouse_id),
        },
    )
    sent = shop.recorder.take()
    assert set(sent) == {"FULFILLMENT_CANCELED"}, set(sent)
    shop.keep(
        "fulfillment_canceled",
        "FULFILLMENT_CANCELED",
        sent["FULFILLMENT_CANCELED"],
        "orderFulfillmentCancel of the phone's parcel (it was shipped).",
        parcel=parcel_expected(first.pk, brief=True),
    )


def _render(shop: Shop, event: str, subscribable: Any) -> dict[str, Any]:
    """A payload Saleor would not send, rendered by Saleor's own renderer from
    our query, for the App, as its webhook deliveries are."""
    payload = generate_payload_from_subscription(
        event_type=event.lower(),
        subscribable_object=subscribable,
        subscription_query=webhook(event).query,
        request=initialize_request(app=shop.app, event_type=event.lower()),
    )
    assert payload is not None
    return payload


def webhook(event: str) -> Any:
    (found,) = (entry for entry in WEBHOOKS if entry.event == event)
    return found


def _mutation(shop: Shop, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    data = shop.staff(query, variables)
    (result,) = data.values()
    assert result["errors"] == [], result["errors"]
    return result


def _customer_story(
    shop: Shop,
    make_checkout: Callable[..., Any],
    complete_checkout: Callable[..., Order],
    user_api_client: Any,
    fulfill: Callable[..., list[Fulfillment]],
    site_settings: Any,
    capture_on_commit: Any,
) -> None:
    customer = user_api_client.user
    shop.renamer.add("User", customer.pk)
    checkout = make_checkout(
        shop.channel,
        [(shop.phone, 1), (shop.cable, 1)],
        email=customer.email,
        user=customer,
    )
    order = complete_checkout(checkout, client=user_api_client)
    _order_created(
        shop,
        "order_created_customer",
        order,
        "A customer's checkoutComplete, signed in: the phone and one cable.",
    )

    site_settings.fulfillment_auto_approve = False
    site_settings.save(update_fields=["fulfillment_auto_approve"])
    try:
        (parcel,) = fulfill(order, {shop.phone: 1, shop.cable: 1})
    finally:
        site_settings.fulfillment_auto_approve = True
        site_settings.save(update_fields=["fulfillment_auto_approve"])
    # Saleor 3.23 sends no fulfillment event for a parcel waiting for approval
    # (order_awaits_fulfillment_approval: ORDER_UPDATED only): rendered directly.
    assert shop.recorder.take() == {}
    _parcel_shipped(
        shop,
        "fulfillment_created_waiting_for_approval",
        "FULFILLMENT_CREATED",
        # The object WebhookPlugin.fulfillment_created hands to Saleor's renderer.
        _render(
            shop,
            "FULFILLMENT_CREATED",
            {"notify_customer": True, "fulfillment": parcel},
        ),
        parcel,
        "orderFulfill of the customer's order in a shop that approves "
        "fulfillments: the parcel waits for approval. Saleor sends no event for "
        "it; rendered with the FULFILLMENT_CREATED query by "
        "generate_payload_from_subscription.",
    )

    _mutation(shop, APPROVE, {"id": global_id("Fulfillment", parcel.pk)})
    sent = shop.recorder.take()
    # Approval sends both, as the plugin's hooks are called.
    assert set(sent) == {"FULFILLMENT_CREATED", "FULFILLMENT_APPROVED"}, set(sent)
    _parcel_shipped(
        shop,
        "fulfillment_created_on_approval",
        "FULFILLMENT_CREATED",
        sent["FULFILLMENT_CREATED"],
        parcel,
        "orderFulfillmentApprove of that parcel: Saleor sends FULFILLMENT_CREATED "
        "now, then FULFILLMENT_APPROVED.",
    )
    _parcel_shipped(
        shop,
        "fulfillment_approved",
        "FULFILLMENT_APPROVED",
        sent["FULFILLMENT_APPROVED"],
        parcel,
        "orderFulfillmentApprove of that parcel.",
    )

    manager = get_plugins_manager(allow_replica=False)
    with capture_on_commit(execute=True):
        call_order_event(
            manager,
            WebhookEventAsyncType.ORDER_FULLY_REFUNDED,
            Order.objects.get(pk=order.pk),
        )
    sent = shop.recorder.take()
    assert set(sent) == {"ORDER_FULLY_REFUNDED"}, set(sent)
    shop.keep(
        "order_fully_refunded",
        "ORDER_FULLY_REFUNDED",
        sent["ORDER_FULLY_REFUNDED"],
        "The customer's order fully refunded (Saleor's call_order_event, as its "
        "refund flows call it).",
        order=order_expected(order.pk, brief=True),
    )


def _draft_story(
    shop: Shop,
    address: Any,
    shipping_zone: Any,
) -> None:
    address_input = {
        "firstName": address.first_name,
        "lastName": address.last_name,
        "streetAddress1": address.street_address_1,
        "city": address.city,
        "postalCode": address.postal_code,
        "country": str(address.country),
    }
    result = _mutation(
        shop,
        DRAFT_CREATE,
        {
            "input": {
                "channelId": global_id("Channel", shop.channel.pk),
                "userEmail": DRAFT_EMAIL,
                "lines": [
                    {
                        "variantId": global_id("ProductVariant", shop.phone.pk),
                        "quantity": 1,
                    }
                ],
                "billingAddress": address_input,
                "shippingAddress": address_input,
                "shippingMethod": global_id(
                    "ShippingMethod", shipping_zone.shipping_methods.get().pk
                ),
            }
        },
    )
    order = Order.objects.get(pk=_pk("Order", result["order"]["id"]))
    assert shop.recorder.take() == {}

    # Saleor never sends ORDER_CREATED for a draft: rendered directly.
    shop.renamer.order(order)
    shop.keep(
        "order_created_draft",
        "ORDER_CREATED",
        _render(shop, "ORDER_CREATED", order),
        "Staff's draftOrderCreate, not yet completed, rendered with the "
        "ORDER_CREATED query by generate_payload_from_subscription (Saleor sends "
        "no ORDER_CREATED for a draft).",
        order=order_expected(order.pk, brief=False),
    )

    _mutation(shop, DRAFT_COMPLETE, {"id": global_id("Order", order.pk)})
    sent = shop.recorder.take()
    assert set(sent) == {"ORDER_CREATED"}, set(sent)
    shop.keep(
        "order_created_from_draft",
        "ORDER_CREATED",
        sent["ORDER_CREATED"],
        "Staff's draftOrderComplete of that draft: origin DRAFT, no confirmation.",
        order=order_expected(order.pk, brief=False),
        mail=mail_expected(order.pk),
    )

    _mutation(shop, CANCEL_ORDER, {"id": global_id("Order", order.pk)})
    sent = shop.recorder.take()
    assert set(sent) == {"ORDER_CANCELLED"}, set(sent)
    shop.keep(
        "order_cancelled",
        "ORDER_CANCELLED",
        sent["ORDER_CANCELLED"],
        "orderCancel of the completed draft.",
        order=order_expected(order.pk, brief=True),
    )


def _expired_story(
    shop: Shop,
    make_checkout: Callable[..., Any],
    complete_checkout: Callable[..., Order],
    api_client: Any,
    capture_on_commit: Any,
) -> None:
    channel = shop.channel
    channel.expire_orders_after = 1  # minutes
    channel.save(update_fields=["expire_orders_after"])
    checkout = make_checkout(channel, [(shop.phone, 1)], email=GUEST_EMAIL)
    order = complete_checkout(checkout, client=api_client)
    # Its ORDER_CREATED is order_created_guest's again.
    assert set(shop.recorder.take()) == {"ORDER_CREATED"}
    shop.renamer.order(order)
    assert order.status == OrderStatus.UNCONFIRMED
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    with capture_on_commit(execute=True):
        expire_orders_task()
    sent = shop.recorder.take()
    assert set(sent) == {"ORDER_EXPIRED"}, set(sent)
    shop.keep(
        "order_expired",
        "ORDER_EXPIRED",
        sent["ORDER_EXPIRED"],
        "Saleor's expire_orders_task: a guest's unpaid, unconfirmed order older "
        "than the channel's expire_orders_after.",
        order=order_expected(order.pk, brief=True),
    )


# --- files ------------------------------------------------------------------------


def render(fixture: dict[str, Any]) -> str:
    return json.dumps(fixture, indent=2, ensure_ascii=False) + "\n"


def committed() -> dict[str, str]:
    return {path.stem: path.read_text("utf-8") for path in FIXTURES.glob("*.json")}


def write(captured: dict[str, dict[str, Any]]) -> None:
    FIXTURES.mkdir(exist_ok=True)
    for stale in set(committed()) - set(captured):
        (FIXTURES / f"{stale}.json").unlink()
    for name, fixture in captured.items():
        (FIXTURES / f"{name}.json").write_text(render(fixture), "utf-8")


def test_capture_app_payloads(app_payloads):
    write(app_payloads)
    assert committed() == {name: render(f) for name, f in app_payloads.items()}

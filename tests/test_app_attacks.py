"""Attacks on the Saleor App found by an outside review; each succeeded before
the App took webhooks as notices (reconcile.settle) and settled orders only for
their own installation (host.held_elsewhere in the shared path)."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail
from graphql_relay import to_global_id

from saleor_delivery_otp.app import reconcile
from saleor_delivery_otp.models import CodeStatus, DeliveryCode

from .app_shop import fixture, shops
from .fake_saleor import orders_answer
from .test_app_flow import CODES, ORDER, code_of, codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings, django_capture_on_commit_callbacks):
    with shops(1, settings, django_capture_on_commit_callbacks) as (one,):
        yield one


@pytest.fixture
def two(settings, django_capture_on_commit_callbacks):
    with shops(2, settings, django_capture_on_commit_callbacks) as both:
        yield both


# --- F1: another app of the same Saleor forges any webhook ---------------------------
#
# Saleor signs every app's webhook with the same key (signature_for_payload ->
# JWTManager.jws_encode, no secretKey), and an app writes its own subscription
# query, aliases included. A second app holding MANAGE_ORDERS (a courier
# integration, an ERP) creates a webhook (webhookCreate, AUTHENTICATED_APP) whose
# targetUrl is this App's /api/webhooks and whose query is
#
#   subscription { event { ... on OrderCreated {
#     __typename
#     recipient: order { id: metafield(key: "r") }      # "QXBwOjE=", our App:1
#     order { id number status origin channel { slug } total { currency }
#             userEmail: metafield(key: "e")            # any address
#             user: metafield(key: "none")              # null
#             billingAddress { firstName } languageCodeEnum
#             lines { ... productName: metafield(key: "p") ... } } } } }
#
# Saleor 3.23 accepts it (SubscriptionQuery: valid, events ['order_created']; see
# tests/saleor/test_attack_alias.py) and renders a body whose "recipient.id" is
# whatever the order's metadata says. The body below is that rendering, signed as
# Saleor signs it; the App's only binding of a signed body to itself is
# payloads.recipient_id, so it takes the body as its own.


def forged_order_created(order_id: uuid.UUID | str, email: str, product: str):
    event, payload = fixture("order_created_customer")
    payload["order"]["id"] = (
        order_id if isinstance(order_id, str) else to_global_id("Order", order_id)
    )
    payload["order"]["userEmail"] = email
    payload["order"]["user"] = None
    payload["order"]["lines"][0]["productName"] = product
    return event, payload


def test_f1_a_forged_order_makes_the_app_mail_any_address_with_any_text(shop):
    """Deterministic: an order that does not exist in Saleor, an address of the
    attacker's choosing, text of the attacker's choosing in the shop's e-mail."""
    lure = "Your parcel is held: pay customs at https://evil.example/pay"
    event, payload = forged_order_created(
        uuid.uuid4(), "victim@elsewhere.example", lure
    )

    response = shop.deliver(payload, event, truth=False)

    # Saleor knows no such order: nothing is issued, nothing is sent.
    assert response.status_code == 200
    assert mail.outbox == []
    assert not DeliveryCode.objects.exists()


def test_f1_a_forged_first_event_pins_the_customers_code_to_the_attacker(shop):
    """The forged ORDER_CREATED of the real order 1002 is handled before
    Saleor's own (both are sent for the same event, by separate Celery tasks):
    the order's first code, and every later code of the order (Pin.carried),
    belong to the attacker; the customer never reads one."""
    event, forged = forged_order_created(ORDER, "mallory@example.com", "Phone X")
    shop.deliver(forged, event, truth=False)
    shop.place("order_created_customer")  # Saleor's own delivery: idempotent
    shop.ship("fulfillment_created_on_approval", "fulfillment_approved")

    (record,) = codes(shop)
    mailed_to = [m.to for m in mail.outbox if code_of(record) in m.body]
    shown = shop.graphql(CODES, {"orderId": ORDER}, shop.customer_token())

    assert mailed_to == [["test@example.com"]], mailed_to
    assert shown["data"]["orderDeliveryCodes"][0]["code"] == code_of(record), shown


def test_f1_a_forged_cancel_revokes_a_real_customers_code(shop):
    shop.place("order_created_customer")
    shop.ship("fulfillment_created_on_approval", "fulfillment_approved")
    event, payload = fixture("order_cancelled")
    payload["order"]["id"] = ORDER  # any order of the shop, by id

    shop.deliver(payload, event, truth=False)

    (record,) = codes(shop)
    assert record.status == CodeStatus.ACTIVE, record.status


# --- F2: reconciliation of installation B revokes installation A's codes ------------


def test_f2_bs_reconciliation_revokes_as_code_of_the_same_order_id(two):
    """The webhook route refuses B's events about an order id A holds
    (host.held_elsewhere, test_bs_webhooks_never_touch_as_order_of_the_same_id);
    the periodic reconciliation plays the same flows from B's own Saleor
    without that check, and service.revoke works by order id alone."""
    a, b = two
    a.place("order_created_customer")
    a.ship("fulfillment_created_on_approval", "fulfillment_approved")
    (record,) = codes(a)
    # B's Saleor (its operator controls it) lists an order with A's order id,
    # cancelled, in B's own channel c-eur.
    node = fixture("order_created_customer")[1]["order"]
    node["id"] = ORDER
    node["status"] = "CANCELED"
    node["fulfillments"] = []
    b.saleor.answer = orders_answer(node)

    with b.follow_ups(execute=True):
        reconcile.reconcile(b.installation)

    record.refresh_from_db()
    assert record.status == CodeStatus.ACTIVE, (record.status, record.status_reason)
    assert DeliveryCode.objects.filter(status=CodeStatus.REVOKED).count() == 0


def test_f2_bs_reconciliation_binds_as_order_code_to_a_parcel_of_bs_choosing(two):
    a, b = two
    a.place("order_created_customer")  # A's order code, not bound yet
    (record,) = codes(a)
    node = fixture("order_created_customer")[1]["order"]
    parcel = fixture("fulfillment_approved")[1]["fulfillment"]
    parcel["id"] = to_global_id("Fulfillment", 77)
    parcel["status"] = "FULFILLED"
    node["id"] = ORDER
    node["fulfillments"] = [parcel]
    b.saleor.answer = orders_answer(node)

    with b.follow_ups(execute=True):
        reconcile.reconcile(b.installation)

    record.refresh_from_db()
    written = [(i, v) for _, i, _, v in a.saleor.metadata]
    assert record.fulfillment_id is None, (record.fulfillment_id, written)

"""The plugin inside Saleor: which orders and parcels get codes, through Saleor's API.

Saleor's test channel ``main`` sells in USD, so thresholds here are USD amounts (the
threshold is always in the channel's currency). The catalog: a 350 USD phone and a
50 USD case in category ``phones`` (a child of ``electronics``), a 400 USD book in
``books``.
"""

from __future__ import annotations

import json

import pytest
from django.core import mail
from saleor.app.models import App
from saleor.core.models import EventDelivery
from saleor.order import FulfillmentStatus, OrderEvents, OrderStatus
from saleor.order.models import Fulfillment
from saleor.plugins.manager import get_plugins_manager
from saleor.webhook.event_types import WebhookEventAsyncType
from saleor.webhook.models import Webhook, WebhookEvent
from saleor.webhook.transport.asynchronous.transport import (
    send_webhook_request_async,
)

from saleor_delivery_otp import service
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.constants import FULFILLMENT_STATUS_METADATA_KEY as STATUS_KEY
from saleor_delivery_otp.models import CodeScope, CodeStatus, DeliveryCode
from saleor_delivery_otp.plugin import host as saleor_host

from .fixtures import CUSTOMER_EMAIL, codes_of, global_id

COURIER = Actor(ActorKind.APP, "7", "Courier app")
WEBHOOK_PLUGIN = "saleor.plugins.webhook.plugin.WebhookPlugin"

APPROVE = """
mutation approve($id: ID!) {
  orderFulfillmentApprove(id: $id, notifyCustomer: true) {
    fulfillment { status }
    errors { field code message }
  }
}
"""
UPDATE_TRACKING = """
mutation track($id: ID!, $tracking: String) {
  orderFulfillmentUpdateTracking(id: $id, input: {trackingNumber: $tracking}) {
    fulfillment { trackingNumber }
    errors { field code message }
  }
}
"""
CANCEL_FULFILLMENT = """
mutation cancelFulfillment($id: ID!, $warehouseId: ID) {
  orderFulfillmentCancel(id: $id, input: {warehouseId: $warehouseId}) {
    fulfillment { status }
    errors { field code message }
  }
}
"""
CANCEL_ORDER = """
mutation cancelOrder($id: ID!) {
  orderCancel(id: $id) {
    order { status }
    errors { field code message }
  }
}
"""
DRAFT_COMPLETE = """
mutation draftComplete($id: ID!) {
  draftOrderComplete(id: $id) {
    order { status }
    errors { field code message }
  }
}
"""


@pytest.fixture
def shop(channel_USD, configure_otp):
    """The plugin active in the USD channel: 300 USD, electronics and below."""
    configure_otp(channel_USD, threshold="300", category_slugs="electronics")
    return channel_USD


def timeline(order) -> list[str]:
    return list(
        order.events.filter(type=OrderEvents.EXTERNAL_SERVICE_NOTIFICATION)
        .order_by("date", "pk")
        .values_list("parameters__message", flat=True)
    )


def code_mails(order) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if f"#{order.number}" in m.subject]


# --- checkout ----------------------------------------------------------------------


def test_checkout_of_a_350_usd_phone_issues_one_code_and_emails_it(
    shop, catalog, make_checkout, complete_checkout
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))

    (record,) = codes_of(order)
    assert record.scope == CodeScope.ORDER
    assert record.status == CodeStatus.ACTIVE
    assert record.fulfillment_id is None
    assert record.channel == shop.slug
    code = service.open_code(record)
    (message,) = code_mails(order)
    assert message.to == [CUSTOMER_EMAIL]
    assert code in message.body
    assert "Phone X" in message.body
    entries = timeline(order)
    assert entries == [
        "Delivery code issued and e-mailed to the customer; it will protect the "
        "first parcel that needs one."
    ]
    assert not any(code in entry for entry in entries)


def test_checkout_of_a_50_usd_case_issues_no_code(
    shop, catalog, make_checkout, complete_checkout
):
    order = complete_checkout(make_checkout(shop, [(catalog.case, 3)]))

    assert codes_of(order) == []
    assert code_mails(order) == []
    assert timeline(order) == []


def test_expensive_item_outside_the_categories_needs_no_code(
    shop, catalog, make_checkout, complete_checkout
):
    order = complete_checkout(make_checkout(shop, [(catalog.book, 1)]))

    assert codes_of(order) == []


def test_product_type_scope_and_product_flags(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout
):
    # Scope by product type only: the book's type is listed, so it qualifies; a
    # product flagged "never" is out even above the threshold, one flagged
    # "always" is in even below it.
    product_type = catalog.book.product.product_type
    configure_otp(channel_USD, threshold="300", product_type_slugs=product_type.slug)
    never = catalog.phone.product
    never.store_value_in_metadata({"delivery_otp": "never"})
    never.save(update_fields=["metadata"])
    always = catalog.case.product
    always.store_value_in_metadata({"delivery_otp": "always"})
    always.save(update_fields=["metadata"])

    book_order = complete_checkout(make_checkout(channel_USD, [(catalog.book, 1)]))
    phone_order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))
    case_order = complete_checkout(make_checkout(channel_USD, [(catalog.case, 1)]))

    assert len(codes_of(book_order)) == 1
    assert codes_of(phone_order) == []
    assert len(codes_of(case_order)) == 1


def test_threshold_is_strictly_above_and_in_the_channel_currency(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout
):
    configure_otp(channel_USD, threshold="350")
    at_threshold = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))
    configure_otp(channel_USD, threshold="349.99")
    above = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))

    assert codes_of(at_threshold) == []
    assert len(codes_of(above)) == 1


def test_inactive_channel_issues_nothing(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout
):
    configure_otp(channel_USD, active=False, threshold="0")
    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))

    assert codes_of(order) == []
    assert DeliveryCode.objects.count() == 0


def test_code_length_and_attempts_follow_the_channel(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout
):
    configure_otp(channel_USD, threshold="300", code_length="8", max_attempts="3")
    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))

    (record,) = codes_of(order)
    assert record.length == 8
    assert record.max_attempts == 3
    assert len(service.open_code(record)) == 8


def test_draft_order_completed_by_staff_gets_its_code(
    channel_USD, configure_otp, draft_order, staff_mutation
):
    configure_otp(channel_USD, threshold="15")

    data = staff_mutation(DRAFT_COMPLETE, {"id": global_id("Order", draft_order.pk)})

    assert data["draftOrderComplete"]["errors"] == []
    draft_order.refresh_from_db()
    assert draft_order.status != OrderStatus.DRAFT
    assert len(codes_of(draft_order)) == 1
    assert len(code_mails(draft_order)) == 1


# --- parcels -----------------------------------------------------------------------


def test_two_parcels_first_takes_the_order_code_second_gets_its_own(
    shop, catalog, make_checkout, complete_checkout, fulfill
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 2)]))
    (order_code,) = codes_of(order)
    first_code = service.open_code(order_code)

    (first,) = fulfill(order, {catalog.phone: 1})
    (second,) = fulfill(order, {catalog.phone: 1})

    codes = {record.fulfillment_id: record for record in codes_of(order)}
    assert set(codes) == {first.pk, second.pk}
    assert codes[first.pk].pk == order_code.pk
    assert codes[second.pk].scope == CodeScope.PARCEL
    assert service.open_code(codes[first.pk]) == first_code
    assert service.open_code(codes[second.pk]) != first_code
    # One e-mail per code: the order's (at checkout) and the second parcel's.
    mails = code_mails(order)
    assert len(mails) == 2
    assert service.open_code(codes[second.pk]) in mails[1].body
    for fulfillment in (first, second):
        fulfillment.refresh_from_db()
        assert fulfillment.metadata["delivery_otp_status"] == "active"
        assert codes[fulfillment.pk].expires_at is not None
    entries = timeline(order)
    assert f"The order's delivery code now protects parcel #{order.number}-1." in (
        entries
    )
    assert (
        f"Delivery code issued for parcel #{order.number}-2 and e-mailed to the "
        "customer." in entries
    )
    codes_text = {first_code, service.open_code(codes[second.pk])}
    for text in (*entries, str(first.metadata), str(second.metadata)):
        assert not any(code in text for code in codes_text)


def test_one_fulfill_from_two_warehouses_codes_only_qualifying_parcels(
    shop,
    catalog,
    second_warehouse,
    warehouse,
    make_checkout,
    complete_checkout,
    fulfill,
):
    order = complete_checkout(
        make_checkout(shop, [(catalog.phone, 1), (catalog.case, 1)])
    )

    parcels = fulfill(
        order,
        {catalog.phone: [(warehouse, 1)], catalog.case: [(second_warehouse, 1)]},
    )

    assert len(parcels) == 2
    by_line = {
        parcel.lines.get().order_line.variant_id: parcel.pk for parcel in parcels
    }
    codes = codes_of(order)
    assert [record.fulfillment_id for record in codes] == [by_line[catalog.phone.pk]]
    case_parcel = next(p for p in parcels if p.pk == by_line[catalog.case.pk])
    case_parcel.refresh_from_db()
    assert "delivery_otp_status" not in case_parcel.metadata


def test_same_fulfillment_event_twice_gives_one_code_and_one_email(
    shop,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    django_capture_on_commit_callbacks,
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 2)]))
    fulfill(order, {catalog.phone: 1})
    (second,) = fulfill(order, {catalog.phone: 1})
    mails_before = len(mail.outbox)
    codes_before = [(r.pk, r.status) for r in codes_of(order)]

    manager = get_plugins_manager(allow_replica=False)
    with django_capture_on_commit_callbacks(execute=True):
        manager.fulfillment_created(second)
        manager.fulfillment_approved(second)
    with django_capture_on_commit_callbacks(execute=True):
        manager.fulfillment_created(second)

    assert [(r.pk, r.status) for r in codes_of(order)] == codes_before
    assert len(mail.outbox) == mails_before


def test_parcel_waiting_for_approval_gets_its_code_when_approved(
    shop,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    site_settings,
    staff_mutation,
):
    site_settings.fulfillment_auto_approve = False
    site_settings.save(update_fields=["fulfillment_auto_approve"])
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))

    (parcel,) = fulfill(order, {catalog.phone: 1})

    assert parcel.status == FulfillmentStatus.WAITING_FOR_APPROVAL
    (record,) = codes_of(order)
    assert record.fulfillment_id is None
    assert record.expires_at is None

    data = staff_mutation(APPROVE, {"id": global_id("Fulfillment", parcel.pk)})

    assert data["orderFulfillmentApprove"]["errors"] == []
    (record,) = codes_of(order)
    assert record.fulfillment_id == parcel.pk
    assert record.expires_at is not None
    assert len(code_mails(order)) == 1


def test_tracking_number_lets_the_courier_verify(
    shop, catalog, make_checkout, complete_checkout, fulfill, staff_mutation
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 2)]))
    (first,) = fulfill(order, {catalog.phone: 1}, tracking_number="TRK-FIRST")
    (second,) = fulfill(order, {catalog.phone: 1})

    data = staff_mutation(
        UPDATE_TRACKING,
        {"id": global_id("Fulfillment", second.pk), "tracking": "TRK-SECOND"},
    )

    assert data["orderFulfillmentUpdateTracking"]["errors"] == []
    codes = {record.fulfillment_id: record for record in codes_of(order)}
    assert codes[first.pk].tracking_number == "TRK-FIRST"
    assert codes[second.pk].tracking_number == "TRK-SECOND"
    result = service.verify(
        service.Lookup(tracking_number="TRK-SECOND"),
        service.open_code(codes[second.pk]),
        COURIER,
        channels=[shop.slug],
    )
    assert result.accepted


def test_a_status_written_while_saleor_updates_tracking_survives_its_save(
    shop,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    staff_mutation,
    monkeypatch,
):
    """orderFulfillmentUpdateTracking loads the fulfillment, then saves the whole
    row with the metadata it loaded. A courier's verification whose status lands
    in between must not be taken back."""
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))
    (parcel,) = fulfill(order, {catalog.phone: 1})
    (record,) = codes_of(order)
    assert Fulfillment.objects.get(pk=parcel.pk).metadata[STATUS_KEY] == "active"
    saleor_save = Fulfillment.save

    def verified_between_load_and_save(self, *args, **kwargs):
        # Saleor loaded the row; the follow-up of a verification writes now.
        monkeypatch.setattr(Fulfillment, "save", saleor_save)
        assert service.verify(
            service.Lookup(fulfillment_id=parcel.pk),
            service.open_code(record),
            COURIER,
            channels=[shop.slug],
        ).accepted
        saleor_host.set_parcel_status(parcel.pk, CodeStatus.VERIFIED)
        assert self.metadata[STATUS_KEY] == "active"  # what Saleor is about to save
        return saleor_save(self, *args, **kwargs)

    monkeypatch.setattr(Fulfillment, "save", verified_between_load_and_save)
    data = staff_mutation(
        UPDATE_TRACKING, {"id": global_id("Fulfillment", parcel.pk), "tracking": "T1"}
    )

    assert data["orderFulfillmentUpdateTracking"]["errors"] == []
    parcel.refresh_from_db()
    assert parcel.tracking_number == "T1"
    assert parcel.metadata[STATUS_KEY] == "verified"


@pytest.fixture
def metadata_webhook(settings, permission_manage_orders, monkeypatch):
    """An app that mirrors orders, subscribed to FULFILLMENT_METADATA_UPDATED
    through Saleor's webhook plugin; deliveries are recorded, not sent."""
    settings.PLUGINS = [*settings.PLUGINS, WEBHOOK_PLUGIN]
    mirror = App.objects.create(name="Order mirror", is_active=True)
    mirror.permissions.add(permission_manage_orders)
    webhook = Webhook.objects.create(
        app=mirror, target_url="https://mirror.example.com/hook"
    )
    WebhookEvent.objects.create(
        webhook=webhook, event_type=WebhookEventAsyncType.FULFILLMENT_METADATA_UPDATED
    )
    monkeypatch.setattr(
        send_webhook_request_async, "apply_async", lambda *args, **kwargs: None
    )
    return webhook


def metadata_deliveries(webhook) -> list[dict]:
    return [
        json.loads(delivery.payload.get_payload())
        for delivery in EventDelivery.objects.filter(
            webhook=webhook,
            event_type=WebhookEventAsyncType.FULFILLMENT_METADATA_UPDATED,
        ).order_by("pk")
    ]


def test_each_status_change_is_announced_as_saleors_metadata_event(
    shop,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    metadata_webhook,
    django_capture_on_commit_callbacks,
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))
    (parcel,) = fulfill(order, {catalog.phone: 1})

    (issued,) = metadata_deliveries(metadata_webhook)
    with django_capture_on_commit_callbacks(execute=True):
        saleor_host.set_parcel_status(parcel.pk, CodeStatus.ACTIVE)  # no change
        saleor_host.set_parcel_status(parcel.pk, CodeStatus.VERIFIED)

    first, second = metadata_deliveries(metadata_webhook)
    assert first == issued
    # Saleor's own payload of the event names the object; apps read it after.
    assert [delivery[0]["id"] for delivery in (first, second)] == [
        global_id("Fulfillment", parcel.pk)
    ] * 2
    parcel.refresh_from_db()
    assert parcel.metadata[STATUS_KEY] == "verified"


def test_fulfillment_cancel_revokes_that_parcel_only(
    shop, catalog, make_checkout, complete_checkout, fulfill, staff_mutation, warehouse
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 2)]))
    (first,) = fulfill(order, {catalog.phone: 1})
    (second,) = fulfill(order, {catalog.phone: 1})

    data = staff_mutation(
        CANCEL_FULFILLMENT,
        {
            "id": global_id("Fulfillment", second.pk),
            "warehouseId": global_id("Warehouse", warehouse.pk),
        },
    )

    assert data["orderFulfillmentCancel"]["errors"] == []
    codes = {record.fulfillment_id: record for record in codes_of(order)}
    assert codes[first.pk].status == CodeStatus.ACTIVE
    assert codes[second.pk].status == CodeStatus.REVOKED
    assert codes[second.pk].status_reason == "parcel canceled"
    second.refresh_from_db()
    assert second.metadata["delivery_otp_status"] == "revoked"
    assert (
        f"Delivery code of parcel #{order.number}-2 revoked: parcel canceled."
        in timeline(order)
    )


def test_order_cancel_revokes_the_order_code(
    shop, catalog, make_checkout, complete_checkout, staff_mutation
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))
    (record,) = codes_of(order)

    data = staff_mutation(CANCEL_ORDER, {"id": global_id("Order", order.pk)})

    assert data["orderCancel"]["errors"] == []
    record.refresh_from_db()
    assert record.status == CodeStatus.REVOKED
    assert record.status_reason == "order cancelled"
    assert "Delivery codes revoked: order cancelled." in timeline(order)
    result = service.verify(
        service.Lookup(fulfillment_id=123456), service.open_code(record), COURIER
    )
    assert not result.accepted


def test_full_refund_revokes_every_code_of_the_order(
    shop,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    django_capture_on_commit_callbacks,
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 2)]))
    (first,) = fulfill(order, {catalog.phone: 1})
    fulfill(order, {catalog.phone: 1})

    manager = get_plugins_manager(allow_replica=False)
    with django_capture_on_commit_callbacks(execute=True):
        manager.order_fully_refunded(order)

    assert {record.status for record in codes_of(order)} == {CodeStatus.REVOKED}
    first.refresh_from_db()
    assert first.metadata["delivery_otp_status"] == "revoked"
    assert "Delivery codes revoked: order fully refunded." in timeline(order)

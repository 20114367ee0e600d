"""Issuing codes for orders and parcels; binding; idempotency (security bar row 22)."""

import uuid

import pytest

from saleor_delivery_otp import service
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.codes import Keyring
from saleor_delivery_otp.exceptions import InvalidInput
from saleor_delivery_otp.models import CodeEvent, CodeScope, CodeStatus, DeliveryCode

pytestmark = pytest.mark.django_db


def test_order_code_is_issued_once_however_often_asked(order_id, limits):
    first = service.issue_for_order(order_id, channel="eu", limits=limits)
    again = service.issue_for_order(order_id, channel="eu", limits=limits)

    assert first.created and not again.created
    assert again.record.pk == first.record.pk
    assert DeliveryCode.objects.filter(order_id=order_id).count() == 1
    assert first.record.expires_at is None  # the clock starts at shipment


def test_first_parcel_takes_the_order_code_and_later_parcels_get_their_own(
    order_id, limits
):
    order_code = service.issue_for_order(order_id, channel="eu", limits=limits).record

    first = service.issue_for_parcel(
        order_id, 1, channel="eu", tracking_number="TRK1", limits=limits
    )
    second = service.issue_for_parcel(order_id, 2, channel="eu", limits=limits)

    assert first.bound and not first.created
    assert first.record.pk == order_code.pk
    assert first.record.fulfillment_id == 1
    assert first.record.tracking_number == "TRK1"
    assert first.record.expires_at == first.record.shipped_at + limits.validity
    assert second.created and second.record.scope == CodeScope.PARCEL
    assert second.record.pk != first.record.pk
    assert DeliveryCode.objects.filter(order_id=order_id).count() == 2


def test_same_parcel_event_twice_gives_one_code(order_id, limits):
    first = service.issue_for_parcel(order_id, 7, channel="eu", limits=limits)
    again = service.issue_for_parcel(order_id, 7, channel="eu", limits=limits)

    assert first.created
    assert not again.created and not again.bound
    assert again.record.pk == first.record.pk
    assert service.open_code(again.record) == service.open_code(first.record)
    assert DeliveryCode.objects.filter(fulfillment_id=7).count() == 1


def test_issued_code_has_configured_length_and_limit(order_id, limits):
    from dataclasses import replace

    record = service.issue_for_order(
        order_id, channel="eu", limits=replace(limits, length=8, max_attempts=3)
    ).record

    assert len(service.open_code(record)) == 8
    assert record.max_attempts == 3
    assert record.status == CodeStatus.ACTIVE


def test_tracking_number_update_is_recorded(order_id, limits):
    record = service.issue_for_parcel(order_id, 9, channel="eu", limits=limits).record

    assert service.record_tracking(9, "  JD014600006281  ") == 1

    record.refresh_from_db()
    assert record.tracking_number == "JD014600006281"
    assert CodeEvent.objects.filter(
        delivery_code=record, type="tracking_updated"
    ).exists()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: service.issue_for_order("not-a-uuid", channel="eu"), "order_id"),
        (lambda: service.issue_for_order(None, channel="eu"), "order_id"),
        (lambda: service.issue_for_order(uuid.uuid4(), channel=""), "channel"),
        (lambda: service.issue_for_order(uuid.uuid4(), channel="x" * 300), "channel"),
        (
            lambda: service.issue_for_parcel(uuid.uuid4(), -1, channel="eu"),
            "fulfillment_id",
        ),
        (
            lambda: service.issue_for_parcel(uuid.uuid4(), "1e9", channel="eu"),
            "fulfillment_id",
        ),
        (
            lambda: service.issue_for_parcel(uuid.uuid4(), True, channel="eu"),
            "fulfillment_id",
        ),
        (
            lambda: service.issue_for_parcel(uuid.uuid4(), 2**64, channel="eu"),
            "fulfillment_id",
        ),
        (
            lambda: service.issue_for_parcel(
                uuid.uuid4(), 1, channel="eu", tracking_number="a\x00b"
            ),
            "tracking_number",
        ),
        (lambda: service.record_tracking(1, "t" * 256), "tracking_number"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(call, field):
    with pytest.raises(InvalidInput) as error:
        call()

    assert error.value.field == field
    assert DeliveryCode.objects.count() == 0
    assert CodeEvent.objects.count() == 0


SERVER_KEY = "test-key-0123456789abcdef0123456789abcdef"  # tests/settings.py
CHANNEL_KEY = "channel-key-0123456789abcdef0123456789abcdef"


def test_a_later_parcel_keeps_the_mailbox_pin_when_its_channel_changed_keys(
    order_id, limits, settings
):
    """The first code is under the server's key; the channel then issues under a
    key set of its own, which does not hold the old key. The new parcel's code is
    still pinned to the customer's mailbox (under the new key), not to none."""
    anna = service.Reader(customer_id="7", email="anna@example.com")
    first = service.issue_for_parcel(
        order_id, 3001, channel="eu", reader=anna, limits=limits
    ).record
    # Every key a code may be under stays readable (in Saleor: the server's keys
    # and every key set); the channel now issues under its own.
    settings.DELIVERY_OTP_KEYS = [CHANNEL_KEY, SERVER_KEY]
    channel = Keyring([CHANNEL_KEY])

    second = service.issue_for_parcel(
        order_id, 3002, channel="eu", reader=anna, limits=limits, keyring=channel
    ).record

    assert second.key_id != first.key_id
    assert second.recipient_digest == channel.recipient_digest("anna@example.com")
    assert service.is_pinned_to(second, "anna@example.com", channel)


def test_the_same_fulfillment_id_in_two_channels_is_two_parcels(limits):
    """A host serving several Saleor installations (the App) names their channels
    apart; fulfillment ids repeat across installations. Each parcel keeps its own
    code, its repeat answers with its own, and a tracking number or a verify in
    one channel never touches the other's."""
    shop_a, shop_b = uuid.uuid4(), uuid.uuid4()
    in_a = service.issue_for_parcel(shop_a, 42, channel="a:eu", limits=limits)
    in_b = service.issue_for_parcel(shop_b, 42, channel="b:eu", limits=limits)
    again_b = service.issue_for_parcel(shop_b, 42, channel="b:eu", limits=limits)

    assert in_a.created and in_b.created and not again_b.created
    assert in_a.record.pk != in_b.record.pk
    assert again_b.record.pk == in_b.record.pk

    assert service.record_tracking(42, "TRK-B", channel="b:eu") == 1
    in_a.record.refresh_from_db()
    assert in_a.record.tracking_number == ""

    result = service.verify(
        service.Lookup(fulfillment_id=42),
        service.open_code(in_b.record),
        Actor(ActorKind.APP, "17"),
        channels=("a:eu",),
        limits=limits,
    )
    assert not result.accepted
    in_b.record.refresh_from_db()
    assert in_b.record.status == CodeStatus.ACTIVE

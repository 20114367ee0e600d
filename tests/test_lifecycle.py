"""Resend limits (row 16), staff actions, expiry and revocation, with their audit."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from saleor_delivery_otp import flows, service, tasks
from saleor_delivery_otp.exceptions import (
    InvalidInput,
    InvalidState,
    NotFound,
    RateLimited,
)
from saleor_delivery_otp.models import CodeEvent, CodeStatus, DeliveryCode, EventType
from saleor_delivery_otp.service import Lookup

from .conftest import COURIER, STAFF, wrong_code

pytestmark = pytest.mark.django_db


def delivered_at_once(sent):
    """Stands in for the broker and the worker: records the id and, as the task
    does once the message is out, clears the e-mail's due mark."""

    def schedule(record):
        sent.append(record.pk)
        DeliveryCode.objects.filter(pk=record.pk).update(email_due_at=None)

    return schedule


@pytest.fixture
def queued(monkeypatch):
    """The e-mails the engine queues (record ids), instead of a broker."""
    sent = []
    monkeypatch.setattr(tasks, "schedule_email", delivered_at_once(sent))
    return sent


def lock(parcels, record):
    code = parcels.code_of(record)
    for _ in range(record.max_attempts):
        service.verify(
            Lookup(fulfillment_id=record.fulfillment_id), wrong_code(code), COURIER
        )
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED


def test_ten_rapid_resends_queue_one_email(parcels, queued):
    record = parcels.ship()
    outcomes = []
    for _ in range(10):
        try:
            flows.resend(record.pk, limits=parcels.limits)
            outcomes.append("queued")
        except RateLimited as limited:
            outcomes.append(limited.retry_after)

    assert queued == [record.pk]
    assert outcomes[0] == "queued"
    assert all(1 <= wait <= 60 for wait in outcomes[1:])


def test_resend_cooldown_then_daily_cap(parcels, queued):
    record = parcels.ship()
    start = timezone.now().replace(hour=8, minute=0, second=0, microsecond=0)

    for minute in range(5):
        flows.resend(
            record.pk, limits=parcels.limits, now=start + timedelta(minutes=2 * minute)
        )
    with pytest.raises(RateLimited) as capped:
        flows.resend(record.pk, limits=parcels.limits, now=start + timedelta(hours=1))
    next_day = start + timedelta(days=1)
    flows.resend(record.pk, limits=parcels.limits, now=next_day)

    assert len(queued) == 6
    # The cap lifts at midnight UTC: from 09:00 that is 15 hours away.
    assert capped.value.retry_after == 15 * 3600


def test_first_email_counts_towards_the_cooldown(parcels, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks, "schedule_email", delivered_at_once(sent))
    record = parcels.ship()
    flows.announce(record, limits=parcels.limits)

    with pytest.raises(RateLimited):
        flows.resend(record.pk, limits=parcels.limits)
    assert sent == [record.pk]
    assert CodeEvent.objects.filter(type=EventType.EMAIL_QUEUED).count() == 1


def test_no_resend_of_a_used_code(parcels, queued):
    record = parcels.ship()
    service.verify(
        Lookup(fulfillment_id=record.fulfillment_id), parcels.code_of(record), COURIER
    )

    with pytest.raises(InvalidState):
        flows.resend(record.pk, limits=parcels.limits)
    assert queued == []


def test_resend_of_unknown_code():
    with pytest.raises(NotFound):
        flows.resend(uuid.uuid4())
    with pytest.raises(InvalidInput):
        flows.resend("1; DROP TABLE x")


def test_staff_unlock_gives_attempts_back_and_is_audited(parcels):
    record = parcels.ship()
    lock(parcels, record)

    service.unlock(record.pk, actor=STAFF, reason="Customer called, identity checked")

    record.refresh_from_db()
    assert record.status == CodeStatus.ACTIVE and record.attempts == 0
    assert service.verify(
        Lookup(fulfillment_id=record.fulfillment_id), parcels.code_of(record), COURIER
    ).accepted
    event = CodeEvent.objects.get(type=EventType.UNLOCKED)
    assert (event.actor, event.note) == ("staff:5", "Customer called, identity checked")


def test_unlock_needs_a_locked_code_and_a_reason(parcels):
    record = parcels.ship()
    with pytest.raises(InvalidState):
        service.unlock(record.pk, actor=STAFF, reason="why not")
    lock(parcels, record)
    for reason in ("", "   ", "x" * 501, None):
        with pytest.raises(InvalidInput):
            service.unlock(record.pk, actor=STAFF, reason=reason)
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED


def test_handover_without_code_is_recorded_with_reason(parcels):
    record = parcels.ship()
    lock(parcels, record)

    service.handover_without_code(
        record.pk, actor=STAFF, reason="ID card checked at depot"
    )

    record.refresh_from_db()
    assert record.status == CodeStatus.VERIFIED
    assert record.verified_by == "staff:5"
    assert record.status_reason == "ID card checked at depot"
    assert CodeEvent.objects.filter(
        type=EventType.HANDOVER_WITHOUT_CODE, note="ID card checked at depot"
    ).exists()
    with pytest.raises(InvalidState):
        service.handover_without_code(record.pk, actor=STAFF, reason="again")


def test_handover_without_code_needs_a_parcel(order_id, limits):
    record = service.issue_for_order(order_id, channel="eu", limits=limits).record
    with pytest.raises(InvalidState):
        service.handover_without_code(record.pk, actor=STAFF, reason="no parcel yet")


def test_regenerate_refuses_used_and_revoked_codes(parcels):
    used = parcels.ship()
    service.verify(
        Lookup(fulfillment_id=used.fulfillment_id), parcels.code_of(used), COURIER
    )
    revoked = parcels.ship()
    service.revoke(revoked.order_id, reason="cancelled")

    for record in (used, revoked):
        with pytest.raises(InvalidState):
            service.regenerate(record.pk, actor=STAFF)
    assert DeliveryCode.objects.count() == 2


def test_regenerating_an_expired_code_restarts_its_validity(parcels):
    record = parcels.ship()
    later = record.expires_at + timedelta(days=2)
    with freeze_time(later):
        assert service.expire_due() == 1
        new = service.regenerate(record.pk, actor=STAFF, limits=parcels.limits)

    assert new.status == CodeStatus.ACTIVE
    assert new.expires_at == later + parcels.limits.validity


def test_expire_due_retires_only_codes_past_their_time(parcels, order_id, limits):
    soon = parcels.ship()
    unbound = service.issue_for_order(order_id, channel="eu", limits=limits).record

    with freeze_time(soon.expires_at - timedelta(seconds=1)):
        assert service.expire_due() == 0
    with freeze_time(soon.expires_at + timedelta(seconds=1)):
        assert service.expire_due(batch_size=1) == 1

    soon.refresh_from_db()
    unbound.refresh_from_db()
    assert soon.status == CodeStatus.EXPIRED
    assert unbound.status == CodeStatus.ACTIVE
    assert CodeEvent.objects.filter(type=EventType.EXPIRED).count() == 1


def test_reveal_shows_only_usable_codes(parcels, order_id):
    shipped = parcels.ship(order_id)
    used = parcels.ship(order_id)
    service.verify(
        Lookup(fulfillment_id=used.fulfillment_id), parcels.code_of(used), COURIER
    )

    revealed = {r.record.pk: r.code for r in service.reveal(order_id)}

    assert revealed == {shipped.pk: parcels.code_of(shipped), used.pk: None}
    with freeze_time(shipped.expires_at):
        assert all(r.code is None for r in service.reveal(order_id))


def test_revoke_of_an_order_reaches_its_unbound_code(order_id, limits):
    record = service.issue_for_order(order_id, channel="eu", limits=limits).record

    assert service.revoke(order_id, reason="order cancelled") == 1
    assert service.revoke(order_id, reason="order cancelled") == 0

    record.refresh_from_db()
    assert record.status == CodeStatus.REVOKED
    assert record.status_reason == "order cancelled"
    assert service.reveal(order_id)[0].code is None

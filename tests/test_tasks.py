"""The Celery tasks on a real Redis broker and an in-process worker, and the
e-mail outbox when that broker refuses tasks."""

import json
import logging
import time
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish
from django.core import mail
from django.db import transaction
from django.db.models import F
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time
from graphene import relay
from kombu import Producer
from kombu.asynchronous import set_event_loop
from kombu.exceptions import OperationalError

from saleor_delivery_otp import flows, service, tasks
from saleor_delivery_otp.exceptions import RateLimited
from saleor_delivery_otp.models import CodeEvent, CodeStatus, DeliveryCode, EventType

from .celery_app import app
from .graphql_host import HOST
from .hosts import CUSTOMER_EMAIL

pytestmark = pytest.mark.django_db(transaction=True)

FAILURES_BEFORE_SUCCESS = {"left": 0}


def flaky_sender(record, code):
    """Fails like an SMTP server that is down, then delivers."""
    if FAILURES_BEFORE_SUCCESS["left"] > 0:
        FAILURES_BEFORE_SUCCESS["left"] -= 1
        raise ConnectionRefusedError("SMTP server down")
    from saleor_delivery_otp.emails.sending import send_code_email

    send_code_email(record, code)


@pytest.fixture(scope="module")
def worker(django_db_setup):
    """One worker for the module. Celery's test worker reuses kombu's process-wide
    event loop: a second worker in the same process inherits the first one's loop
    and timer, and its retry countdowns never fire, so the loop is reset around it."""
    app.control.purge()
    set_event_loop(None)
    with (
        override_settings(DELIVERY_OTP_EMAIL_SENDER="tests.test_tasks.flaky_sender"),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        yield
    set_event_loop(None)


@pytest.fixture
def published():
    bodies = []

    def record(sender=None, body=None, **kwargs):
        bodies.append((sender, body))

    before_task_publish.connect(record, weak=False)
    yield bodies
    before_task_publish.disconnect(record)


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_code_email_goes_through_the_broker_with_the_id_only(
    parcels, worker, published
):
    FAILURES_BEFORE_SUCCESS["left"] = 0
    record = parcels.ship()
    code = parcels.code_of(record)

    with transaction.atomic():
        flows.announce(record, limits=parcels.limits)
        assert published == []  # queued only once the transaction commits

    assert wait_for(lambda: len(mail.outbox) == 1)
    assert code in mail.outbox[0].body
    assert mail.outbox[0].to == ["customer@example.com"]
    ((task_name, body),) = published
    assert task_name == "saleor_delivery_otp.send_code_email"
    args, kwargs, _ = body
    assert list(args) == [str(record.pk)] and kwargs == {"only_if_due": True}
    assert code not in repr(body)


def test_failed_email_is_retried_and_arrives_once(parcels, worker):
    FAILURES_BEFORE_SUCCESS["left"] = 2
    record = parcels.ship()

    flows.announce(record, limits=parcels.limits)

    assert wait_for(
        lambda: CodeEvent.objects.filter(
            delivery_code=record, type=EventType.EMAIL_SENT
        ).exists()
    )
    assert FAILURES_BEFORE_SUCCESS["left"] == 0
    assert len(mail.outbox) == 1


def test_email_of_a_code_revoked_meanwhile_is_not_sent(parcels, worker):
    FAILURES_BEFORE_SUCCESS["left"] = 0
    revoked = parcels.ship()
    service.revoke(revoked.order_id, reason="cancelled")
    live = parcels.ship()

    tasks.send_code_email_task.delay(str(revoked.pk))
    tasks.send_code_email_task.delay(str(live.pk))

    # The solo worker runs tasks in order: once the second mail is out, the first
    # task has run too.
    assert wait_for(lambda: len(mail.outbox) == 1)
    assert parcels.code_of(live) in mail.outbox[0].body
    assert not CodeEvent.objects.filter(
        delivery_code=revoked, type=EventType.EMAIL_SENT
    ).exists()


def test_expiry_task_retires_due_codes(parcels):
    record = parcels.ship()

    with freeze_time(record.expires_at + timezone.timedelta(minutes=1)):
        assert tasks.expire_codes_task.apply().get() == 1

    record.refresh_from_db()
    assert record.status == CodeStatus.EXPIRED


# --- the outbox: a broker that refuses tasks ----------------------------------------


@contextmanager
def broker_down():
    """Every publish fails as kombu fails when Redis refuses connections."""

    def refuse(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379.")

    with mock.patch.object(Producer, "publish", refuse):
        yield


def three_minutes_pass(record):
    """Moves the code's due mark back: what the outbox sees three minutes later."""
    DeliveryCode.objects.filter(pk=record.pk).update(
        email_due_at=F("email_due_at") - timedelta(minutes=3)
    )


def emails_with(code):
    return [message for message in mail.outbox if code in message.body]


def test_first_email_refused_by_the_broker_is_sent_by_the_outbox_once(
    parcels, worker, caplog
):
    caplog.set_level(logging.WARNING)
    FAILURES_BEFORE_SUCCESS["left"] = 0
    record = parcels.ship()
    code = parcels.code_of(record)

    with broker_down():
        flows.announce(record, limits=parcels.limits)  # does not raise

    record.refresh_from_db()
    assert record.email_due_at is not None and record.sends_that_day == 1
    assert (
        f"Delivery code e-mail for {record.pk} not queued (OperationalError); "
        "the outbox will send it." in caplog.messages
    )
    # Within the grace period the outbox leaves it alone.
    assert tasks.send_due_emails_task.apply().get() == 0

    three_minutes_pass(record)
    assert tasks.send_due_emails_task.apply().get() == 1

    assert wait_for(lambda: len(emails_with(code)) == 1)
    assert wait_for(lambda: DeliveryCode.objects.get(pk=record.pk).email_due_at is None)
    assert tasks.send_due_emails_task.apply().get() == 0
    time.sleep(0.5)  # room for a duplicate to show up
    assert len(mail.outbox) == 1
    record.refresh_from_db()
    assert record.sends_that_day == 1


def test_resend_with_the_broker_down_counts_once_and_the_outbox_delivers(
    parcels, worker
):
    FAILURES_BEFORE_SUCCESS["left"] = 0
    record = parcels.ship()
    code = parcels.code_of(record)
    later = timezone.now() + timedelta(minutes=5)

    with broker_down():
        flows.resend(record.pk, limits=parcels.limits)
        # After the cooldown, but the first e-mail is still owed: not a second send.
        with pytest.raises(RateLimited) as on_its_way:
            flows.resend(record.pk, limits=parcels.limits, now=later)

    assert "on its way" in on_its_way.value.message
    record.refresh_from_db()
    assert record.sends_that_day == 1
    assert (
        CodeEvent.objects.filter(delivery_code=record, type=EventType.EMAIL_QUEUED)
    ).count() == 1

    three_minutes_pass(record)
    assert tasks.send_due_emails_task.apply().get() == 1
    assert wait_for(lambda: len(emails_with(code)) == 1)
    assert wait_for(lambda: DeliveryCode.objects.get(pk=record.pk).email_due_at is None)
    # Delivered: once the cooldown is over the customer may ask again.
    flows.resend(record.pk, limits=parcels.limits, now=later)
    assert wait_for(lambda: len(emails_with(code)) == 2)


def test_regenerate_with_the_broker_down_answers_truthfully(client, parcels, worker):
    FAILURES_BEFORE_SUCCESS["left"] = 0
    HOST.orders.clear()
    # The address the e-mails go to (tests/hosts.py), so the new code, pinned to
    # the order's current address, is sent.
    order = HOST.add_order(email=CUSTOMER_EMAIL)
    old = parcels.ship(order.id, channel="eu")

    with broker_down():
        answer = client.post(
            "/plugins/global/graphql/",
            data=json.dumps(
                {
                    "query": "mutation($id: ID!) { deliveryCodeRegenerate(id: $id) "
                    "{ deliveryCode { id status } errors { code message } } }",
                    "variables": {
                        "id": relay.Node.to_global_id("DeliveryCode", old.pk)
                    },
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer staff-token",
        )

    assert answer.status_code == 200
    body = answer.json()
    assert "errors" not in body, body
    assert body["data"]["deliveryCodeRegenerate"]["errors"] == []
    assert body["data"]["deliveryCodeRegenerate"]["deliveryCode"]["status"] == "ACTIVE"
    new = DeliveryCode.objects.get(
        fulfillment_id=old.fulfillment_id, status=CodeStatus.ACTIVE
    )
    assert new.email_due_at is not None and new.sends_that_day == 1

    three_minutes_pass(new)
    assert tasks.send_due_emails_task.apply().get() == 1
    assert wait_for(lambda: len(emails_with(parcels.code_of(new))) == 1)
    assert emails_with(parcels.code_of(old)) == []


def test_an_api_timeline_task_queued_by_the_previous_version_still_writes(parcels):
    """Tasks sit in the broker across a deploy: one queued with the four arguments
    of the previous version finds the order's channel on its codes."""
    from tests import hosts

    record = parcels.ship()
    hosts.TIMELINE.clear()
    hosts.STATUSES.clear()

    ran = flows.api_timeline_task.apply(
        args=(
            str(record.order_id),
            "Delivery code unlocked: customer called.",
            "staff",
            "5",
        )
    )

    assert ran.successful() and ran.result is True
    assert [
        (
            str(record.order_id),
            record.channel,
            flows.API_EVENT,
            "Delivery code unlocked: customer called.",
        )
    ] == hosts.TIMELINE
    assert {record.fulfillment_id: record.status} == hosts.STATUSES

"""The e-mail outbox (``DeliveryCode.email_due_at``): a send decided is owed until
it is delivered, whatever the broker does. The tasks run eagerly here; tests/
test_tasks.py runs the same paths through a real broker and worker."""

import json
import logging
import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from graphene import relay
from kombu import Producer
from kombu.exceptions import OperationalError

from saleor_delivery_otp import flows, service, tasks
from saleor_delivery_otp.conf import settings as otp_settings
from saleor_delivery_otp.models import CodeEvent, CodeStatus, DeliveryCode, EventType
from saleor_delivery_otp.service import IssueResult, Lookup

from .conftest import COURIER
from .graphql_host import HOST

pytestmark = pytest.mark.django_db

GRACE = timedelta(minutes=2)
SEND = {"only_if_due": True}  # how the engine and the outbox queue the task


def refuse(self, *args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379.")


@pytest.fixture
def broker_down():
    with mock.patch.object(Producer, "publish", refuse):
        yield


def due_at(record):
    return DeliveryCode.objects.values_list("email_due_at", flat=True).get(pk=record.pk)


def send(record):
    return tasks.send_code_email_task.apply(args=[str(record.pk)], kwargs=SEND)


# --- answering the caller truthfully ---------------------------------------------


def test_resend_with_the_broker_down_answers_success_not_a_server_error(
    client, parcels, broker_down, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING)
    HOST.orders.clear()
    order = HOST.add_order()
    record = parcels.ship(
        order.id,
        channel="eu",
        reader=service.Reader(customer_id=order.user_id, email=order.email),
    )
    resend = json.dumps(
        {
            "query": "mutation($id: ID!) { deliveryCodeResend(id: $id) "
            "{ deliveryCode { status } errors { code message retryAfter } } }",
            "variables": {"id": relay.Node.to_global_id("DeliveryCode", record.pk)},
        }
    )

    def ask():
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/plugins/global/graphql/",
                data=resend,
                content_type="application/json",
                HTTP_AUTHORIZATION="Bearer customer-token",
            )
        assert response.status_code == 200
        return response.json()

    first = ask()
    with mock.patch.object(
        timezone, "now", return_value=timezone.now() + timedelta(seconds=61)
    ):
        after_cooldown = ask()

    assert first == {
        "data": {
            "deliveryCodeResend": {"deliveryCode": {"status": "ACTIVE"}, "errors": []}
        }
    }
    (error,) = after_cooldown["data"]["deliveryCodeResend"]["errors"]
    assert error["code"] == "RATE_LIMITED"
    assert error["message"] == (
        "The code's e-mail is on its way; please wait before asking again."
    )
    assert 1 <= error["retryAfter"] <= GRACE.total_seconds()
    record.refresh_from_db()
    assert record.sends_that_day == 1 and record.email_due_at is not None
    assert "OperationalError" in caplog.text and "6379" not in caplog.text


# --- the e-mail task and the due mark ----------------------------------------------


def test_the_task_and_its_outbox_copy_send_one_email(parcels):
    record = parcels.ship()
    flows.announce(record, limits=parcels.limits)

    assert send(record).get() is True
    assert send(record).get() is False  # the outbox's copy, or a redelivery

    assert len(mail.outbox) == 1
    assert due_at(record) is None
    assert CodeEvent.objects.filter(type=EventType.EMAIL_SENT).count() == 1


def test_a_due_mark_written_while_the_email_is_in_flight_stays_due(parcels, settings):
    settings.DELIVERY_OTP_EMAIL_SENDER = "tests.test_outbox.sender_owing_it_again"
    record = parcels.ship()
    flows.announce(record, limits=parcels.limits)

    assert send(record).get() is True

    # The clear is conditional: the mark written meanwhile is not lost.
    assert due_at(record) == OWED_AGAIN["at"]


OWED_AGAIN: dict = {}


def sender_owing_it_again(record, code):
    """Delivers, while someone owes the e-mail anew (a new due mark)."""
    OWED_AGAIN["at"] = timezone.now() + timedelta(seconds=5)
    DeliveryCode.objects.filter(pk=record.pk).update(email_due_at=OWED_AGAIN["at"])


def test_a_failing_smtp_server_keeps_the_outbox_away_while_celery_retries(
    parcels, settings
):
    settings.DELIVERY_OTP_EMAIL_SENDER = "tests.test_outbox.refusing_sender"
    record = parcels.ship()
    flows.announce(record, limits=parcels.limits)
    started = timezone.now()

    assert send(record).failed()  # every eager retry failed too

    retry_cap = timedelta(seconds=otp_settings.DELIVERY_OTP_EMAIL_RETRY_BACKOFF_MAX)
    assert due_at(record) >= started + retry_cap
    # Celery's own retries come within the backoff cap: no copy from the outbox.
    assert service.claim_due_emails(now=started + retry_cap) == []
    # Once they are over, the outbox takes it up again.
    later = started + retry_cap + GRACE + timedelta(minutes=1)
    assert service.claim_due_emails(now=later) == [str(record.pk)]


def refusing_sender(record, code):
    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


# --- the periodic task -------------------------------------------------------------


def test_the_outbox_queues_only_usable_codes_oldest_first_and_bounded(parcels):
    now = timezone.now()
    oldest, older, old = (parcels.ship() for _ in range(3))
    revoked, expired, verified = (parcels.ship() for _ in range(3))
    for record in (oldest, older, old, revoked, expired, verified):
        flows.announce(record, limits=parcels.limits)
    for minutes, record in enumerate((old, older, oldest), start=3):
        DeliveryCode.objects.filter(pk=record.pk).update(
            email_due_at=now - timedelta(minutes=minutes)
        )
    service.revoke(revoked.order_id, reason="cancelled")
    DeliveryCode.objects.filter(pk=expired.pk).update(expires_at=now)
    service.verify(
        Lookup(fulfillment_id=verified.fulfillment_id),
        parcels.code_of(verified),
        COURIER,
    )
    DeliveryCode.objects.filter(pk__in=[revoked.pk, expired.pk, verified.pk]).update(
        email_due_at=now - timedelta(hours=1)
    )

    claimed = service.claim_due_emails(now=now, limit=2)

    assert claimed == [str(oldest.pk), str(older.pk)]
    assert due_at(oldest) == due_at(older) == now  # not claimed again at once
    assert service.claim_due_emails(now=now, limit=2) == [str(old.pk)]
    # Codes that can no longer be used owe nothing.
    assert [due_at(r) for r in (revoked, expired, verified)] == [None, None, None]


def test_the_periodic_task_queues_what_the_broker_refused(
    parcels, broker_down, django_capture_on_commit_callbacks
):
    record = parcels.ship()
    with django_capture_on_commit_callbacks(execute=True):
        flows.announce(record, limits=parcels.limits)
    DeliveryCode.objects.filter(pk=record.pk).update(
        email_due_at=timezone.now() - timedelta(minutes=3)
    )

    # The broker still refuses: the mark stays, for the next run after the grace.
    assert tasks.send_due_emails_task.apply().get() == 0
    assert due_at(record) is not None
    assert service.claim_due_emails() == []
    with (
        mock.patch.object(
            tasks.send_code_email_task,
            "apply_async",
            side_effect=lambda args, kwargs: (
                tasks.send_code_email_task.apply(args=args, kwargs=kwargs)
            ),
        ),
        mock.patch.object(
            timezone, "now", return_value=timezone.now() + timedelta(minutes=3)
        ),
    ):
        assert tasks.send_due_emails_task.apply().get() == 1

    assert len(mail.outbox) == 1 and parcels.code_of(record) in mail.outbox[0].body
    assert due_at(record) is None


# --- the plugin's hooks ------------------------------------------------------------


def test_a_code_whose_follow_up_the_broker_lost_is_emailed_and_counted_once(
    parcels, broker_down, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING)
    record = parcels.ship()

    with django_capture_on_commit_callbacks(execute=True):
        flows._follow_up(IssueResult(record, created=True))  # never raises

    assert f"Could not queue saleor_delivery_otp.code_follow_up for {record.pk}" in (
        caplog.text
    )
    assert due_at(record) is not None
    later = timezone.now() + GRACE + timedelta(seconds=1)
    assert service.claim_due_emails(now=later) == [str(record.pk)]
    record.refresh_from_db()
    # The outbox counted the first send, so a repeated event queues no second one.
    assert record.last_sent_at == later and record.sends_that_day == 1
    assert CodeEvent.objects.filter(type=EventType.EMAIL_QUEUED).count() == 1
    with django_capture_on_commit_callbacks() as callbacks:
        flows._follow_up(IssueResult(record, created=False))
    assert callbacks == []
    assert record.status == CodeStatus.ACTIVE

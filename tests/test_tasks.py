"""The Celery tasks on a real Redis broker and an in-process worker."""

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time
from kombu.asynchronous import set_event_loop

from saleor_delivery_otp import service, tasks
from saleor_delivery_otp.models import CodeEvent, CodeStatus, EventType

from .celery_app import app

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
    import time

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
        service.announce(record, rules=parcels.rules)
        assert published == []  # queued only once the transaction commits

    assert wait_for(lambda: len(mail.outbox) == 1)
    assert code in mail.outbox[0].body
    assert mail.outbox[0].to == ["customer@example.com"]
    ((task_name, body),) = published
    assert task_name == "saleor_delivery_otp.send_code_email"
    args, kwargs, _ = body
    assert list(args) == [str(record.pk)] and kwargs == {}
    assert code not in repr(body)


def test_failed_email_is_retried_and_arrives_once(parcels, worker):
    FAILURES_BEFORE_SUCCESS["left"] = 2
    record = parcels.ship()

    service.announce(record, rules=parcels.rules)

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

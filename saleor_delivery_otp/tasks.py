"""Celery tasks of the engine: the code e-mail, the outbox, the order confirmation
of single-e-mail mode, expiry. Arguments carry record ids only: broker messages
sit in Redis, in plain sight of anyone who can read it, so a plain code never goes
there.

The engine (:mod:`~saleor_delivery_otp.service`) never queues a task: it marks an
e-mail due, and its caller (a flow) queues it with :func:`schedule_email`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from . import service
from .conf import settings
from .models import CodeStatus, DeliveryCode, EventType
from .ports import get_host

logger = logging.getLogger(__name__)


def with_db_access[**P, R](task: Callable[P, R]) -> Callable[P, R]:
    """Runs a task's queries inside the host's ``db_access()`` (Saleor's
    ``allow_writer()``): these tasks write, on purpose."""

    @functools.wraps(task)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with get_host().db_access():
            return task(*args, **kwargs)

    return run


class CodeEmailFailed(Exception):
    """Raised in place of the sender's own error, whose text is not ours to trust:
    an SMTP server may echo part of the message, and the message holds the code."""


# An e-mail is retried with exponential backoff for about a day of SMTP outage.
EMAIL_TASK_OPTIONS = {
    "bind": True,
    "autoretry_for": (CodeEmailFailed,),
    "retry_backoff": True,
    "retry_backoff_max": settings.DELIVERY_OTP_EMAIL_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": settings.DELIVERY_OTP_EMAIL_MAX_RETRIES,
    "acks_late": True,
}


@shared_task(name="saleor_delivery_otp.send_code_email", **EMAIL_TASK_OPTIONS)
@with_db_access
def send_code_email_task(
    self: Any, delivery_code_id: str, only_if_due: bool = False
) -> bool:
    """E-mail one code to its customer; returns whether a message went out.

    The engine and the outbox queue it with ``only_if_due``: it sends only while
    the code's e-mail is still due and clears the due mark once the message is
    delivered, so the task and a copy the outbox queued give one e-mail (at least
    once: two copies running at the same moment, or a worker dying between the
    SMTP server's answer and the clear, may send it twice). Without the flag (a
    task queued before the outbox existed, a direct call) it sends anyway.
    """
    record = DeliveryCode.objects.filter(pk=delivery_code_id).first()
    if record is None or record.status != CodeStatus.ACTIVE:
        # Verified, revoked or replaced since it was queued: nothing to send.
        _due(delivery_code_id).update(email_due_at=None)
        logger.info(
            "Delivery code e-mail skipped: code %s is gone or not active.",
            delivery_code_id,
        )
        return False
    # Stamp the due mark: the outbox leaves a code alone for a grace period after
    # its last attempt started, so it does not queue a second copy of this one.
    started = timezone.now()
    claimed = _due(delivery_code_id).update(email_due_at=started) == 1
    if only_if_due and not claimed:
        logger.info(
            "Delivery code e-mail skipped: code %s was e-mailed already.",
            delivery_code_id,
        )
        return False
    sender = import_string(settings.DELIVERY_OTP_EMAIL_SENDER)
    try:
        sent = sender(record, service.open_code(record))
    except Exception as exc:
        if claimed:
            # Celery retries within the backoff cap; the outbox only after it.
            retry_by = timezone.now() + timedelta(
                seconds=settings.DELIVERY_OTP_EMAIL_RETRY_BACKOFF_MAX
            )
            _due(delivery_code_id, started).update(email_due_at=retry_by)
        logger.warning(
            "Delivery code e-mail for %s failed (%s); attempt %s will be retried.",
            delivery_code_id,
            type(exc).__name__,
            self.request.retries + 1,
        )
        raise CodeEmailFailed(type(exc).__name__) from None
    if sent is False:
        # Withheld by the sender (the order's address is not the code's): final,
        # so nothing stays owed.
        if claimed:
            _due(delivery_code_id, started).update(email_due_at=None)
        return False
    with transaction.atomic():
        if claimed:
            # Conditional: a mark set anew meanwhile stays due.
            _due(delivery_code_id, started).update(email_due_at=None)
        service.log_event(record, EventType.EMAIL_SENT)
    return True


def schedule_email(record: DeliveryCode) -> None:
    """Queue the e-mail task after commit, with the record id only.

    The record must be marked due (``service.announce``,
    ``service.request_resend``): the task sends only an e-mail still due, and if
    the broker refuses it now, the outbox (:func:`send_due_emails_task`) queues it
    again later.
    """
    record_id = str(record.pk)
    transaction.on_commit(lambda: queue_email(record_id))


def queue_email(record_id: str) -> bool:
    """Hand one due e-mail to the broker; never raises. Returns whether it went.

    Called after commit: the caller's answer ("the e-mail is on its way") is true
    either way, as the due mark is committed and the outbox retries.
    """
    try:
        send_code_email_task.apply_async(
            args=(record_id,), kwargs={"only_if_due": True}
        )
    except Exception as exc:
        # The type only: a broker error's text may hold its URL and password.
        logger.warning(
            "Delivery code e-mail for %s not queued (%s); the outbox will send it.",
            record_id,
            type(exc).__name__,
        )
        return False
    return True


def _due(delivery_code_id: str, stamp: datetime | None = None) -> Any:
    """The code's row while its e-mail is due (with exactly ``stamp``, if given)."""
    rows = DeliveryCode.objects.filter(pk=delivery_code_id)
    if stamp is None:
        return rows.filter(email_due_at__isnull=False)
    return rows.filter(email_due_at=stamp)


@shared_task(name="saleor_delivery_otp.send_due_emails")
@with_db_access
def send_due_emails_task() -> int:
    """Periodic (beat, every minute): the outbox. Queues again the code e-mails
    still due past ``DELIVERY_OTP_EMAIL_DUE_GRACE`` (the broker refused them, or a
    worker lost them), for usable codes, at most
    ``DELIVERY_OTP_EMAIL_DRAIN_BATCH_SIZE`` per run. Returns how many it queued."""
    due = service.claim_due_emails(limit=settings.DELIVERY_OTP_EMAIL_DRAIN_BATCH_SIZE)
    queued = sum(queue_email(record_id) for record_id in due)
    if due:
        logger.info(
            "Delivery code outbox: %d of %d due e-mails queued again.",
            queued,
            len(due),
        )
    return queued


@shared_task(name="saleor_delivery_otp.send_order_confirmation", **EMAIL_TASK_OPTIONS)
@with_db_access
def send_order_confirmation_task(
    self, payload: dict, delivery_code_id: str | None = None
) -> bool:
    """Single-e-mail mode: the order confirmation, with the order's code while it
    is still usable. The payload is Saleor's (its own e-mail tasks carry it too)."""
    record = (
        DeliveryCode.objects.filter(pk=delivery_code_id).first()
        if delivery_code_id
        else None
    )
    if record is not None and record.status != CodeStatus.ACTIVE:
        record = None  # verified, revoked or replaced: confirm without a code
    code = service.open_code(record) if record is not None else None
    sender = import_string(settings.DELIVERY_OTP_CONFIRMATION_SENDER)
    try:
        sender(payload, record, code)
    except Exception as exc:
        logger.warning(
            "Order confirmation (code %s) failed (%s); attempt %s will be retried.",
            delivery_code_id or "-",
            type(exc).__name__,
            self.request.retries + 1,
        )
        raise CodeEmailFailed(type(exc).__name__) from None
    if record is not None:
        service.log_event(record, EventType.EMAIL_SENT)
    return True


@shared_task(
    name="saleor_delivery_otp.expire_codes",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
@with_db_access
def expire_codes_task() -> int:
    """Periodic: retire codes whose validity has run out. Schedule it with beat."""
    expired = service.expire_due(batch_size=settings.DELIVERY_OTP_EXPIRY_BATCH_SIZE)
    if expired:
        logger.info("Expired %d delivery codes.", expired)
    return expired

"""What happens when an order is placed, a parcel ships, an order closes or a parcel
is canceled, and what the API's actions write: the use cases every host shares.

A host turns its own events (the plugin's hooks, the App's webhooks, the sandbox's
seed) into plain data (:class:`~saleor_delivery_otp.ports.OrderData`,
:class:`~saleor_delivery_otp.ports.ParcelData`) and calls :func:`run`; the API's
mutations call the actions at the end. A flow decides with
:mod:`~saleor_delivery_otp.policy`, acts through :mod:`~saleor_delivery_otp.service`
and reaches the shop only through the host (:class:`~saleor_delivery_otp.ports.Host`).

Three rules shape this module:

* **Nothing raises into the host.** A Saleor hook runs inside Saleor's on-commit
  callbacks; an exception there would skip the callbacks after it, such as the
  customer's order confirmation. :func:`run` catches everything, logs the
  exception *type* and the ids only (an exception's text is not ours to trust),
  and queues :func:`retry_event_task`, which runs the same flow again by id with
  backoff.
* **The request path stays short.** checkoutComplete and orderFulfill wait for the
  hooks, so a flow only issues or binds the code and marks its e-mail owed (the
  outbox). Queuing the code e-mail, the order timeline entry and the parcel's
  status happen in :func:`code_follow_up_task`, a Celery task keyed by the code's
  id: the customer's e-mail is a Celery task anyway.
* **The same event twice gives one code and one e-mail.** Issuing is idempotent per
  order and per parcel in the engine; the e-mail is queued only for a code that was
  never e-mailed, checked on its locked row.

A broker that refuses tasks loses the follow-up (and a retry): :func:`_enqueue` logs
it and carries on. The code's e-mail is not lost with it: the flow marks it due
(the outbox column) before queuing the follow-up, and the periodic
``saleor_delivery_otp.send_due_emails`` task sends it. The follow-up's timeline
entry and parcel status are not recovered.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import policy, service, tasks
from .audit import Actor, ActorKind
from .codes import Keyring
from .limits import CodeLimits
from .models import AttemptOutcome, CodeScope, CodeStatus, DeliveryCode, EventType
from .ports import (
    ChannelSettings,
    EmailMode,
    Host,
    OrderData,
    ParcelData,
    Requestor,
    get_host,
)

logger = logging.getLogger(__name__)

# Event names, as Saleor names its plugin hooks (and, in capitals, its webhooks).
ORDER_CREATED = "order_created"
ORDER_CANCELLED = "order_cancelled"
ORDER_EXPIRED = "order_expired"
ORDER_FULLY_REFUNDED = "order_fully_refunded"
FULFILLMENT_CREATED = "fulfillment_created"
FULFILLMENT_APPROVED = "fulfillment_approved"
FULFILLMENT_CANCELED = "fulfillment_canceled"
TRACKING_NUMBER_UPDATED = "tracking_number_updated"

# Revocation reasons: stored on the code, shown in the timeline.
REASON_ORDER_CANCELLED = "order cancelled"
REASON_ORDER_EXPIRED = "order expired"
REASON_ORDER_REFUNDED = "order fully refunded"
REASON_PARCEL_CANCELED = "parcel canceled"

# The timeline event of an API action (verification, staff action, resend).
API_EVENT = "api"

RETRY_FIRST_DELAY_SECONDS = 30
RETRY_MAX_RETRIES = 8
RETRY_BACKOFF_MAX_SECONDS = 900


class FlowFailed(Exception):
    """Raised by the tasks in place of the original error, whose message may come
    from a driver or a broker and is not ours to put in logs or result backends."""


# --- the events ------------------------------------------------------------------


def order_placed(host: Host, order: OrderData, settings: ChannelSettings) -> None:
    """A qualifying order gets its order-level code as soon as it exists.

    Saleor calls this before it sends the order confirmation, whether the order
    came from checkoutComplete or from a draft completed by staff.
    """
    if not order.is_placed:
        return
    if not policy.order_decision(settings.policy, order.lines).required:
        return
    result = service.issue_for_order(
        order.id,
        channel=order.channel_slug,
        reader=order.reader or service.GUEST_WITHOUT_ADDRESS,
        limits=settings.limits,
        keyring=settings.keyring,
    )
    _follow_up(result, email=not _confirmation_carries_code(order, settings))


def parcel_shipped(host: Host, parcel: ParcelData, settings: ChannelSettings) -> None:
    """A parcel with qualifying lines gets a code: the order-level one if it is
    still free, else a new one. Fired on ``fulfillment_created`` and again on
    ``fulfillment_approved``; both are answered once."""
    if not parcel.is_shipped:
        # Waiting for approval (the code comes with fulfillmentApprove), canceled,
        # or a return/refund group: no code.
        return
    if not policy.parcel_decision(settings.policy, parcel.lines).required:
        return
    result = service.issue_for_parcel(
        parcel.order_id,
        parcel.id,
        channel=parcel.channel_slug,
        tracking_number=parcel.tracking_number,
        reader=parcel.reader or service.GUEST_WITHOUT_ADDRESS,
        limits=settings.limits,
        keyring=settings.keyring,
    )
    order_code = result.record.scope == CodeScope.ORDER
    _follow_up(
        result, email=not (order_code and _confirmation_carries_code(parcel, settings))
    )


def _confirmation_carries_code(
    order: OrderData | ParcelData, settings: ChannelSettings
) -> bool:
    """Single-e-mail mode: the order's code travels in the order confirmation,
    for orders the shop confirms (in Saleor, not drafts completed by staff)."""
    return settings.email_mode is EmailMode.SINGLE and order.sends_confirmation


def tracking_updated(
    host: Host, parcel: ParcelData, settings: ChannelSettings
) -> str | None:
    """Couriers may name a parcel by its tracking number: keep it on the code.

    A host may have just saved the parcel with metadata it loaded earlier (Saleor's
    fulfillmentUpdateTracking does): the parcel's status is written again.
    Returns that status, or None for a parcel without a code.
    """
    if not service.record_tracking(
        parcel.id, parcel.tracking_number, channel=parcel.channel_slug
    ):
        return None
    status = (
        DeliveryCode.objects.current()
        .filter(fulfillment_id=parcel.id, channel=parcel.channel_slug)
        .order_by("-created_at")
        .values_list("status", flat=True)
        .first()
    )
    if status is not None:
        host.set_parcel_status(parcel.id, status, channel=parcel.channel_slug)
    return status


def parcel_canceled(host: Host, parcel: ParcelData, settings: ChannelSettings) -> None:
    if service.revoke(
        parcel.order_id, fulfillment_id=parcel.id, reason=REASON_PARCEL_CANCELED
    ):
        _enqueue(
            revocation_follow_up_task,
            str(parcel.order_id),
            parcel.channel_slug,
            [parcel.id],
            REASON_PARCEL_CANCELED,
            True,
        )


def _order_closed(reason: str) -> Callable[[Host, OrderData, ChannelSettings], None]:
    def close(host: Host, order: OrderData, settings: ChannelSettings) -> None:
        if not service.revoke(order.id, reason=reason):
            return
        parcels = [
            fulfillment_id
            for fulfillment_id in DeliveryCode.objects.for_order(order.id)
            .filter(status=CodeStatus.REVOKED, fulfillment_id__isnull=False)
            .values_list("fulfillment_id", flat=True)
            .distinct()
            if fulfillment_id is not None
        ]
        _enqueue(
            revocation_follow_up_task,
            str(order.id),
            order.channel_slug,
            parcels,
            reason,
            False,
        )

    close.__name__ = close.__qualname__ = f"order_closed_{reason.replace(' ', '_')}"
    return close


order_cancelled = _order_closed(REASON_ORDER_CANCELLED)
order_expired = _order_closed(REASON_ORDER_EXPIRED)
order_fully_refunded = _order_closed(REASON_ORDER_REFUNDED)

ORDER = "order"
PARCEL = "parcel"

# Each event: whether it is about an order or a parcel, and its flow.
EVENTS: dict[str, tuple[str, Callable[[Host, Any, ChannelSettings], Any]]] = {
    ORDER_CREATED: (ORDER, order_placed),
    ORDER_CANCELLED: (ORDER, order_cancelled),
    ORDER_EXPIRED: (ORDER, order_expired),
    ORDER_FULLY_REFUNDED: (ORDER, order_fully_refunded),
    FULFILLMENT_CREATED: (PARCEL, parcel_shipped),
    FULFILLMENT_APPROVED: (PARCEL, parcel_shipped),
    FULFILLMENT_CANCELED: (PARCEL, parcel_canceled),
    TRACKING_NUMBER_UPDATED: (PARCEL, tracking_updated),
}


def confirmation_requested(
    host: Host,
    order_id: str | None,
    payload: Mapping[str, Any],
    settings: ChannelSettings,
) -> None:
    """Single-e-mail mode: the shop is about to send its order confirmation; this
    project sends it instead, with the order's code if any.

    The payload is the shop's own (Saleor's e-mail tasks put it on the broker too);
    the code is read back from its encrypted copy in the task, never queued.
    """
    if settings.email_mode is not EmailMode.SINGLE:
        return
    record = _order_code(order_id)
    if record is None and order_id:
        # Saleor runs order_created before this e-mail; should that ever change,
        # issue the code here (idempotent) so the confirmation still carries it.
        order = host.load_order(order_id)
        if order is not None:
            order_placed(host, order, settings)
            record = _order_code(order_id)
    _enqueue(
        tasks.send_order_confirmation_task,
        dict(payload),
        str(record.pk) if record is not None else None,
    )


def _order_code(order_id: str | None) -> DeliveryCode | None:
    if not order_id:
        return None
    return DeliveryCode.objects.filter(
        order_id=order_id, scope=CodeScope.ORDER, status=CodeStatus.ACTIVE
    ).first()


# --- running an event safely ------------------------------------------------------


def _savepoint_if_nested() -> AbstractContextManager[Any]:
    """A savepoint when the flow runs inside someone else's transaction, so a failed
    write rolls back only ours and never leaves the host's transaction broken.

    Saleor calls hooks after commit, in autocommit mode, where each engine
    operation is its own transaction already: no extra statements there.
    """
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return nullcontext()


def run(
    event: str,
    host: Host,
    object_id: object,
    data: Callable[[], OrderData | ParcelData],
    settings: ChannelSettings,
    *,
    then: Callable[[Any], None] | None = None,
) -> bool:
    """Run one event's flow; never raises. Returns whether it succeeded.

    ``data`` reads the order or parcel (the host's reader: inside the guard, so a
    failed read is retried too); ``object_id`` names it for the retry; ``then``
    gets the flow's result once it succeeded (the host's own bookkeeping).
    """
    try:
        _, flow = EVENTS[event]
        with host.db_access(), _savepoint_if_nested():
            result = flow(host, data(), settings)
            if then is not None:
                then(result)
        return True
    except Exception as exc:
        _log_failure(event, str(object_id), exc, "a retry is queued")
        _enqueue(
            retry_event_task, event, str(object_id), countdown=RETRY_FIRST_DELAY_SECONDS
        )
        return False


def run_confirmation(
    host: Host,
    read: Callable[[], tuple[str | None, Mapping[str, Any]]],
    settings: ChannelSettings,
) -> None:
    """:func:`confirmation_requested`, never raising (no retry: the shop's own
    confirmation is not ours to repeat). ``read`` gives the order's id and the
    shop's confirmation payload."""
    try:
        with host.db_access(), _savepoint_if_nested():
            order_id, payload = read()
            confirmation_requested(host, order_id, payload, settings)
    except Exception as exc:
        _log_failure("notify order_confirmation", None, exc, "no confirmation queued")


def _log_failure(
    event: str, object_id: str | None, exc: BaseException, then: str
) -> None:
    # The type and the ids, never str(exc): a database or broker error may quote
    # values, and logger.exception would print that text.
    logger.error(
        "Delivery-code hook %s failed for %s (%s); %s.",
        event,
        object_id or "an unknown object",
        type(exc).__name__,
        then,
    )
    logger.debug(
        "Delivery-code hook %s failed at:\n%s",
        event,
        "".join(traceback.format_tb(exc.__traceback__)),
    )


def _enqueue(task: Any, *args: Any, countdown: int | None = None) -> None:
    """Queue a task once the current transaction commits; never raises. Arguments
    are ids, names and flags only (and the shop's own e-mail payload)."""

    def send() -> None:
        try:
            task.apply_async(args=args, countdown=countdown)
        except Exception as exc:
            logger.error(
                "Could not queue %s for %s (%s).",
                task.name,
                ", ".join(arg for arg in args if isinstance(arg, str)),
                type(exc).__name__,
            )

    try:
        transaction.on_commit(send)
    except Exception as exc:  # pragma: no cover - on_commit itself failing
        logger.error("Could not queue %s (%s).", task.name, type(exc).__name__)


# Retried with exponential backoff; the arguments are ids and names only.
TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "autoretry_for": (FlowFailed,),
    "retry_backoff": True,
    "retry_backoff_max": RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": RETRY_MAX_RETRIES,
    "acks_late": True,
}


@shared_task(
    # The name tasks queued by earlier versions carry.
    name="saleor_delivery_otp.retry_hook",
    **(TASK_OPTIONS | {"retry_backoff": RETRY_FIRST_DELAY_SECONDS}),
)
def retry_event_task(self: Any, event: str, object_id: str) -> bool:
    """Run a failed event's flow again, by the id of its order or parcel.

    Uses the channel's settings as they are now; does nothing if the object is
    gone or delivery codes were switched off in its channel meanwhile.
    """
    host = get_host()
    try:
        kind, flow = EVENTS[event]
        with host.db_access():
            data = (
                host.load_order(object_id)
                if kind == ORDER
                else host.load_parcel(object_id)
            )
            settings = host.channel_settings(data.channel_slug) if data else None
            if data is None or settings is None:
                logger.info(
                    "Delivery-code hook %s for %s not retried: the %s is gone or "
                    "the plugin is off in its channel.",
                    event,
                    object_id,
                    "order" if kind == ORDER else "fulfillment",
                )
                return False
            with _savepoint_if_nested():
                flow(host, data, settings)
    except Exception as exc:
        _log_failure(
            event, object_id, exc, f"retry {self.request.retries + 1} will follow"
        )
        raise FlowFailed(type(exc).__name__) from None
    logger.info("Delivery-code hook %s for %s succeeded on retry.", event, object_id)
    return True


# --- after a code was issued, bound or changed ------------------------------------


def _follow_up(result: service.IssueResult, *, email: bool = True) -> None:
    """Queue the follow-up of an issued or bound code. ``email`` False: the code
    travels in the order confirmation (single-e-mail mode), no code e-mail."""
    record = result.record
    if result.created:
        event = EventType.ISSUED
    elif result.bound:
        event = EventType.BOUND
    elif record.status == CodeStatus.ACTIVE and record.last_sent_at is None:
        # A repeated event for a code whose first follow-up never ran (a lost
        # task): queue the e-mail again, without a second timeline entry.
        event = None
    else:
        return
    if email and record.last_sent_at is None and record.email_due_at is None:
        # The outbox's mark, now: should the broker lose the follow-up task, the
        # periodic send_due_emails still e-mails the code (and counts the send).
        # One UPDATE by primary key, in the event's own transaction.
        DeliveryCode.objects.filter(
            pk=record.pk, last_sent_at__isnull=True, email_due_at__isnull=True
        ).update(email_due_at=timezone.now())
    _enqueue(code_follow_up_task, str(record.pk), event or "", email)


def announce(record: DeliveryCode, *, limits: CodeLimits | None = None) -> None:
    """Owe a new code's first e-mail and queue it after commit."""
    service.announce(record, limits=limits)
    tasks.schedule_email(record)


def _announce_once(record_id: uuid.UUID, limits: CodeLimits) -> bool:
    """Queue a code's first e-mail unless it was already queued."""
    with transaction.atomic():
        record = DeliveryCode.objects.select_for_update().filter(pk=record_id).first()
        if (
            record is None
            or record.last_sent_at is not None
            or not record.is_usable(timezone.now())
        ):
            return False
        announce(record, limits=limits)
        return True


@shared_task(name="saleor_delivery_otp.code_follow_up", **TASK_OPTIONS)
def code_follow_up_task(
    self: Any, delivery_code_id: str, event: str = "", email: bool = True
) -> bool:
    """E-mail a new code (once, unless ``email`` is False), show its status on the
    parcel and write the order timeline entry. Arguments are ids, names and a flag
    only.
    """
    host = get_host()
    try:
        with host.db_access():
            record = DeliveryCode.objects.filter(pk=delivery_code_id).first()
            if record is None:
                return False
            if email and event in ("", EventType.ISSUED, EventType.BOUND):
                settings = host.channel_settings(record.channel)
                limits = settings.limits if settings else CodeLimits.from_settings()
                _announce_once(record.pk, limits)
                record.refresh_from_db()
            channel = record.channel
            if record.fulfillment_id is not None:
                host.set_parcel_status(
                    record.fulfillment_id, record.status, channel=channel
                )
            if event:
                label = host.parcel_label(record.fulfillment_id, channel=channel)
                host.write_timeline(
                    record.order_id,
                    timeline_message(event, record, parcel=label),
                    event=event,
                    actor=None,
                    channel=channel,
                )
    except Exception as exc:
        _log_failure(
            "code_follow_up",
            delivery_code_id,
            exc,
            f"retry {self.request.retries + 1} will follow",
        )
        raise FlowFailed(type(exc).__name__) from None
    return True


@shared_task(name="saleor_delivery_otp.revocation_follow_up", **TASK_OPTIONS)
def revocation_follow_up_task(
    self: Any,
    order_id: str,
    channel: str,
    parcel_ids: list[int],
    reason: str,
    one_parcel: bool,
) -> bool:
    """After codes were revoked: each parcel shows ``revoked`` and the order's
    timeline says why (for one parcel canceled, or the whole order closed).
    On a worker, as the other write-backs: an App's are calls to Saleor."""
    host = get_host()
    try:
        with host.db_access():
            for parcel_id in parcel_ids:
                host.set_parcel_status(parcel_id, CodeStatus.REVOKED, channel=channel)
            if one_parcel and parcel_ids:
                label = host.parcel_label(parcel_ids[0], channel=channel)
                message = f"Delivery code of parcel {label} revoked: {reason}."
            else:
                message = f"Delivery codes revoked: {reason}."
            host.write_timeline(
                order_id,
                message,
                event=EventType.REVOKED,
                actor=None,
                channel=channel,
            )
    except Exception as exc:
        _log_failure(
            "revocation_follow_up",
            order_id,
            exc,
            f"retry {self.request.retries + 1} will follow",
        )
        raise FlowFailed(type(exc).__name__) from None
    return True


def timeline_message(event: str, record: DeliveryCode, *, parcel: str = "") -> str:
    """The order timeline's words for a code the events issued or bound. Never the
    code: only what happened and to which parcel."""
    if event == EventType.BOUND:
        return f"The order's delivery code now protects parcel {parcel}."
    if record.scope == CodeScope.ORDER and record.fulfillment_id is None:
        return (
            "Delivery code issued and e-mailed to the customer; it will protect "
            "the first parcel that needs one."
        )
    return f"Delivery code issued for parcel {parcel} and e-mailed to the customer."


# --- the API's actions ---------------------------------------------------------------


def queue_timeline(
    order_id: uuid.UUID, message: str, requestor: Requestor, *, channel: str
) -> None:
    """An API action's timeline entry, written after commit by a worker (for hosts
    whose writes are slow: the courier's verify is a hot path)."""
    actor = requestor.actor
    _enqueue(
        api_timeline_task,
        str(order_id),
        message,
        str(actor.kind),
        actor.identifier,
        channel,
    )


@shared_task(name="saleor_delivery_otp.api_timeline", **TASK_OPTIONS)
def api_timeline_task(
    self: Any,
    order_id: str,
    message: str,
    actor_kind: str,
    actor_id: str,
    channel: str = "",
) -> bool:
    """Write an API action on the order's timeline and bring each parcel's status
    up to date. The message never holds a code. (A task queued by a version before
    ``channel`` existed finds it on the order's codes.)"""
    host = get_host()
    try:
        with host.db_access():
            channel = channel or _channel_of(order_id)
            kind = ActorKind(actor_kind) if actor_kind in set(ActorKind) else None
            host.write_timeline(
                order_id,
                message,
                event=API_EVENT,
                actor=Actor(kind, actor_id) if kind is not None else None,
                channel=channel,
            )
            sync_parcel_statuses(host, order_id)
    except Exception as exc:
        _log_failure(
            "api_timeline",
            order_id,
            exc,
            f"retry {self.request.retries + 1} will follow",
        )
        raise FlowFailed(type(exc).__name__) from None
    return True


def _channel_of(order_id: uuid.UUID | str) -> str:
    channel = (
        DeliveryCode.objects.for_order(order_id)
        .values_list("channel", flat=True)
        .first()
    )
    return channel or ""


def sync_parcel_statuses(host: Host, order_id: uuid.UUID | str) -> None:
    """Show each parcel code's status on its parcel."""
    for fulfillment_id, status, channel in (
        DeliveryCode.objects.current()
        .for_order(order_id)
        .filter(fulfillment_id__isnull=False)
        .values_list("fulfillment_id", "status", "channel")
    ):
        if fulfillment_id is not None:
            host.set_parcel_status(fulfillment_id, status, channel=channel)


def verified(host: Host, requestor: Requestor, result: service.VerifyResult) -> None:
    """A courier's verify that handed a parcel over or locked its code goes on the
    order's timeline (once: not for a courier's repeated call)."""
    record = result.record
    if record is None or result.repeated:
        return
    parcel = f"parcel {record.tracking_number or record.fulfillment_id}"
    if result.outcome is AttemptOutcome.ACCEPTED:
        who = requestor.name or str(requestor.actor)
        note = f"Delivery code for {parcel} accepted by {who}: handed over."
    elif result.outcome is AttemptOutcome.LOCKED_NOW:
        note = (
            f"Delivery code for {parcel} locked after {record.attempts} wrong attempts."
        )
    else:
        return
    host.timeline(record.order_id, note, requestor, channel=record.channel)


def resend(
    record_id: object,
    *,
    limits: CodeLimits | None = None,
    current_email: str | None = None,
    keyring: Keyring | None = None,
    now: datetime | None = None,
) -> DeliveryCode:
    """E-mail a code again to the address it was issued to, within its cooldown
    and daily cap (:func:`~saleor_delivery_otp.service.request_resend`), and queue
    the e-mail after commit."""
    resent = service.request_resend(
        record_id,
        limits=limits,
        current_email=current_email,
        keyring=keyring,
        now=now,
    )
    tasks.schedule_email(resent)
    return resent


def doorstep_resend(
    host: Host,
    requestor: Requestor,
    record: DeliveryCode,
    *,
    limits: CodeLimits,
    current_email: str,
) -> None:
    """A courier or driver at the door asks for the customer's code e-mail again:
    sent only to the address it was issued to; the timeline says who asked."""
    resend(
        record.pk, limits=limits, current_email=current_email, keyring=host.keyring()
    )
    parcel = record.tracking_number or record.fulfillment_id
    host.timeline(
        record.order_id,
        f"{requestor.name or requestor.actor} asked at the door for the delivery "
        f"code of parcel {parcel} to be e-mailed to the customer again.",
        requestor,
        channel=record.channel,
    )


def regenerate(
    host: Host,
    requestor: Requestor,
    record: DeliveryCode,
    *,
    current_email: str,
    limits: CodeLimits,
) -> DeliveryCode:
    """Staff replace a code and it is e-mailed to the customer it was issued to."""
    new = service.regenerate(
        record.pk,
        actor=requestor.actor,
        current_email=current_email,
        limits=limits,
        keyring=host.issuing_keyring(record.channel),
    )
    tasks.schedule_email(new)
    host.timeline(
        new.order_id,
        "Delivery code replaced by a new one, e-mailed to the customer.",
        requestor,
        channel=new.channel,
    )
    return new


def unlock(
    host: Host,
    requestor: Requestor,
    record: DeliveryCode,
    *,
    reason: object,
    limits: CodeLimits,
) -> DeliveryCode:
    unlocked = service.unlock(
        record.pk, actor=requestor.actor, reason=reason, limits=limits
    )
    host.timeline(
        unlocked.order_id,
        f"Delivery code unlocked: {str(reason).strip()}",
        requestor,
        channel=unlocked.channel,
    )
    return unlocked


def handover_without_code(
    host: Host, requestor: Requestor, record: DeliveryCode, *, reason: object
) -> DeliveryCode:
    done = service.handover_without_code(
        record.pk, actor=requestor.actor, reason=reason
    )
    host.timeline(
        done.order_id,
        f"Parcel handed over without delivery code: {done.status_reason}",
        requestor,
        channel=done.channel,
    )
    return done

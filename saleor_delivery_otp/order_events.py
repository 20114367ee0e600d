"""What the plugin does when Saleor tells it about an order or a parcel.

Plain functions that :mod:`saleor_delivery_otp.plugin` maps its hooks to. They get
Saleor's objects but read them only through :mod:`saleor_delivery_otp.saleor_host`
(imported lazily, so this module imports without Saleor), decide with
:mod:`~saleor_delivery_otp.policy` and act through :mod:`~saleor_delivery_otp.service`.

Three rules shape this module:

* **Nothing raises into Saleor.** A hook runs inside Saleor's on-commit callbacks; an
  exception there would skip the callbacks after it, such as the customer's order
  confirmation. :func:`run` catches everything, logs the exception *type* and the
  ids only (an exception's text is not ours to trust), and queues
  :func:`retry_hook_task`, which runs the same logic again by id with backoff.
* **The request path stays short.** checkoutComplete and orderFulfill wait for the
  hooks, so a hook only reads its lines (one query), issues or binds the code and
  marks its e-mail owed (the outbox).
  Queuing the code e-mail, the order timeline entry and the fulfillment's status
  metadata happen in :func:`code_follow_up_task`, a Celery task keyed by the code's
  id: the customer's e-mail is a Celery task anyway.
* **The same event twice gives one code and one e-mail.** Issuing is idempotent per
  order and per parcel in the engine; the e-mail is queued only for a code that was
  never e-mailed, checked on its locked row.

A broker that refuses tasks loses the follow-up (and a hook's retry): :func:`_enqueue`
logs it and carries on. The code's e-mail is not lost with it: the hook marks it due
(the outbox column) before queuing the follow-up, and the periodic
``saleor_delivery_otp.send_due_emails`` task sends it. The follow-up's timeline entry
and parcel status metadata are not recovered.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from types import ModuleType
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import policy, service
from .limits import CodeLimits
from .models import CodeScope, CodeStatus, DeliveryCode, EventType
from .plugin_config import ChannelConfig, EmailMode

logger = logging.getLogger(__name__)

# Hook names, as Saleor's plugin manager calls them.
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

RETRY_FIRST_DELAY_SECONDS = 30
RETRY_MAX_RETRIES = 8
RETRY_BACKOFF_MAX_SECONDS = 900


class HookFailed(Exception):
    """Raised by the tasks in place of the original error, whose message may come
    from a driver or a broker and is not ours to put in logs or result backends."""


def _host() -> ModuleType:
    # Lazy: this module imports without Saleor, so the engine's modules and the CI
    # tier may import it; only the functions that touch Saleor objects need it.
    from . import saleor_host

    return saleor_host


# --- the hooks -------------------------------------------------------------------


def order_created(order: Any, config: ChannelConfig) -> None:
    """A qualifying order gets its order-level code as soon as it exists.

    Saleor calls this before it sends the order confirmation, whether the order
    came from checkoutComplete or from a draft completed by staff.
    """
    host = _host()
    if not host.order_is_placed(order):
        return
    data = host.order_data(order, with_categories=bool(config.policy.category_slugs))
    if not policy.order_decision(config.policy, data.lines).required:
        return
    result = service.issue_for_order(
        data.id,
        channel=data.channel_slug,
        reader=data.reader,
        limits=config.limits,
        keyring=config.keyring(),
    )
    _follow_up(result, email=not _confirmation_carries_code(order, config))


def parcel_shipped(fulfillment: Any, config: ChannelConfig) -> None:
    """A parcel with qualifying lines gets a code: the order-level one if it is
    still free, else a new one. Fired on ``fulfillment_created`` and again on
    ``fulfillment_approved``; both are answered once."""
    host = _host()
    if not host.first_visit(fulfillment):
        return
    brief = host.parcel_brief(fulfillment)
    if not brief.is_shipped:
        # Waiting for approval (the code comes with fulfillmentApprove), canceled,
        # or a return/refund group: no code.
        return
    parcel = host.parcel_data(
        fulfillment, with_categories=bool(config.policy.category_slugs)
    )
    if policy.parcel_decision(config.policy, parcel.lines).required:
        result = service.issue_for_parcel(
            parcel.order_id,
            parcel.id,
            channel=parcel.channel_slug,
            tracking_number=parcel.tracking_number,
            reader=host.reader_of(host.order_of(fulfillment)),
            limits=config.limits,
            keyring=config.keyring(),
        )
        order_code = result.record.scope == CodeScope.ORDER
        _follow_up(
            result,
            email=not (
                order_code
                and _confirmation_carries_code(host.order_of(fulfillment), config)
            ),
        )
    host.mark_visited(fulfillment)


def _confirmation_carries_code(order: Any, config: ChannelConfig) -> bool:
    """Single-e-mail mode: the order's code travels in the order confirmation, which
    Saleor triggers for checkout orders (not for drafts completed by staff)."""
    return config.email_mode is EmailMode.SINGLE and _host().sends_order_confirmation(
        order
    )


def order_confirmation(payload_func: Callable[[], Any], config: ChannelConfig) -> None:
    """Single-e-mail mode: Saleor asks for its ORDER_CONFIRMATION; the plugin sends
    it instead (User emails' template is emptied), with the order's code if any.

    The payload is Saleor's own (its e-mail tasks put it on the broker too); the
    code is read back from its encrypted copy in the task, never queued.
    """
    if config.email_mode is not EmailMode.SINGLE:
        return
    from .tasks import send_order_confirmation_task

    host = _host()
    payload = payload_func()
    order_id = host.order_id_from_payload(payload)
    record = _order_code(order_id)
    if record is None and order_id:
        # Saleor runs order_created before this e-mail; should that ever change,
        # issue the code here (idempotent) so the confirmation still carries it.
        order = host.load_order(order_id)
        if order is not None:
            order_created(order, config)
            record = _order_code(order_id)
    _enqueue(
        send_order_confirmation_task,
        dict(payload),
        str(record.pk) if record is not None else None,
    )


def _order_code(order_id: str | None) -> DeliveryCode | None:
    if not order_id:
        return None
    return DeliveryCode.objects.filter(
        order_id=order_id, scope=CodeScope.ORDER, status=CodeStatus.ACTIVE
    ).first()


def tracking_number_updated(fulfillment: Any, config: ChannelConfig) -> None:
    """Couriers may name a parcel by its tracking number: keep it on the code.

    Saleor has just saved the whole fulfillment row with the metadata it loaded
    at the start of its request: a status written meanwhile is written again.
    """
    host = _host()
    brief = host.parcel_brief(fulfillment)
    if service.record_tracking(brief.id, brief.tracking_number):
        # Only a parcel with a code has a status to write again.
        host.reassert_parcel_status(fulfillment)


def parcel_canceled(fulfillment: Any, config: ChannelConfig) -> None:
    host = _host()
    brief = host.parcel_brief(fulfillment)
    if service.revoke(
        brief.order_id, fulfillment_id=brief.id, reason=REASON_PARCEL_CANCELED
    ):
        host.set_parcel_status(brief.id, CodeStatus.REVOKED)
        host.add_timeline_entry(
            brief.order_id,
            f"Delivery code of parcel {host.parcel_label(brief.id)} revoked: "
            f"{REASON_PARCEL_CANCELED}.",
            event=EventType.REVOKED,
        )


def _order_closed(reason: str) -> Callable[[Any, ChannelConfig], None]:
    def close(order: Any, config: ChannelConfig) -> None:
        host = _host()
        order_id = host.order_id_of(order)
        if not service.revoke(order_id, reason=reason):
            return
        for fulfillment_id in (
            DeliveryCode.objects.filter(
                order_id=order_id,
                status=CodeStatus.REVOKED,
                fulfillment_id__isnull=False,
            )
            .values_list("fulfillment_id", flat=True)
            .distinct()
        ):
            host.set_parcel_status(fulfillment_id, CodeStatus.REVOKED)
        host.add_timeline_entry(
            order, f"Delivery codes revoked: {reason}.", event=EventType.REVOKED
        )

    close.__name__ = close.__qualname__ = f"order_closed_{reason.replace(' ', '_')}"
    return close


order_cancelled = _order_closed(REASON_ORDER_CANCELLED)
order_expired = _order_closed(REASON_ORDER_EXPIRED)
order_fully_refunded = _order_closed(REASON_ORDER_REFUNDED)

ORDER = "order"
FULFILLMENT = "fulfillment"

HANDLERS: dict[str, tuple[str, Callable[[Any, ChannelConfig], None]]] = {
    ORDER_CREATED: (ORDER, order_created),
    ORDER_CANCELLED: (ORDER, order_cancelled),
    ORDER_EXPIRED: (ORDER, order_expired),
    ORDER_FULLY_REFUNDED: (ORDER, order_fully_refunded),
    FULFILLMENT_CREATED: (FULFILLMENT, parcel_shipped),
    FULFILLMENT_APPROVED: (FULFILLMENT, parcel_shipped),
    FULFILLMENT_CANCELED: (FULFILLMENT, parcel_canceled),
    TRACKING_NUMBER_UPDATED: (FULFILLMENT, tracking_number_updated),
}


# --- running a hook safely ------------------------------------------------------


def _savepoint_if_nested() -> AbstractContextManager[Any]:
    """A savepoint when the hook runs inside someone else's transaction, so a failed
    write rolls back only ours and never leaves Saleor's transaction broken.

    Saleor calls hooks after commit, in autocommit mode, where each engine
    operation is its own transaction already: no extra statements there.
    """
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return nullcontext()


def run(hook: str, obj: Any, config: ChannelConfig) -> bool:
    """Run one hook's logic; never raises. Returns whether it succeeded."""
    object_id: str | None = None
    try:
        kind, handler = HANDLERS[hook]
        host = _host()
        object_id = str(
            host.order_id_of(obj) if kind == ORDER else host.fulfillment_id_of(obj)
        )
        with host.writer(), _savepoint_if_nested():
            handler(obj, config)
        return True
    except Exception as exc:
        _log_failure(hook, object_id, exc, "a retry is queued")
        if object_id is not None:
            _enqueue(
                retry_hook_task, hook, object_id, countdown=RETRY_FIRST_DELAY_SECONDS
            )
        return False


NOTIFY_ORDER_CONFIRMATION = "order_confirmation"


def run_notify(
    event: str, payload_func: Callable[[], Any], config: ChannelConfig
) -> None:
    """Saleor's ``notify`` hook; never raises. Only ORDER_CONFIRMATION matters."""
    if str(event) != NOTIFY_ORDER_CONFIRMATION:
        return
    try:
        with _host().writer(), _savepoint_if_nested():
            order_confirmation(payload_func, config)
    except Exception as exc:
        _log_failure("notify order_confirmation", None, exc, "no confirmation queued")


def _log_failure(
    hook: str, object_id: str | None, exc: BaseException, then: str
) -> None:
    # The type and the ids, never str(exc): a database or broker error may quote
    # values, and logger.exception would print that text.
    logger.error(
        "Delivery-code hook %s failed for %s (%s); %s.",
        hook,
        object_id or "an unknown object",
        type(exc).__name__,
        then,
    )
    logger.debug(
        "Delivery-code hook %s failed at:\n%s",
        hook,
        "".join(traceback.format_tb(exc.__traceback__)),
    )


def _enqueue(task: Any, *args: Any, countdown: int | None = None) -> None:
    """Queue a task once the current transaction commits; never raises. Arguments
    are ids, names and flags only (and Saleor's own e-mail payload)."""

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
    "autoretry_for": (HookFailed,),
    "retry_backoff": True,
    "retry_backoff_max": RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": RETRY_MAX_RETRIES,
    "acks_late": True,
}


@shared_task(
    name="saleor_delivery_otp.retry_hook",
    **(TASK_OPTIONS | {"retry_backoff": RETRY_FIRST_DELAY_SECONDS}),
)
def retry_hook_task(self: Any, hook: str, object_id: str) -> bool:
    """Run a failed hook again, by the id of its order or fulfillment.

    Uses the channel's configuration as it is now; does nothing if the object is
    gone or the plugin was switched off for its channel meanwhile.
    """
    host = _host()
    try:
        kind, handler = HANDLERS[hook]
        with host.writer():
            obj = (
                host.load_order(object_id)
                if kind == ORDER
                else host.load_fulfillment(object_id)
            )
            config = host.channel_config(host.channel_slug_of(obj)) if obj else None
            if obj is None or config is None:
                logger.info(
                    "Delivery-code hook %s for %s not retried: the %s is gone or "
                    "the plugin is off in its channel.",
                    hook,
                    object_id,
                    kind,
                )
                return False
            with _savepoint_if_nested():
                handler(obj, config)
    except Exception as exc:
        _log_failure(
            hook, object_id, exc, f"retry {self.request.retries + 1} will follow"
        )
        raise HookFailed(type(exc).__name__) from None
    logger.info("Delivery-code hook %s for %s succeeded on retry.", hook, object_id)
    return True


# --- after a code was issued, bound or changed ----------------------------------


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
        # One UPDATE by primary key, in the hook's own transaction.
        DeliveryCode.objects.filter(
            pk=record.pk, last_sent_at__isnull=True, email_due_at__isnull=True
        ).update(email_due_at=timezone.now())
    _enqueue(code_follow_up_task, str(record.pk), event or "", email)


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
        service.announce(record, limits=limits)
        return True


@shared_task(name="saleor_delivery_otp.code_follow_up", **TASK_OPTIONS)
def code_follow_up_task(
    self: Any, delivery_code_id: str, event: str = "", email: bool = True
) -> bool:
    """E-mail a new code (once, unless ``email`` is False), mirror its status onto
    the fulfillment's public metadata and write the order timeline entry.
    Arguments are ids, names and a flag only.
    """
    host = _host()
    try:
        with host.writer():
            record = DeliveryCode.objects.filter(pk=delivery_code_id).first()
            if record is None:
                return False
            if email and event in ("", EventType.ISSUED, EventType.BOUND):
                config = host.channel_config(record.channel)
                limits = config.limits if config else CodeLimits.from_settings()
                _announce_once(record.pk, limits)
                record.refresh_from_db()
            if record.fulfillment_id is not None:
                host.set_parcel_status(record.fulfillment_id, record.status)
            if event:
                host.add_timeline_entry(
                    record.order_id,
                    timeline_message(
                        event, record, parcel=host.parcel_label(record.fulfillment_id)
                    ),
                    event=event,
                )
    except Exception as exc:
        _log_failure(
            "code_follow_up",
            delivery_code_id,
            exc,
            f"retry {self.request.retries + 1} will follow",
        )
        raise HookFailed(type(exc).__name__) from None
    return True


def queue_api_timeline(
    order_id: uuid.UUID, message: str, actor_kind: str, actor_id: str
) -> None:
    """The API's timeline entry (a verification, a staff action), after commit."""
    _enqueue(api_timeline_task, str(order_id), message, actor_kind, actor_id)


@shared_task(name="saleor_delivery_otp.api_timeline", **TASK_OPTIONS)
def api_timeline_task(
    self: Any, order_id: str, message: str, actor_kind: str, actor_id: str
) -> bool:
    """Write an API action on the order's timeline and mirror the parcels' status
    onto their metadata. The message never holds a code."""
    host = _host()
    try:
        with host.writer():
            host.write_api_timeline(order_id, message, actor_kind, actor_id)
    except Exception as exc:
        _log_failure(
            "api_timeline",
            order_id,
            exc,
            f"retry {self.request.retries + 1} will follow",
        )
        raise HookFailed(type(exc).__name__) from None
    return True


def timeline_message(event: str, record: DeliveryCode, *, parcel: str = "") -> str:
    """The order timeline's words for a code the hooks issued or bound. Never the
    code: only what happened and to which parcel. (Verifications and staff actions
    are written by the API through ``saleor_host.SaleorHost.timeline``.)"""
    if event == EventType.BOUND:
        return f"The order's delivery code now protects parcel {parcel}."
    if record.scope == CodeScope.ORDER and record.fulfillment_id is None:
        return (
            "Delivery code issued and e-mailed to the customer; it will protect "
            "the first parcel that needs one."
        )
    return f"Delivery code issued for parcel {parcel} and e-mailed to the customer."

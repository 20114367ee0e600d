"""The operations on delivery codes. Framework-light: Django's ORM, no Saleor.

Every function validates its input before touching the database, so bad input
raises :class:`~saleor_delivery_otp.exceptions.InvalidInput` and changes nothing.
State changes that depend on the current state run on a locked row.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from . import codes
from .audit import SYSTEM, Actor
from .codes import Keyring
from .conf import settings
from .exceptions import (
    ConfigurationError,
    InvalidInput,
    InvalidState,
    NotFound,
    RateLimited,
)
from .limits import CodeLimits
from .models import (
    AttemptOutcome,
    CodeEvent,
    CodeScope,
    CodeStatus,
    DeliveryCode,
    EventType,
    VerificationAttempt,
)
from .ports import get_host

logger = logging.getLogger(__name__)

MAX_TRACKING_CHARS = 255
MAX_CHANNEL_CHARS = 255
MAX_REASON_CHARS = 500
_MAX_BIGINT = 2**63 - 1
# Statuses in which a code is still the parcel's code and can change again.
_OPEN = (CodeStatus.ACTIVE, CodeStatus.LOCKED)


def _current() -> Any:
    return DeliveryCode.objects.current()


# --- input validation ----------------------------------------------------------


def _uuid(value: object, field_name: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidInput(field_name, f"{field_name} must be a UUID.")


def _positive_int(value: object, field_name: str) -> int:
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) < 20
    ):
        value = int(value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 < value <= _MAX_BIGINT
    ):
        return value
    raise InvalidInput(field_name, f"{field_name} must be a positive integer.")


def _text(value: object, field_name: str, max_chars: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field_name, f"{field_name} must be a string.")
    if len(value) > max_chars:
        raise InvalidInput(
            field_name, f"{field_name} is longer than {max_chars} characters."
        )
    value = value.strip()
    if required and not value:
        raise InvalidInput(field_name, f"{field_name} must not be empty.")
    if not value.isprintable():
        raise InvalidInput(field_name, f"{field_name} contains control characters.")
    return value


@dataclass(frozen=True)
class Lookup:
    """How a courier names a parcel: its fulfillment id or its tracking number."""

    fulfillment_id: int | None = None
    tracking_number: str | None = None

    def __post_init__(self) -> None:
        if (self.fulfillment_id is None) == (self.tracking_number is None):
            raise InvalidInput(
                "parcel", "Give either a fulfillment id or a tracking number."
            )
        if self.fulfillment_id is not None:
            object.__setattr__(
                self,
                "fulfillment_id",
                _positive_int(self.fulfillment_id, "fulfillment_id"),
            )
        else:
            object.__setattr__(
                self,
                "tracking_number",
                _text(
                    self.tracking_number,
                    "tracking_number",
                    MAX_TRACKING_CHARS,
                    required=True,
                ),
            )

    @property
    def key(self) -> str:
        if self.fulfillment_id is not None:
            return f"fulfillment:{self.fulfillment_id}"
        return f"tracking:{self.tracking_number}"

    def lock_records(self, channels: tuple[str, ...] | None) -> list[DeliveryCode]:
        """The parcel's current codes (at most two, enough to see ambiguity),
        locked. Plain SQL: building this query through the ORM cost a quarter of
        a verify's time."""
        column, value = (
            ("fulfillment_id", self.fulfillment_id)
            if self.fulfillment_id is not None
            else ("tracking_number", self.tracking_number)
        )
        params: list[object] = [value, CodeStatus.SUPERSEDED.value]
        sql = _LOCK_SQL[column]
        if channels is not None:
            sql += " AND channel IN ({})".format(", ".join(["%s"] * len(channels)))
            params.extend(channels)
        sql += " LIMIT 2"
        if connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        return list(DeliveryCode.objects.raw(sql, params))


_LOCK_SQL = {
    column: (
        f"SELECT * FROM {DeliveryCode._meta.db_table} "  # noqa: S608 (constants only)
        f"WHERE {column} = %s AND status <> %s"
    )
    for column in ("fulfillment_id", "tracking_number")
}


# --- results -------------------------------------------------------------------


@dataclass(frozen=True)
class IssueResult:
    record: DeliveryCode
    # A new code was generated (it should be e-mailed).
    created: bool
    # The order-level code was bound to this parcel (the customer already has it).
    bound: bool = False


@dataclass(frozen=True)
class RevealedCode:
    record: DeliveryCode
    # The plain code while it can still be used, else None.
    code: str | None = field(repr=False)


@dataclass(frozen=True)
class VerifyResult:
    """What the courier is told is only ``accepted`` and ``attempts_left``.

    Every failure is built the same way, whatever its cause, so the answer does not
    tell an unknown parcel from an expired code or a wrong one. ``outcome`` and
    ``record`` are for the audit trail and the host's timeline only.
    """

    accepted: bool
    attempts_left: int
    outcome: AttemptOutcome
    record: DeliveryCode | None = field(default=None, repr=False)
    # The caller accepted for this code moments ago asked again: nothing changed,
    # so nothing goes on the order's timeline.
    repeated: bool = False

    def public(self) -> dict[str, object]:
        return {"accepted": self.accepted, "attempts_left": self.attempts_left}


# --- issuing -------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """Who a new code is for: the order's account then ("" for a guest) and the
    address its e-mail goes to. Pinned on the code, never changed afterwards."""

    customer_id: str = ""
    email: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "customer_id",
            _text(self.customer_id or "", "customer_id", 255, required=False),
        )
        object.__setattr__(
            self, "email", _text(self.email or "", "email", 254, required=False)
        )


GUEST_WITHOUT_ADDRESS = Reader()


@dataclass(frozen=True)
class Pin:
    """Who may read a code, as stored on it: the account, and the keyed digest
    (under the code's own key) of the mailbox its e-mails go to."""

    customer_id: str
    recipient_digest: str

    @classmethod
    def of(cls, reader: Reader, keyring: Keyring) -> Pin:
        # No address, no mailbox to pin to: no reveal token opens it.
        digest = keyring.recipient_digest(reader.email) if reader.email else ""
        return cls(reader.customer_id, digest)

    @classmethod
    def carried(cls, source: DeliveryCode, current_email: str, keyring: Keyring) -> Pin:
        """An earlier code's pin, for a new code of the same order under the
        current key. A new code never reaches anyone its order's first code did
        not: not an address staff typed in later, nor an account attached later.
        Under another key the mailbox digest is recomputed only for the address
        it was pinned to; if the order's address changed since, no mailbox."""
        if not source.recipient_digest or source.key_id == keyring.current.key_id:
            return cls(source.customer_id, source.recipient_digest)
        # The old pin is under a key the issuing keyring may not hold (a channel
        # that moved to a key set of its own): check it with every key.
        if is_pinned_to(source, current_email, reading_keyring()):
            return cls(source.customer_id, keyring.recipient_digest(current_email))
        return cls(source.customer_id, "")


def _new_record(
    keyring: Keyring,
    limits: CodeLimits,
    actor: Actor,
    now: datetime,
    pin: Pin,
    **fields: Any,
) -> DeliveryCode:
    record = DeliveryCode(
        id=uuid.uuid4(),
        length=limits.length,
        max_attempts=limits.max_attempts,
        key_id=keyring.current.key_id,
        created_at=now,
        updated_at=now,
        customer_id=pin.customer_id,
        recipient_digest=pin.recipient_digest,
        **fields,
    )
    plain = codes.generate(limits.length)
    record.digest = keyring.digest(record.id, plain)
    record.sealed = keyring.seal(record.id, plain)
    record.save(force_insert=True)
    log_event(record, EventType.ISSUED, actor, now=now)
    return record


def log_event(
    record: DeliveryCode,
    type_: EventType,
    actor: Actor = SYSTEM,
    note: str = "",
    *,
    now: datetime | None = None,
) -> None:
    CodeEvent.objects.create(
        delivery_code=record,
        order_id=record.order_id,
        type=type_,
        actor=str(actor),
        note=note,
        created_at=now or timezone.now(),
    )


def _defaults(
    limits: CodeLimits | None, keyring: Keyring | None, now: datetime | None
) -> tuple[CodeLimits, Keyring, datetime]:
    return (
        limits or CodeLimits.from_settings(),
        keyring or Keyring.from_settings(),
        now or timezone.now(),
    )


def issue_for_order(
    order_id: object,
    *,
    channel: str,
    reader: Reader = GUEST_WITHOUT_ADDRESS,
    limits: CodeLimits | None = None,
    keyring: Keyring | None = None,
    now: datetime | None = None,
) -> IssueResult:
    """The order-level code, issued once per order whatever the number of calls,
    pinned to ``reader``: the order's account and e-mail at purchase."""
    order_uuid = _uuid(order_id, "order_id")
    channel = _text(channel, "channel", MAX_CHANNEL_CHARS, required=True)
    limits, keyring, now = _defaults(limits, keyring, now)

    existing = _current().filter(order_id=order_uuid, scope=CodeScope.ORDER).first()
    if existing is not None:
        return IssueResult(existing, created=False)
    try:
        with transaction.atomic():
            record = _new_record(
                keyring,
                limits,
                SYSTEM,
                now,
                Pin.of(reader, keyring),
                order_id=order_uuid,
                scope=CodeScope.ORDER,
                channel=channel,
            )
    except IntegrityError:
        # Another worker issued it between our read and our insert.
        existing = _current().get(order_id=order_uuid, scope=CodeScope.ORDER)
        return IssueResult(existing, created=False)
    return IssueResult(record, created=True)


def issue_for_parcel(
    order_id: object,
    fulfillment_id: object,
    *,
    channel: str,
    tracking_number: str = "",
    reader: Reader = GUEST_WITHOUT_ADDRESS,
    limits: CodeLimits | None = None,
    keyring: Keyring | None = None,
    now: datetime | None = None,
) -> IssueResult:
    """The parcel's code: the order-level one if still unbound, else a new one.

    Idempotent per parcel: a repeated event returns the code it already has.
    Shipping starts the validity clock. A new code keeps the pin of the order's
    first code (a bound order-level code its own, from purchase): an address or
    account staff set on the order later never receives a code. Only the order's
    first code is pinned to ``reader``.
    """
    order_uuid = _uuid(order_id, "order_id")
    parcel_id = _positive_int(fulfillment_id, "fulfillment_id")
    channel = _text(channel, "channel", MAX_CHANNEL_CHARS, required=True)
    tracking = _text(
        tracking_number, "tracking_number", MAX_TRACKING_CHARS, required=False
    )
    limits, keyring, now = _defaults(limits, keyring, now)

    # No read first: a parcel's first event is the usual case and runs inside
    # Saleor's orderFulfill; a repeated event hits the unique constraint instead.
    expires_at = now + limits.validity
    try:
        with transaction.atomic():
            # One statement: the order's unbound code, if any, and the first code
            # the order ever had, whose pin every later code of the order keeps.
            order_codes = list(
                DeliveryCode.objects.select_for_update()
                .filter(order_id=order_uuid)
                .order_by("created_at", "id")
            )
            order_code = next(
                (
                    code
                    for code in order_codes
                    if code.scope == CodeScope.ORDER
                    and code.fulfillment_id is None
                    and code.status == CodeStatus.ACTIVE
                ),
                None,
            )
            if order_code is not None:
                order_code.fulfillment_id = parcel_id
                order_code.tracking_number = tracking
                order_code.shipped_at = now
                order_code.expires_at = expires_at
                order_code.updated_at = now
                order_code.save(
                    update_fields=[
                        "fulfillment_id",
                        "tracking_number",
                        "shipped_at",
                        "expires_at",
                        "updated_at",
                    ]
                )
                log_event(
                    order_code,
                    EventType.BOUND,
                    note=f"fulfillment {parcel_id}",
                    now=now,
                )
                return IssueResult(order_code, created=False, bound=True)
            record = _new_record(
                keyring,
                limits,
                SYSTEM,
                now,
                (
                    Pin.carried(order_codes[0], reader.email, keyring)
                    if order_codes
                    else Pin.of(reader, keyring)
                ),
                order_id=order_uuid,
                fulfillment_id=parcel_id,
                scope=CodeScope.PARCEL,
                channel=channel,
                tracking_number=tracking,
                shipped_at=now,
                expires_at=expires_at,
            )
    except IntegrityError:
        existing = _current().get(fulfillment_id=parcel_id, channel=channel)
        return IssueResult(existing, created=False)
    return IssueResult(record, created=True)


def record_tracking(
    fulfillment_id: object, tracking_number: str, *, channel: str | None = None
) -> int:
    """Remember the parcel's tracking number so couriers can verify by it.
    ``channel``: the parcel's (None: a host with a single installation)."""
    parcel_id = _positive_int(fulfillment_id, "fulfillment_id")
    tracking = _text(
        tracking_number, "tracking_number", MAX_TRACKING_CHARS, required=False
    )
    now = timezone.now()
    parcel = _current().filter(fulfillment_id=parcel_id)
    if channel is not None:
        parcel = parcel.filter(channel=channel)
    with transaction.atomic():
        records = list(parcel.select_for_update())
        for record in records:
            if record.tracking_number == tracking:
                continue
            record.tracking_number = tracking
            record.updated_at = now
            record.save(update_fields=["tracking_number", "updated_at"])
            log_event(
                record,
                EventType.TRACKING_UPDATED,
                note=tracking[:MAX_REASON_CHARS],
                now=now,
            )
    return len(records)


# --- the customer --------------------------------------------------------------


def reveal(
    order_id: object, *, keyring: Keyring | None = None, now: datetime | None = None
) -> list[RevealedCode]:
    """The order's current codes, with the plain code of each one still usable.

    Opens every code of the order: callers must have proved the requester may read
    each of them. The API decides per code instead (``access.reads_code``).
    """
    order_uuid = _uuid(order_id, "order_id")
    keyring = keyring or reading_keyring()
    now = now or timezone.now()
    revealed = []
    for record in _current().filter(order_id=order_uuid):
        code = None
        if record.is_usable(now):
            code = keyring.open(record.id, record.key_id, record.sealed)
        revealed.append(RevealedCode(record, code))
    return revealed


def reading_keyring() -> Keyring:
    """Every key an issued code may be under: the host's (:class:`.ports.Host`)."""
    return get_host().keyring()


def open_code(record: DeliveryCode, keyring: Keyring | None = None) -> codes.PlainCode:
    """The plain code of one record, for the e-mail task."""
    keyring = keyring or reading_keyring()
    return keyring.open(record.id, record.key_id, record.sealed)


def is_pinned_to(record: DeliveryCode, email: str, keyring: Keyring) -> bool:
    """Whether ``email`` is the address the code was issued to (its pinned
    mailbox). False for a code pinned to no address, or whose key is gone."""
    if not record.recipient_digest or not email.strip():
        return False
    try:
        expected = keyring.recipient_digest(email, record.key_id)
    except ConfigurationError:
        return False
    return hmac.compare_digest(expected, record.recipient_digest)


ADDRESS_CHANGED = (
    "The order's e-mail address changed since this code was issued, so it is not "
    "sent to the new one; it stays with the address it was sent to."
)


def request_resend(
    record_id: object,
    *,
    limits: CodeLimits | None = None,
    now: datetime | None = None,
    current_email: str | None = None,
    keyring: Keyring | None = None,
) -> DeliveryCode:
    """Owe one more e-mail of this code, within its cooldown and daily cap.

    The send is counted and the e-mail marked due on the locked row, in one
    transaction; the caller queues the task after commit (the flows do). So many
    rapid calls owe one
    e-mail, and an e-mail still due is not owed twice (:class:`RateLimited`).
    ``current_email``, the order's address now, must be the one the code was
    issued to: a code is never sent to an address that did not receive it first.
    None skips that check (callers that already made it, and the engine's tests);
    the e-mail task checks the address again before anything is sent.
    """
    pk = _uuid(record_id, "delivery_code_id")
    limits = limits or CodeLimits.from_settings()
    now = now or timezone.now()
    with transaction.atomic():
        record = DeliveryCode.objects.select_for_update().filter(pk=pk).first()
        if record is None:
            raise NotFound("No such delivery code.")
        if not record.is_usable(now):
            raise InvalidState("This code can no longer be used, so it is not sent.")
        if current_email is not None and not is_pinned_to(
            record, current_email, keyring or reading_keyring()
        ):
            raise InvalidState(ADDRESS_CHANGED)
        _count_send(record, limits, now, enforce=True)
        log_event(record, EventType.EMAIL_QUEUED, now=now)
    return record


def _count_send(
    record: DeliveryCode, limits: CodeLimits, now: datetime, *, enforce: bool
) -> None:
    """Count one send and mark the e-mail due, on a locked row. The rules are the
    record's own (``ResendThrottleMixin.count_send``)."""
    record.count_send(
        limits, now, enforce=enforce, due_grace=settings.DELIVERY_OTP_EMAIL_DUE_GRACE
    )


def announce(
    record: DeliveryCode,
    *,
    limits: CodeLimits | None = None,
    now: datetime | None = None,
) -> None:
    """Owe the first e-mail of a new code; it counts towards the resend limits.

    The e-mail is marked due (the outbox); the caller queues it after commit
    (:func:`saleor_delivery_otp.tasks.schedule_email`), as the flows do.
    """
    limits = limits or CodeLimits.from_settings()
    now = now or timezone.now()
    with transaction.atomic():
        _count_send(record, limits, now, enforce=False)
        log_event(record, EventType.EMAIL_QUEUED, now=now)


def claim_due_emails(
    *, now: datetime | None = None, grace: timedelta | None = None, limit: int = 100
) -> list[str]:
    """The outbox: codes whose e-mail stayed due past ``grace``, claimed for sending.

    Only usable codes; at most ``limit`` per call, oldest first, skipping rows
    another worker holds. Each claimed mark is moved to ``now``, so a claim that
    gets lost again is retried after another grace period, not at every run. A
    first e-mail whose queuing was lost with its hook's follow-up is counted here.
    Returns the ids to queue (:func:`saleor_delivery_otp.tasks.queue_email`) once
    this has committed.
    """
    now = now or timezone.now()
    grace = settings.DELIVERY_OTP_EMAIL_DUE_GRACE if grace is None else grace
    limits = CodeLimits.from_settings()  # no limit is enforced: only the count
    with transaction.atomic():
        due = list(
            DeliveryCode.objects.select_for_update(skip_locked=True)
            .filter(email_due_at__lte=now - grace, status=CodeStatus.ACTIVE)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .order_by("email_due_at")[:limit]
        )
        for record in due:
            if record.last_sent_at is None:
                _count_send(record, limits, now, enforce=False)
                log_event(record, EventType.EMAIL_QUEUED, now=now)
        DeliveryCode.objects.filter(pk__in=[r.pk for r in due]).update(email_due_at=now)
        # Codes used, revoked or expired while their e-mail was due owe nothing.
        stale = list(
            DeliveryCode.objects.filter(email_due_at__isnull=False)
            .filter(~Q(status=CodeStatus.ACTIVE) | Q(expires_at__lte=now))
            .values_list("pk", flat=True)[:limit]
        )
        if stale:
            DeliveryCode.objects.filter(pk__in=stale).update(email_due_at=None)
    return [str(record.pk) for record in due]


# --- the courier ---------------------------------------------------------------


def verify(
    lookup: Lookup,
    code: object,
    actor: Actor,
    *,
    channels: Collection[str] | None = None,
    limits: CodeLimits | None = None,
    keyring: Keyring | None = None,
    now: datetime | None = None,
) -> VerifyResult:
    """Check a code at the door. Atomic, single use, limited attempts.

    A malformed code raises :class:`InvalidInput` and costs no attempt. Anything
    else is one audited attempt, in two statements on PostgreSQL: the lock, then
    the verdict with its log entry (a live code) or the log entry with the count
    of earlier failures (anything else).

    ``limits`` give the attempt limit an unknown parcel counts down from (pass the
    limits of the caller's channel), and the retry window.
    """
    if not isinstance(lookup, Lookup):
        raise InvalidInput(
            "parcel", "Give either a fulfillment id or a tracking number."
        )
    candidate = codes.normalize(code)
    scope = None
    if channels is not None:
        scope = tuple(
            _text(channel, "channel", MAX_CHANNEL_CHARS, required=True)
            for channel in channels
        )
    limits, keyring, now = _defaults(limits, keyring, now)

    with transaction.atomic():
        # A caller allowed in no channel sees no parcel: same answer as unknown.
        found = lookup.lock_records(scope) if scope != () else []
        record, outcome = _pick(found, now)
        if outcome is AttemptOutcome.USED and _is_retry(record, actor, limits, now):
            assert record is not None
            if _matches(keyring, record, candidate):
                # The caller that was accepted asks again (its answer was lost):
                # it typed this code itself, so "accepted" tells it nothing new.
                _log_attempt(lookup, record, AttemptOutcome.ACCEPTED, actor, now)
                return VerifyResult(
                    True, 0, AttemptOutcome.ACCEPTED, record, repeated=True
                )
            return _refuse(lookup, record, outcome, actor, limits, now)
        if outcome is not None:
            # Spend the same hashing work as a real check, so that a missing parcel
            # does not answer faster than a wrong code.
            keyring.digest(uuid.UUID(int=0), candidate)
            return _refuse(lookup, record, outcome, actor, limits, now)

        assert record is not None
        record.attempts += 1
        record.updated_at = now
        if _matches(keyring, record, candidate):
            record.status = CodeStatus.VERIFIED
            record.verified_at = now
            record.verified_by = str(actor)
            outcome = AttemptOutcome.ACCEPTED
        elif record.attempts >= record.max_attempts:
            record.status = CodeStatus.LOCKED
            outcome = AttemptOutcome.LOCKED_NOW
        else:
            outcome = AttemptOutcome.WRONG_CODE
        _save_verdict(record, lookup, outcome, actor, now)
    accepted = outcome is AttemptOutcome.ACCEPTED
    return VerifyResult(
        accepted, record.attempts_left if not accepted else 0, outcome, record
    )


def _matches(keyring: Keyring, record: DeliveryCode, candidate: str) -> bool:
    try:
        return keyring.matches(record.id, record.key_id, record.digest, candidate)
    except ConfigurationError:
        # The code's key was removed before the code expired: nothing can confirm
        # the code any more, as with a digest under another key. The courier gets
        # the answer of a wrong code, the parcel locks, staff regenerate it under
        # a current key; the operator learns why from this line (a key id is a
        # public fingerprint, not key material).
        logger.error(
            "Delivery code %s cannot be checked: its key %s is not configured.",
            record.id,
            record.key_id,
        )
        keyring.digest(uuid.UUID(int=0), candidate)
        return False


def _is_retry(
    record: DeliveryCode | None, actor: Actor, limits: CodeLimits, now: datetime
) -> bool:
    """Whether this caller was accepted for this code moments ago, with the code.

    A handover without code also sets ``verified_by`` but always with a reason in
    ``status_reason``, which verify never writes: staff who handed a parcel over
    without its code must not learn the code by trying.
    """
    return (
        record is not None
        and record.status == CodeStatus.VERIFIED
        and not record.status_reason
        and record.verified_by == str(actor)
        and record.verified_at is not None
        and now - record.verified_at <= limits.retry_window
    )


_OUTCOME_FOR_STATUS = {
    CodeStatus.VERIFIED: AttemptOutcome.USED,
    CodeStatus.LOCKED: AttemptOutcome.LOCKED,
    CodeStatus.EXPIRED: AttemptOutcome.EXPIRED,
    CodeStatus.REVOKED: AttemptOutcome.REVOKED,
}


def _pick(
    found: list[DeliveryCode], now: datetime
) -> tuple[DeliveryCode | None, AttemptOutcome | None]:
    """The record to check, or why there is none (outcome set).

    A code found past its expiry is marked expired here, in memory: the refusal
    writes it with its log entry.
    """
    if not found:
        return None, AttemptOutcome.UNKNOWN
    if len(found) > 1:
        return None, AttemptOutcome.AMBIGUOUS
    record = found[0]
    if record.status != CodeStatus.ACTIVE:
        return record, _OUTCOME_FOR_STATUS[CodeStatus(record.status)]
    if record.is_past_expiry(now):
        record.status = CodeStatus.EXPIRED
        record.updated_at = now
        return record, AttemptOutcome.EXPIRED
    return record, None


def _refuse(
    lookup: Lookup,
    record: DeliveryCode | None,
    outcome: AttemptOutcome,
    actor: Actor,
    limits: CodeLimits,
    now: datetime,
) -> VerifyResult:
    """A failure without a live code, answered like a wrong code would be.

    Attempts left are counted from the attempt log: per code when the parcel has
    one, so every name of the parcel gives the count its code would (a parcel
    locked under its fulfillment id answers 0 under its tracking number too); per
    name otherwise, from the limit of the caller's channel, so an unknown parcel
    runs down from that limit to zero exactly as a real one does.
    """
    limit = record.max_attempts if record is not None else limits.max_attempts
    failures = _log_refusal(lookup, record, outcome, actor, now)
    return VerifyResult(False, max(0, limit - failures - 1), outcome, record)


def _failures(lookup: Lookup, record: DeliveryCode | None) -> Any:
    attempts = VerificationAttempt.objects.filter(accepted=False)
    if record is not None:
        return attempts.filter(delivery_code=record)
    # An unknown parcel counts its own refusals only: a real parcel of another
    # channel (or Saleor installation) under the same tracking number keeps its
    # attempts to itself.
    return attempts.filter(lookup=lookup.key, delivery_code__isnull=True)


_VERDICT_FIELDS = ("attempts", "status", "verified_at", "verified_by", "updated_at")
_ATTEMPT_COLUMNS = (
    "delivery_code_id",
    "lookup",
    "channel",
    "actor",
    "accepted",
    "outcome",
    "created_at",
)
_INSERT_ATTEMPT = (  # noqa: S608 (built from model metadata, values are bound)
    "INSERT INTO {attempt} ({columns}) VALUES ({values})"
).format(
    attempt=VerificationAttempt._meta.db_table,
    columns=", ".join(_ATTEMPT_COLUMNS),
    values=", ".join(["%s"] * len(_ATTEMPT_COLUMNS)),
)
# The row update and its attempt-log entry in one statement: verify is the hot path
# of a courier's app, and each round trip to the database is most of its cost.
_VERDICT_SQL = (  # noqa: S608 (built from model metadata, values are bound)
    "WITH verdict AS (UPDATE {code} SET {assignments} WHERE id = %s) {insert}"
).format(
    code=DeliveryCode._meta.db_table,
    assignments=", ".join(f"{name} = %s" for name in _VERDICT_FIELDS),
    insert=_INSERT_ATTEMPT,
)
# A refusal: its log entry, the status of a code found expired, and the count of
# the earlier failures, in one statement. The SELECT reads the snapshot taken
# before the INSERT, so it does not see the new entry.
# (Built from model metadata; values are bound.)
_EXPIRE_CTE = (
    f", expired AS (UPDATE {DeliveryCode._meta.db_table} "  # noqa: S608
    "SET status = %s, updated_at = %s WHERE id = %s)"
)
# A parcel's refusals: a code's by its id; an unknown parcel's by its name, and
# only its own (not those of a real parcel of another channel under that name).
_COUNTED = {
    True: "delivery_code_id = %s",
    False: "lookup = %s AND delivery_code_id IS NULL",
}
_REFUSAL_SQL = {
    (by_code, expire): (
        f"WITH logged AS ({_INSERT_ATTEMPT}){_EXPIRE_CTE if expire else ''} "  # noqa: S608
        f"SELECT count(*) FROM {VerificationAttempt._meta.db_table} "
        f"WHERE {_COUNTED[by_code]} AND NOT accepted"
    )
    for by_code in (True, False)
    for expire in (True, False)
}


def _attempt_values(
    lookup: Lookup,
    record: DeliveryCode | None,
    outcome: AttemptOutcome,
    actor: Actor,
    now: datetime,
) -> list[Any]:
    return [
        record.pk if record is not None else None,
        lookup.key,
        record.channel if record is not None else "",
        str(actor),
        outcome is AttemptOutcome.ACCEPTED,
        outcome,
        now,
    ]


def _save_verdict(
    record: DeliveryCode,
    lookup: Lookup,
    outcome: AttemptOutcome,
    actor: Actor,
    now: datetime,
) -> None:
    if connection.vendor != "postgresql":
        record.save(update_fields=_VERDICT_FIELDS)
        _log_attempt(lookup, record, outcome, actor, now)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _VERDICT_SQL,
            [
                *(getattr(record, name) for name in _VERDICT_FIELDS),
                record.pk,
                *_attempt_values(lookup, record, outcome, actor, now),
            ],
        )


def _log_refusal(
    lookup: Lookup,
    record: DeliveryCode | None,
    outcome: AttemptOutcome,
    actor: Actor,
    now: datetime,
) -> int:
    """Log a refusal; the number of failures logged before it."""
    expire = outcome is AttemptOutcome.EXPIRED and record is not None
    if connection.vendor != "postgresql":
        if expire:
            assert record is not None
            record.save(update_fields=["status", "updated_at"])
        failures: int = _failures(lookup, record).count()
        _log_attempt(lookup, record, outcome, actor, now)
        return failures
    params = _attempt_values(lookup, record, outcome, actor, now)
    if expire:
        assert record is not None
        params += [CodeStatus.EXPIRED, now, record.pk]
    params.append(record.pk if record is not None else lookup.key)
    with connection.cursor() as cursor:
        cursor.execute(_REFUSAL_SQL[record is not None, expire], params)
        (count,) = cursor.fetchone()
    return int(count)


def _log_attempt(
    lookup: Lookup,
    record: DeliveryCode | None,
    outcome: AttemptOutcome,
    actor: Actor,
    now: datetime,
) -> None:
    VerificationAttempt.objects.create(
        delivery_code=record,
        lookup=lookup.key,
        channel=record.channel if record is not None else "",
        actor=str(actor),
        accepted=outcome is AttemptOutcome.ACCEPTED,
        outcome=outcome,
        created_at=now,
    )


# --- the courier's caller limit ------------------------------------------------
#
# Across requests, per authenticated caller, in Django's cache: the distinct parcels
# whose codes failed within a fixed window (DELIVERY_OTP_CALLER_WINDOW, aligned to
# the clock, so a caller may reach twice the limit across one window boundary).
# Cache operations are not SQL; verify's statement budget holds. If the cache is
# down the limit is skipped with a warning: the per-code lock in the database
# still holds, and couriers keep delivering.


def _caller_window(actor: Actor, now: datetime) -> tuple[str, int]:
    """The cache-key prefix of this caller's current window, and its seconds left."""
    length = max(1, int(settings.DELIVERY_OTP_CALLER_WINDOW.total_seconds()))
    window, into = divmod(int(now.timestamp()), length)
    caller = hashlib.sha256(str(actor).encode()).hexdigest()[:32]
    return f"delivery-otp:caller:{caller}:{window}", length - into


def check_caller(actor: Actor, *, now: datetime | None = None) -> None:
    """Refuse a caller whose codes failed for too many parcels lately.

    Raises :class:`RateLimited` before anything is read or counted; the first
    refusal of a window logs one warning with the caller, never a code.
    """
    limit = settings.DELIVERY_OTP_CALLER_FAILED_PARCELS
    prefix, seconds_left = _caller_window(actor, now or timezone.now())
    try:
        failed = cache.get(f"{prefix}:failed", 0)
        if failed < limit:
            return
        first_refusal = cache.add(f"{prefix}:warned", True, seconds_left)
    except Exception as error:
        _caller_limit_unavailable(error)
        return
    if first_refusal:
        logger.warning(
            "Caller %s failed delivery codes for %d parcels within %s; its verify "
            "calls are refused for %d s.",
            actor,
            failed,
            settings.DELIVERY_OTP_CALLER_WINDOW,
            seconds_left,
        )
    raise RateLimited(
        "Too many codes failed for different parcels; wait before verifying again.",
        retry_after=seconds_left,
    )


def note_failure(actor: Actor, lookup: Lookup, *, now: datetime | None = None) -> None:
    """Count a failed verify against its caller, once per parcel name a window."""
    prefix, seconds_left = _caller_window(actor, now or timezone.now())
    parcel = hashlib.sha256(lookup.key.encode()).hexdigest()[:32]
    try:
        if cache.add(f"{prefix}:parcel:{parcel}", True, seconds_left) and not (
            cache.add(f"{prefix}:failed", 1, seconds_left)
        ):
            cache.incr(f"{prefix}:failed")
    except Exception as error:
        _caller_limit_unavailable(error)


def _caller_limit_unavailable(error: Exception) -> None:
    logger.warning(
        "Delivery-code caller limit skipped, the cache failed: %s",
        type(error).__name__,
    )


# --- staff and lifecycle -------------------------------------------------------


def _locked_record(record_id: object) -> DeliveryCode:
    pk = _uuid(record_id, "delivery_code_id")
    record = DeliveryCode.objects.select_for_update().filter(pk=pk).first()
    if record is None:
        raise NotFound("No such delivery code.")
    return record


def regenerate(
    record_id: object,
    *,
    actor: Actor,
    current_email: str = "",
    limits: CodeLimits | None = None,
    keyring: Keyring | None = None,
    now: datetime | None = None,
) -> DeliveryCode:
    """Replace a code by a new one (lost, leaked or expired) and owe its e-mail.
    The old one dies.

    Each replacement is e-mailed, so replacements of one parcel's code are held to
    the resend limits: the cooldown from the last one, the daily cap over the last
    24 hours.

    The new code keeps the old one's pin: replacing a code never sends it to an
    address or account staff set on the order since (that would let staff read
    it). ``current_email``, the order's address now, only lets the pin move to a
    new key when it is still the pinned address.
    """
    limits, keyring, now = _defaults(limits, keyring, now)
    with transaction.atomic():
        old = _locked_record(record_id)
        if old.status not in (*_OPEN, CodeStatus.EXPIRED):
            raise InvalidState(f"A {old.status} code cannot be replaced.")
        _check_replacements(old, limits, now)
        old.status = CodeStatus.SUPERSEDED
        old.updated_at = now
        old.save(update_fields=["status", "updated_at"])
        log_event(old, EventType.SUPERSEDED, actor, now=now)
        new = _new_record(
            keyring,
            limits,
            actor,
            now,
            Pin.carried(old, current_email, keyring),
            order_id=old.order_id,
            fulfillment_id=old.fulfillment_id,
            scope=old.scope,
            channel=old.channel,
            tracking_number=old.tracking_number,
            shipped_at=old.shipped_at,
            expires_at=now + limits.validity if old.fulfillment_id else None,
        )
        # The new code's e-mail is owed in the same transaction that makes it.
        announce(new, limits=limits, now=now)
    return new


def _check_replacements(
    record: DeliveryCode, limits: CodeLimits, now: datetime
) -> None:
    # The codes this parcel (or the order's unbound code) had before: a superseded
    # row is never written again, so its updated_at is when it was replaced.
    day = timedelta(days=1)
    replaced = DeliveryCode.objects.filter(
        order_id=record.order_id,
        fulfillment_id=record.fulfillment_id,
        status=CodeStatus.SUPERSEDED,
        updated_at__gt=now - day,
    ).aggregate(count=Count("id"), first=Min("updated_at"), last=Max("updated_at"))
    if replaced["last"] is not None:
        wait = replaced["last"] + limits.resend_cooldown - now
        if wait > timedelta(0):
            raise RateLimited(
                "The code was replaced moments ago; please wait before replacing it "
                "again.",
                retry_after=max(1, int(wait.total_seconds() + 0.999)),
            )
    if replaced["count"] >= limits.resend_daily_cap:
        raise RateLimited(
            "The code was replaced too many times in the last 24 hours.",
            retry_after=max(
                1, int((replaced["first"] + day - now).total_seconds() + 0.999)
            ),
        )


def revoke(
    order_id: object,
    *,
    reason: str,
    fulfillment_id: object | None = None,
    actor: Actor = SYSTEM,
) -> int:
    """Retire the open codes of an order, or of one of its parcels (cancel, refund)."""
    order_uuid = _uuid(order_id, "order_id")
    reason = _text(reason, "reason", MAX_REASON_CHARS, required=True)
    records = _current().filter(order_id=order_uuid, status__in=_OPEN)
    if fulfillment_id is not None:
        records = records.filter(
            fulfillment_id=_positive_int(fulfillment_id, "fulfillment_id")
        )
    now = timezone.now()
    with transaction.atomic():
        revoked = list(records.select_for_update())
        for record in revoked:
            record.status = CodeStatus.REVOKED
            record.status_reason = reason
            record.updated_at = now
            record.save(update_fields=["status", "status_reason", "updated_at"])
            log_event(record, EventType.REVOKED, actor, reason, now=now)
    return len(revoked)


def expire_due(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Mark active codes past their expiry as expired; returns how many."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                DeliveryCode.objects.select_for_update(skip_locked=True)
                .filter(status=CodeStatus.ACTIVE, expires_at__lte=now)
                .order_by("expires_at")[:batch_size]
            )
            if not batch:
                return expired
            DeliveryCode.objects.filter(pk__in=[r.pk for r in batch]).update(
                status=CodeStatus.EXPIRED, updated_at=now
            )
            CodeEvent.objects.bulk_create(
                CodeEvent(
                    delivery_code=r,
                    order_id=r.order_id,
                    type=EventType.EXPIRED,
                    actor=str(SYSTEM),
                    created_at=now,
                )
                for r in batch
            )
        expired += len(batch)


def unlock(
    record_id: object,
    *,
    actor: Actor,
    reason: object,
    limits: CodeLimits | None = None,
) -> DeliveryCode:
    """Give a locked code its attempts back, e.g. after the customer called in.

    At most ``limits.max_unlocks`` times per code (counted from its UNLOCKED
    events): each unlock is a new set of guesses. Past that, regenerate.
    """
    reason = _text(reason, "reason", MAX_REASON_CHARS, required=True)
    limits = limits or CodeLimits.from_settings()
    now = timezone.now()
    with transaction.atomic():
        record = _locked_record(record_id)
        if record.status != CodeStatus.LOCKED:
            raise InvalidState("Only a locked code can be unlocked.")
        unlocks = record.events.filter(type=EventType.UNLOCKED).count()
        if unlocks >= limits.max_unlocks:
            raise InvalidState(
                f"This code was unlocked {unlocks} time{'s' * (unlocks != 1)}, the "
                "most allowed: regenerate it instead, which e-mails the customer a "
                "new code."
            )
        record.status = CodeStatus.ACTIVE
        record.attempts = 0
        record.updated_at = now
        record.save(update_fields=["status", "attempts", "updated_at"])
        log_event(record, EventType.UNLOCKED, actor, reason, now=now)
    return record


def handover_without_code(
    record_id: object, *, actor: Actor, reason: object
) -> DeliveryCode:
    """Staff record that the parcel was handed over without its code, and why."""
    reason = _text(reason, "reason", MAX_REASON_CHARS, required=True)
    now = timezone.now()
    with transaction.atomic():
        record = _locked_record(record_id)
        if record.status not in (*_OPEN, CodeStatus.EXPIRED):
            raise InvalidState(f"A {record.status} code cannot be overridden.")
        if record.fulfillment_id is None:
            raise InvalidState("This code is not bound to a parcel yet.")
        record.status = CodeStatus.VERIFIED
        record.status_reason = reason
        record.verified_at = now
        record.verified_by = str(actor)
        record.updated_at = now
        record.save(
            update_fields=[
                "status",
                "status_reason",
                "verified_at",
                "verified_by",
                "updated_at",
            ]
        )
        log_event(record, EventType.HANDOVER_WITHOUT_CODE, actor, reason, now=now)
    return record

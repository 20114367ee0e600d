"""One record per parcel's code, an attempt log and a lifecycle log.

Nothing here holds a plain code: see :mod:`saleor_delivery_otp.codes`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .exceptions import RateLimited

if TYPE_CHECKING:
    from .limits import CodeLimits


class CodeStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    VERIFIED = "verified", "Verified"
    LOCKED = "locked", "Locked"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    SUPERSEDED = "superseded", "Superseded"


class CodeScope(models.TextChoices):
    # Issued at purchase, before any parcel exists; bound to the first parcel that
    # needs a code, so the confirmation e-mail can carry it.
    ORDER = "order", "Order"
    # Issued for a further parcel when it is created.
    PARCEL = "parcel", "Parcel"


class SecretMixin(models.Model):
    """What replaces the code: a keyed digest and an encrypted display copy."""

    key_id = models.CharField(max_length=12)
    digest = models.BinaryField(max_length=32)
    sealed = models.BinaryField(max_length=64)
    length = models.PositiveSmallIntegerField()

    class Meta:
        abstract = True


class AttemptLimitMixin(models.Model):
    """Wrong attempts are counted in the row itself, under a row lock."""

    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField()

    class Meta:
        abstract = True

    @property
    def attempts_left(self) -> int:
        return max(0, self.max_attempts - self.attempts)


class ResendThrottleMixin(models.Model):
    """Cooldown and daily cap of the code's e-mail, kept with the code, and the
    outbox mark of an e-mail owed. The record owns these rules, as django-otp's
    ``ThrottlingMixin`` owns its own: :meth:`count_send`."""

    last_sent_at = models.DateTimeField(null=True, blank=True)
    sends_day = models.DateField(null=True, blank=True)
    sends_that_day = models.PositiveSmallIntegerField(default=0)
    # The outbox: set, an e-mail of this code is owed. Set in the transaction that
    # decides to send, moved to each attempt's start (after a failed one, to when
    # Celery's retry is due at the latest), cleared once the message is delivered;
    # a periodic task re-queues what stayed due past a grace period.
    email_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def count_send(
        self,
        limits: CodeLimits,
        now: datetime,
        *,
        enforce: bool,
        due_grace: timedelta,
        commit: bool = True,
    ) -> None:
        """Count one send and mark the e-mail due (the outbox), on a locked row.

        The counters mean "owed or sent": once this commits the e-mail is owed
        durably, and the outbox sends it even if the broker refuses the task now.
        ``enforce``: refuse (:class:`RateLimited`) within the cooldown, while an
        e-mail is still owed (``due_grace`` after its last attempt), or over the
        daily cap; a code's first e-mail is counted without them.
        """
        today = now.astimezone(UTC).date()
        sends = self.sends_that_day if self.sends_day == today else 0
        if enforce:
            if self.last_sent_at is not None:
                wait = self.last_sent_at + limits.resend_cooldown - now
                if wait > timedelta(0):
                    raise RateLimited(
                        "The code was sent moments ago; please wait before asking "
                        "again.",
                        retry_after=max(1, int(wait.total_seconds() + 0.999)),
                    )
            if self.email_due_at is not None:
                # Still owed (queued, retrying, or waiting for the outbox): asking
                # again would only owe a second copy of the same e-mail.
                due_by = max(self.email_due_at, now) + due_grace
                raise RateLimited(
                    "The code's e-mail is on its way; please wait before asking again.",
                    retry_after=max(1, int((due_by - now).total_seconds() + 0.999)),
                )
            if sends >= limits.resend_daily_cap:
                raise RateLimited(
                    "The code was sent too many times today.",
                    retry_after=max(1, int((_day_end(today) - now).total_seconds())),
                )
        self.sends_day = today
        self.sends_that_day = sends + 1
        self.last_sent_at = now
        self.email_due_at = now
        fields = ["sends_day", "sends_that_day", "last_sent_at", "email_due_at"]
        if hasattr(self, "updated_at"):
            self.updated_at = now
            fields.append("updated_at")
        if commit:
            self.save(update_fields=fields)


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


class DeliveryCodeQuerySet(models.QuerySet["DeliveryCode"]):
    def current(self) -> DeliveryCodeQuerySet:
        """Codes that still stand for their order or parcel: not replaced."""
        return self.exclude(status=CodeStatus.SUPERSEDED)

    def for_order(self, order_id: Any) -> DeliveryCodeQuerySet:
        return self.filter(order_id=order_id)


class DeliveryCode(SecretMixin, AttemptLimitMixin, ResendThrottleMixin, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.UUIDField(db_index=True)
    fulfillment_id = models.BigIntegerField(null=True, blank=True)
    scope = models.CharField(max_length=16, choices=CodeScope.choices)
    channel = models.CharField(max_length=255)
    tracking_number = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=CodeStatus.choices, default=CodeStatus.ACTIVE
    )
    # Why the status is what it is, when a person or a flow said so (revoke reason,
    # staff override reason). Never a code.
    status_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    shipped_at = models.DateTimeField(null=True, blank=True)
    # Null until the parcel ships: the validity runs from shipment.
    expires_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=255, blank=True, default="")
    # Who may read the code, pinned when it is issued, so that a later change of
    # the order's account or e-mail never makes it readable by anyone new: the
    # customer account that owned the order then (empty for a guest), and a keyed
    # digest of the address the code is e-mailed to.
    customer_id = models.CharField(max_length=255, blank=True, default="")
    recipient_digest = models.CharField(max_length=64, blank=True, default="")

    objects = DeliveryCodeQuerySet.as_manager()

    class Meta:
        db_table = "delivery_otp_code"
        ordering = ("created_at",)
        constraints = [
            # A parcel is its fulfillment id within its channel: hosts that serve
            # several Saleor installations (the App) name their channels apart,
            # and fulfillment ids repeat across installations.
            models.UniqueConstraint(
                fields=["fulfillment_id", "channel"],
                condition=Q(fulfillment_id__isnull=False) & ~Q(status="superseded"),
                name="delivery_otp_one_current_code_per_parcel",
            ),
            models.UniqueConstraint(
                fields=["order_id"],
                condition=Q(scope="order") & ~Q(status="superseded"),
                name="delivery_otp_one_order_level_code",
            ),
            models.CheckConstraint(
                condition=Q(attempts__lte=models.F("max_attempts")),
                name="delivery_otp_attempts_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(length__gte=4, length__lte=10),
                name="delivery_otp_length_4_to_10",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tracking_number"],
                condition=~Q(tracking_number=""),
                name="delivery_otp_tracking_idx",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="delivery_otp_active_expiry_idx",
            ),
            models.Index(
                fields=["email_due_at"],
                condition=Q(email_due_at__isnull=False),
                name="delivery_otp_email_due_idx",
            ),
        ]

    def __str__(self) -> str:
        # Deliberately says nothing about the code itself.
        return f"DeliveryCode {self.id} ({self.status})"

    def is_usable(self, now: datetime) -> bool:
        return self.status == CodeStatus.ACTIVE and not self.is_past_expiry(now)

    def is_past_expiry(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class AttemptOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    WRONG_CODE = "wrong_code", "Wrong code"
    # The wrong code that used up the last attempt.
    LOCKED_NOW = "locked_now", "Wrong code, now locked"
    LOCKED = "locked", "Code locked"
    EXPIRED = "expired", "Code expired"
    USED = "used", "Code already used"
    REVOKED = "revoked", "Code revoked"
    UNKNOWN = "unknown", "No code for this parcel"
    AMBIGUOUS = "ambiguous", "Tracking number matches several parcels"


class VerificationAttempt(models.Model):
    """Every verify call that reached the engine: who, when, what it gave. No code."""

    delivery_code = models.ForeignKey(
        DeliveryCode,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="verification_attempts",
    )
    # "fulfillment:<id>" or "tracking:<number>": how the courier named the parcel.
    lookup = models.CharField(max_length=300)
    # The channel of the code tried, when there was one.
    channel = models.CharField(max_length=255, blank=True, default="")
    actor = models.CharField(max_length=255)
    accepted = models.BooleanField()
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "delivery_otp_attempt"
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["lookup"], name="delivery_otp_attempt_lookup")]

    def __str__(self) -> str:
        return f"{self.lookup} {self.outcome} by {self.actor}"


class EventType(models.TextChoices):
    ISSUED = "issued", "Code issued"
    BOUND = "bound", "Order code bound to a parcel"
    TRACKING_UPDATED = "tracking_updated", "Tracking number recorded"
    EMAIL_QUEUED = "email_queued", "Code e-mail queued"
    EMAIL_SENT = "email_sent", "Code e-mail sent"
    SUPERSEDED = "superseded", "Replaced by a new code"
    REVOKED = "revoked", "Code revoked"
    EXPIRED = "expired", "Code expired"
    UNLOCKED = "unlocked", "Code unlocked by staff"
    HANDOVER_WITHOUT_CODE = "handover_without_code", "Handed over without code"


class CodeEvent(models.Model):
    """The lifecycle of a code outside verification, for audit and the timeline."""

    delivery_code = models.ForeignKey(
        DeliveryCode, on_delete=models.CASCADE, related_name="events"
    )
    order_id = models.UUIDField(db_index=True)
    type = models.CharField(max_length=32, choices=EventType.choices)
    actor = models.CharField(max_length=255)
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "delivery_otp_event"
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.type} by {self.actor}"


class DriverKey(models.Model):
    """A shop's own driver's access to the doorstep check (see :mod:`.drivers`).

    Only a SHA-256 digest of the key is kept: the key is 32 random bytes, so a
    slow hash would add nothing, and a stolen table opens no door. The prefix is
    the key's public part, for telling keys apart in lists and logs.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    # Channel slugs, comma-separated (slugs never hold a comma): portable across
    # the sandbox's SQLite and PostgreSQL, and read whole on every request anyway.
    channels = models.TextField()
    prefix = models.CharField(max_length=16)
    # SHA-256 of the whole key, looked up by equality (binary: no LIKE index).
    digest = models.BinaryField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=255, blank=True, default="")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=255, blank=True, default="")
    # Refreshed at most every few minutes, not on every request: see drivers.py.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "delivery_otp_driver_key"
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        # The prefix only: the rest of the key is never stored.
        return f"DriverKey {self.name} (dk_{self.prefix})"

    @property
    def channel_list(self) -> tuple[str, ...]:
        return tuple(slug for slug in self.channels.split(",") if slug)

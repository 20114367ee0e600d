"""Project-wide settings, each with its default and the reason for it.

Every value can be set in Django's settings under the same name. The Saleor plugin
overrides the per-channel ones (length, attempts, validity, resend limits) from its
Dashboard configuration through :class:`saleor_delivery_otp.limits.CodeLimits`; what is
here is the fallback for a channel that sets nothing, and for code that runs outside
a channel (Celery beat, the sandbox).
"""

from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings


class Settings:
    """Reads ``DELIVERY_OTP_*`` from Django's settings, falling back to defaults."""

    defaults: dict[str, Any] = {
        # Secret keys for the code's HMAC and for the encrypted display copy, newest
        # first. New codes use the first key; every listed key still verifies and
        # displays the codes issued under it, so rotation is: prepend a new key, keep
        # the old one until its codes have expired, then drop it. Empty means "derive
        # one key from SECRET_KEY" (with a logged warning): it works, but rotating
        # SECRET_KEY would then invalidate every issued code.
        "DELIVERY_OTP_KEYS": [],
        # Named key sets for channels that keep their codes under their own keys:
        # ``{"eu-2026": ["<newest>", "<older>", ...]}``, each list newest first (a
        # comma-separated string is accepted too). A channel names its set in the
        # Dashboard ("Key set"); the keys themselves never enter the database.
        "DELIVERY_OTP_CHANNEL_KEYS": {},
        # Dotted path of the host: the class (or a factory) implementing
        # saleor_delivery_otp.ports.Host that the engine asks about the shop it runs
        # in (orders, parcels, timeline, e-mail context, keys). Unset in Saleor: the
        # plugin declares itself. The sandbox and the Saleor App set their own.
        "DELIVERY_OTP_HOST": None,
        # Digits per code. Six gives 1 in 200,000 odds over five attempts, which is
        # the figure marketplaces use for doorstep codes; 4 to 10 is accepted.
        "DELIVERY_OTP_CODE_LENGTH": 6,
        # Wrong codes before a code locks. The lock lives in the database, not in a
        # cache, so a cache flush or a new courier device cannot reset it.
        "DELIVERY_OTP_MAX_ATTEMPTS": 5,
        # How long a code stays valid once its parcel ships. A delivery code proves a
        # handover, not a login, so it lives as long as a parcel may be in transit or
        # held at a pickup point, not the ten minutes of a login code.
        "DELIVERY_OTP_VALIDITY": timedelta(days=30),
        # Minimum pause between two e-mails of the same code asked for by the customer.
        "DELIVERY_OTP_RESEND_COOLDOWN": timedelta(seconds=60),
        # At most this many e-mails of one code per UTC day, the first one included.
        # Staff regenerating a parcel's code are held to the same figures: the
        # cooldown from the last replacement, the cap on replacements per 24 hours,
        # so a repeated click does not send the customer a stream of new codes.
        "DELIVERY_OTP_RESEND_DAILY_CAP": 5,
        # Staff unlocks of one code. Each unlock gives the courier a fresh set of
        # attempts, so without a cap "lock, unlock" repeats into unlimited guesses;
        # after the cap staff regenerate, which e-mails the customer a new code.
        "DELIVERY_OTP_MAX_UNLOCKS": 2,
        # How long the caller who was accepted for a parcel is told "accepted" again
        # when it repeats the same verify with the right code (a courier app retrying
        # after a time-out). It knew the code already; nobody else is told.
        "DELIVERY_OTP_RETRY_WINDOW": timedelta(minutes=10),
        # A caller (app or staff member, by its authenticated id, never its address)
        # whose codes fail for this many distinct parcels within
        # DELIVERY_OTP_CALLER_WINDOW is refused until the window ends, with one
        # logged warning. A courier mistypes a few codes a round; walking through
        # the shop's parcels fails dozens. Kept in Django's cache (Redis in Saleor):
        # a cache flush resets it, the per-code lock in the database stays.
        "DELIVERY_OTP_CALLER_FAILED_PARCELS": 30,
        "DELIVERY_OTP_CALLER_WINDOW": timedelta(minutes=10),
        # How long the Saleor plugin trusts an App token it has resolved, kept in
        # Django's cache under the token's SHA-256 (never the token): a courier's
        # steady stream of verifies then skips Saleor's App-token look-up (two
        # queries and a hash check). An app deactivated or a token deleted in
        # Saleor is refused at most this long after. Zero: look up every request.
        "DELIVERY_OTP_APP_TOKEN_CACHE": timedelta(seconds=30),
        # Dotted path of the callable that e-mails a code: ``sender(record, code)``.
        # Celery calls it with the plain code read back from the encrypted copy, so
        # the code never travels through the broker.
        "DELIVERY_OTP_EMAIL_SENDER": (
            "saleor_delivery_otp.emails.sending.send_code_email"
        ),
        # Single-e-mail mode: ``sender(payload, record, code)``, called by Celery; the
        # code is read back from the encrypted copy there, never put on the broker.
        "DELIVERY_OTP_CONFIRMATION_SENDER": (
            "saleor_delivery_otp.emails.sending.send_order_confirmation_email"
        ),
        # Retries of a failed e-mail, with exponential backoff capped at
        # DELIVERY_OTP_EMAIL_RETRY_BACKOFF_MAX seconds: about a day of SMTP outage.
        "DELIVERY_OTP_EMAIL_MAX_RETRIES": 10,
        "DELIVERY_OTP_EMAIL_RETRY_BACKOFF_MAX": 3600,
        # Codes the periodic expiry task retires per query, to keep each UPDATE short.
        "DELIVERY_OTP_EXPIRY_BATCH_SIZE": 500,
        # The e-mail outbox: a code e-mail still due this long after it was handed
        # to the broker (or last attempted) is queued again by the periodic
        # saleor_delivery_otp.send_due_emails task, at most this many per run. The
        # grace must exceed the SMTP timeout, so a send in progress is not doubled.
        "DELIVERY_OTP_EMAIL_DUE_GRACE": timedelta(minutes=2),
        "DELIVERY_OTP_EMAIL_DRAIN_BATCH_SIZE": 100,
    }

    def __getattr__(self, name: str) -> Any:
        if name in self.defaults:
            return getattr(django_settings, name, self.defaults[name])
        raise AttributeError(name)


settings = Settings()

# Settings whose value is a dotted path imported at use; the system check
# saleor_delivery_otp.E001 imports each one the project sets. None means not set.
IMPORTED_SETTINGS: tuple[str, ...] = (
    "DELIVERY_OTP_HOST",
    "DELIVERY_OTP_EMAIL_SENDER",
    "DELIVERY_OTP_CONFIRMATION_SENDER",
)

# Settings of earlier versions that DELIVERY_OTP_HOST replaced: no longer read
# (the system check saleor_delivery_otp.W004 says so when one is still set).
REPLACED_BY_HOST: tuple[str, ...] = (
    "DELIVERY_OTP_KEYRING",
    "DELIVERY_OTP_TASK_DB_ACCESS",
    "DELIVERY_OTP_EMAIL_CONTEXT",
    "DELIVERY_OTP_CONFIRMATION_CONTEXT",
)

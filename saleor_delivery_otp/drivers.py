"""Driver keys: a shop's own drivers verify codes at the door with one.

A driver key is issued by staff for a named driver and a set of channels, shown
once, and revocable. It grants exactly the doorstep check and the doorstep resend
in those channels: never a code, an e-mail address or an order's contents. It is
host-agnostic (a Saleor staff account would open the Dashboard with every
customer's data, and exists neither in the sandbox nor in an App host), so the
shared GraphQL entry authenticates it before asking the host.

Keys look like ``dk_<prefix>_<secret>``: 32 random bytes, of which only a SHA-256
digest is stored. A high-entropy random key needs no slow hash, and a digest that
is not under the code keyring survives key rotation. The lookup is by digest
(unique index): one indexed SELECT per request, outside verify's own statements.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.utils import timezone

from .audit import Actor
from .exceptions import InvalidInput, InvalidState, NotFound
from .models import DriverKey
from .ports import ANONYMOUS, Requestor, RequestorKind

KEY_PREFIX = "dk_"
# How the audit trail and the order timeline name a driver: "driver Marco".
DISPLAY_PREFIX = "driver "
MAX_NAME_CHARS = 100
MAX_CHANNELS = 50
MAX_KEY_CHARS = 100
# last_used_at is refreshed at most this often: a write on every verify would
# cost the courier's hot path a statement for a date nobody needs to the second.
LAST_USED_RESOLUTION = timedelta(minutes=15)
_SLUG = re.compile(r"[-.\w]{1,255}")
_KEY = re.compile(r"dk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")


def digest_of(key: str) -> bytes:
    return hashlib.sha256(key.encode("ascii")).digest()


def _name(value: object) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise InvalidInput(
            "name", f"Give the driver's name, 1 to {MAX_NAME_CHARS} characters."
        )
    return name


def clean_channels(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput("channels", "Give at least one channel slug.")
    slugs = tuple(dict.fromkeys(str(slug).strip() for slug in value))
    if len(slugs) > MAX_CHANNELS or not all(_SLUG.fullmatch(slug) for slug in slugs):
        raise InvalidInput(
            "channels", f"Give 1 to {MAX_CHANNELS} channel slugs (letters, digits, -)."
        )
    return slugs


def create(name: object, channels: object, *, by: Actor) -> tuple[DriverKey, str]:
    """A new key for a driver; the plain key is returned here and never again."""
    clean_name, slugs = _name(name), clean_channels(channels)
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    record = DriverKey.objects.create(
        name=clean_name,
        channels=",".join(slugs),
        prefix=prefix,
        digest=digest_of(key),
        created_by=str(by),
    )
    return record, key


def revoke(record: DriverKey, *, by: Actor, now: datetime | None = None) -> DriverKey:
    """The key stops working from the next request on."""
    if record.revoked_at is not None:
        raise InvalidState("This driver key is already revoked.")
    record.revoked_at = now or timezone.now()
    record.revoked_by = str(by)
    record.save(update_fields=["revoked_at", "revoked_by"])
    return record


def find(key_id: UUID) -> DriverKey:
    record = DriverKey.objects.filter(pk=key_id).first()
    if record is None:
        raise NotFound("No such driver key.", "id")
    return record


def manageable_by(record: DriverKey, channels: Iterable[str] | None) -> bool:
    """Staff manage a key when it serves only channels they may act in."""
    return channels is None or set(record.channel_list) <= set(channels)


def is_driver_key(token: str) -> bool:
    """Has the shape of a driver key: no other token does (Saleor's App tokens
    are letters and digits, its JWTs start with ``eyJ``)."""
    return len(token) <= MAX_KEY_CHARS and _KEY.fullmatch(token) is not None


def authenticate(key: str, *, now: datetime | None = None) -> DriverKey | None:
    """The live key behind this text, or None (unknown, malformed or revoked)."""
    if not is_driver_key(key):
        return None
    record = DriverKey.objects.filter(
        digest=digest_of(key), revoked_at__isnull=True
    ).first()
    if record is None:
        return None
    now = now or timezone.now()
    if record.last_used_at is None or now - record.last_used_at >= (
        LAST_USED_RESOLUTION
    ):
        record.last_used_at = now
        # Conditional, so concurrent requests of one driver write it once.
        DriverKey.objects.filter(pk=record.pk, revoked_at__isnull=True).exclude(
            last_used_at__gt=now - LAST_USED_RESOLUTION
        ).update(last_used_at=now)
    return record


def name_of(requestor: Requestor) -> str:
    """The driver's name as staff entered it."""
    return requestor.name.removeprefix(DISPLAY_PREFIX)


def requestor_from(request: Any) -> Requestor | None:
    """The driver behind ``Authorization: Bearer dk_...``; None for any other
    token (the host authenticates those). A driver key that is unknown or
    revoked is anonymous: refused like any stranger, from its next request on."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not is_driver_key(token):
        return None
    record = authenticate(token)
    if record is None:
        return ANONYMOUS
    return Requestor(
        RequestorKind.DRIVER,
        str(record.pk),
        f"{DISPLAY_PREFIX}{record.name}",
        channels=frozenset(record.channel_list),
    )

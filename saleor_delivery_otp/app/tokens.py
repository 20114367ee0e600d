"""The App tokens Saleor hands the App, sealed at rest.

An App token acts in the shop with the App's permissions (every order, every
customer's address), so the database holds it only as a Fernet token (AES-128-CBC
with HMAC-SHA256, from ``cryptography``) under keys kept outside the database:
``DELIVERY_OTP_APP_TOKEN_KEYS``, a list of Fernet keys, newest first. New seals use
the first key; every listed key still opens what it sealed. Rotation: prepend a new
key, run :meth:`Installation.reseal_token` on every installation (or wait for the
next re-installation), then drop the old key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SETTING = "DELIVERY_OTP_APP_TOKEN_KEYS"


class TokenUnreadable(Exception):
    """No configured key opens a stored token (its key was dropped too early), or
    the stored value was altered."""


def configured_keys() -> list[str]:
    """The setting as a list: a list of keys, or one string of comma-separated
    keys (as an environment variable gives it)."""
    value = getattr(settings, SETTING, None) or []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, Sequence):
        raise ImproperlyConfigured(f"{SETTING} must be a list of Fernet keys.")
    return [key.strip() for key in value if isinstance(key, str) and key.strip()]


def key_problems() -> list[str]:
    """What is wrong with the setting, one line a problem, never a key."""
    try:
        keys = configured_keys()
    except ImproperlyConfigured as exc:
        return [str(exc)]
    if not keys:
        return [f"{SETTING} is empty: the App cannot store an App token."]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                f"{SETTING}: key {position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes)."
            )
    return problems


def sealer() -> MultiFernet:
    """The configured keys, newest first. ImproperlyConfigured, naming no key, if
    there are none or one is malformed: a token is never stored in clear."""
    problems = key_problems()
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    return MultiFernet([Fernet(key) for key in configured_keys()])


def seal(token: str) -> str:
    return sealer().encrypt(token.encode()).decode("ascii")


def open_sealed(sealed: str) -> str:
    try:
        return sealer().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise TokenUnreadable(
            f"no key in {SETTING} opens this App token (was its key dropped?)"
        ) from None


def reseal(sealed: str) -> str:
    """``sealed`` under the newest key (MultiFernet.rotate)."""
    try:
        return sealer().rotate(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise TokenUnreadable(
            f"no key in {SETTING} opens this App token (was its key dropped?)"
        ) from None

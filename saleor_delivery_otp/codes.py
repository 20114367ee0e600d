"""Code generation and the cryptography that keeps codes out of the database.

A record never stores its code. It stores:

* ``digest``: HMAC-SHA256 over the record's id and the code, under a key kept outside
  the database. Binding the record id means a digest copied onto another parcel's
  record does not verify there.
* ``sealed``: the code encrypted with AES-256-GCM, the record id as associated data,
  so the customer can be shown the code again without the database alone revealing it.

Both keys are derived (HKDF) from one master secret per key id; ``key_id`` on the
record names the master secret, so older keys keep working after a rotation.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .exceptions import ConfigurationError, InvalidInput

logger = logging.getLogger(__name__)

MIN_LENGTH = 4
MAX_LENGTH = 10
# Anything longer than this is rejected before any other work: a courier types a
# handful of digits, never a kilobyte.
MAX_INPUT_CHARS = 64
MIN_KEY_CHARS = 32

_DIGITS = re.compile(r"[0-9]+")
_NONCE_BYTES = 12
# A reveal token is "<key id>.<22 base64url characters>" (132 bits of HMAC).
_REVEAL_MAC_CHARS = 22
MAX_REVEAL_TOKEN_CHARS = 64
_KEY_ID = re.compile(r"[0-9a-f]{12}")


class PlainCode(str):
    """A plain code. Its repr is masked, so error reporters that record local
    variables (Sentry does by default), tracebacks and debuggers do not show it;
    ``str()`` and formatting still give the digits, for the e-mail."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<delivery code>'"


def generate(length: int) -> PlainCode:
    """A uniformly random, zero-padded string of ``length`` ASCII digits."""
    check_length(length)
    return PlainCode(f"{secrets.randbelow(10**length):0{length}d}")


def check_length(length: int) -> None:
    if (
        not isinstance(length, int)
        or isinstance(length, bool)
        or not MIN_LENGTH <= length <= MAX_LENGTH
    ):
        raise ConfigurationError(
            f"Code length must be a whole number from {MIN_LENGTH} to {MAX_LENGTH}."
        )


def normalize(candidate: object) -> PlainCode:
    """The submitted code as ASCII digits, or :class:`InvalidInput`.

    Surrounding spaces, tabs and line breaks are forgiven (copy-paste artefacts);
    anything else that is not 0-9 is refused: full-width digits, inner spaces,
    control characters.
    The error never echoes the input.
    """
    if not isinstance(candidate, str):
        raise InvalidInput("code", "The code must be a string of digits.")
    if len(candidate) > MAX_INPUT_CHARS:
        raise InvalidInput("code", "The code is too long.")
    value = candidate.strip(" \t\r\n")
    if not value or not value.isascii() or not _DIGITS.fullmatch(value):
        raise InvalidInput("code", "The code must contain only the digits 0-9.")
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        raise InvalidInput(
            "code", f"The code must have {MIN_LENGTH} to {MAX_LENGTH} digits."
        )
    return PlainCode(value)


@dataclass(frozen=True)
class _Key:
    key_id: str
    secret: bytes = field(repr=False)

    def _derive(self, purpose: bytes) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"saleor-delivery-otp",
            info=purpose,
        ).derive(self.secret)

    @cached_property
    def mac_key(self) -> bytes:
        return self._derive(b"code-digest-v1")

    @cached_property
    def seal_key(self) -> AESGCM:
        return AESGCM(self._derive(b"display-copy-v1"))

    @cached_property
    def reveal_key(self) -> bytes:
        return self._derive(b"reveal-token-v1")

    @cached_property
    def recipient_key(self) -> bytes:
        return self._derive(b"recipient-v1")


def _as_key(raw: str | bytes) -> _Key:
    secret = raw.encode() if isinstance(raw, str) else bytes(raw)
    if len(secret) < MIN_KEY_CHARS:
        raise ConfigurationError(
            f"Each delivery-code key needs at least {MIN_KEY_CHARS} characters."
        )
    return _Key(key_id_for(secret), secret)


def key_id_for(secret: bytes) -> str:
    """A short public fingerprint that names a key on the records it protects."""
    return hashlib.sha256(b"delivery-otp-key-id\x00" + secret).hexdigest()[:12]


class Keyring:
    """The master secrets, newest first. Only the first issues new codes."""

    def __init__(
        self,
        secrets_: Sequence[str | bytes],
        *,
        older: Callable[[], Iterable[str | bytes]] | None = None,
    ):
        """``older``, if given, is asked once, and only when a record names a key
        not among ``secrets_``: older keys cost a look-up the usual case skips."""
        if not secrets_:
            raise ConfigurationError("At least one delivery-code key is needed.")
        keys = [_as_key(raw) for raw in secrets_]
        self._keys = {key.key_id: key for key in keys}
        self.current = keys[0]
        self._older = older

    @classmethod
    def from_settings(cls) -> Keyring:
        from django.conf import settings as django_settings

        from .conf import settings

        configured: Iterable[str | bytes] = settings.DELIVERY_OTP_KEYS or ()
        if isinstance(configured, str | bytes):
            configured = [configured]
        if configured:
            return _keyring(tuple(configured))
        _warn_derived_key()
        derived = hashlib.sha256(
            b"saleor-delivery-otp-fallback\x00" + django_settings.SECRET_KEY.encode()
        ).hexdigest()
        return _keyring((derived,))

    def _key(self, key_id: str) -> _Key:
        if key_id not in self._keys and self._older is not None:
            more, self._older = self._older(), None
            for raw in more:
                key = _as_key(raw)
                self._keys.setdefault(key.key_id, key)
        try:
            return self._keys[key_id]
        except KeyError:
            # The key was removed from the settings before its codes expired.
            raise ConfigurationError(
                "The key of this delivery code is not configured."
            ) from None

    def digest(self, record_id: UUID, code: str, key_id: str | None = None) -> bytes:
        key = self.current if key_id is None else self._key(key_id)
        return hmac.new(key.mac_key, _bind(record_id, code), hashlib.sha256).digest()

    def matches(self, record_id: UUID, key_id: str, digest: bytes, code: str) -> bool:
        """Constant-time check of a candidate code against a stored digest."""
        return hmac.compare_digest(bytes(digest), self.digest(record_id, code, key_id))

    def seal(self, record_id: UUID, code: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self.current.seal_key.encrypt(
            nonce, code.encode("ascii"), record_id.bytes
        )

    def open(self, record_id: UUID, key_id: str, sealed: bytes) -> PlainCode:
        sealed = bytes(sealed)
        try:
            plain = self._key(key_id).seal_key.decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], record_id.bytes
            )
        except InvalidTag:
            raise ConfigurationError(
                "The display copy of a code could not be opened."
            ) from None
        return PlainCode(plain.decode("ascii"))

    # --- who may read a code --------------------------------------------------

    def recipient_digest(self, email: str, key_id: str | None = None) -> str:
        """A keyed digest of an e-mail address, to pin a code to its mailbox
        without storing the address: hex HMAC-SHA256 over the casefolded address,
        under the record's key (``key_id``), so it is compared under the same one."""
        key = self.current if key_id is None else self._key(key_id)
        normalized = email.strip().casefold().encode("utf-8")
        return hmac.new(key.recipient_key, normalized, hashlib.sha256).hexdigest()

    def reveal_token(self, order_id: UUID, recipient_digest: str) -> str:
        """The secret the code e-mail's order-page link carries: it proves that
        the bearer read a message sent to the mailbox the code is pinned to.

        Derived, not stored: a database dump yields no token. Bound to the order
        and to the pinned mailbox, so an address that never received the code's
        e-mail cannot hold a token for it. Prefixed by the key id, so tokens
        signed before a rotation still check while their key is configured.
        """
        mac = self._reveal_mac(self.current, order_id, recipient_digest)
        return f"{self.current.key_id}.{mac}"

    def reveal_token_matches(
        self, token: object, order_id: UUID, recipient_digest: str
    ) -> bool:
        """Constant-time check of a submitted token; False for anything malformed,
        for a removed key, or for a record pinned to no mailbox."""
        if (
            not isinstance(token, str)
            or not recipient_digest
            or len(token) > MAX_REVEAL_TOKEN_CHARS
        ):
            return False
        key_id, dot, mac = token.partition(".")
        if not dot or not _KEY_ID.fullmatch(key_id) or not mac.isascii():
            return False
        try:
            key = self._key(key_id)
        except ConfigurationError:
            return False
        expected = self._reveal_mac(key, order_id, recipient_digest)
        return hmac.compare_digest(mac.encode("ascii"), expected.encode("ascii"))

    @staticmethod
    def _reveal_mac(key: _Key, order_id: UUID, recipient_digest: str) -> str:
        mac = hmac.new(
            key.reveal_key,
            order_id.bytes + b"\x00" + recipient_digest.encode("ascii"),
            hashlib.sha256,
        ).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii")[:_REVEAL_MAC_CHARS]


@functools.lru_cache(maxsize=8)
def _keyring(secrets_: tuple[str | bytes, ...]) -> Keyring:
    # Deriving keys costs more than a verify's HMAC: keep them per configured set.
    return Keyring(secrets_)


def _bind(record_id: UUID, code: str) -> bytes:
    return record_id.bytes + b"\x00" + code.encode("ascii")


_warned = False


def _warn_derived_key() -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "DELIVERY_OTP_KEYS is not set: delivery codes use a key derived from "
            "SECRET_KEY. Set DELIVERY_OTP_KEYS so that rotating SECRET_KEY does not "
            "invalidate issued codes."
        )

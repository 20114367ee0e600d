"""Webhook signatures: a delivery is read only if its installation signed it.

Saleor (3.23, no ``secretKey`` on the webhook) signs each delivery's exact body
with ``JWTManager.jws_encode``: a compact JWS, RS256, header ``kid`` (the key's
RFC 7638 thumbprint), ``b64: false`` and ``crit: ["b64"]`` (RFC 7797: the body is
signed as is), payload segment empty (detached). It goes in ``Saleor-Signature``.

The header is checked before any key is looked up, so a malformed or
wrong-algorithm signature costs no JWKS fetch; the key comes only from the
installation's own JWKS (``jwks.signing_key``), never from the JWS itself
(``jwk``, ``jku``, ``x5u`` headers are ignored), and PyJWT verifies with the
algorithm fixed to RS256, so ``none`` or HS256 keyed with the public key never
verify.

Call with the API URL of a known installation (looked up from ``Saleor-Api-Url``
first); an unknown installation is refused before this, without a fetch.
"""

from __future__ import annotations

import jwt
from django.core.cache.backends.base import BaseCache

from . import jwks

# A 4096-bit RS256 signature is 683 characters; the header well under 1 KiB.
MAX_SIGNATURE_CHARS = 4096

# Only RS256 registered: whatever a header says, no other algorithm can run.
_JWS = jwt.PyJWS(
    algorithms=[jwks.ALGORITHM], options={"enforce_minimum_key_length": True}
)


class SignatureInvalid(Exception):
    """The delivery is not proven to come from the installation: answer 401 and
    read nothing. ``reason`` is a short code for logs, without the signature."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _header(signature: object) -> dict[str, object]:
    if not isinstance(signature, str) or not signature:
        raise SignatureInvalid("missing")
    if len(signature) > MAX_SIGNATURE_CHARS or not signature.isascii():
        raise SignatureInvalid("malformed")
    segments = signature.split(".")
    if len(segments) != 3 or not segments[0] or not segments[2]:
        raise SignatureInvalid("malformed")
    if segments[1]:
        # Saleor's signature is detached; an attached payload is not the body.
        raise SignatureInvalid("not-detached")
    try:
        header = _JWS.get_unverified_header(signature)
    except jwt.PyJWTError as exc:
        raise SignatureInvalid("malformed") from exc
    if header.get("alg") != jwks.ALGORITHM:
        raise SignatureInvalid("algorithm")
    # ``is False``: a JSON 0 or "false" is not RFC 7797's false.
    if header.get("b64") is not False:
        raise SignatureInvalid("b64")
    if header.get("crit") != ["b64"]:
        raise SignatureInvalid("crit")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > jwks.MAX_KID_CHARS:
        raise SignatureInvalid("kid")
    return header


def verify_webhook(
    body: bytes,
    signature: str | None,
    saleor_api_url: str,
    *,
    cache: BaseCache | None = None,
    policy: jwks.JwksPolicy = jwks.DEFAULT_POLICY,
) -> None:
    """Return if ``signature`` (the ``Saleor-Signature`` header) is the
    installation's signature of exactly ``body`` (the raw request body, before
    any parsing); raise ``SignatureInvalid`` otherwise."""
    if not isinstance(body, bytes):
        raise TypeError("body must be the raw request body (bytes)")
    header = _header(signature)
    assert isinstance(signature, str)  # checked by _header
    try:
        key = jwks.signing_key(
            saleor_api_url, str(header["kid"]), cache=cache, policy=policy
        )
    except jwks.UnknownKeyId as exc:
        raise SignatureInvalid("unknown-kid") from exc
    except jwks.UntrustedApiUrl as exc:
        raise SignatureInvalid("api-url") from exc
    except jwks.JwksUnavailable as exc:
        raise SignatureInvalid("jwks-unavailable") from exc
    try:
        _JWS.decode(
            signature, key=key, algorithms=[jwks.ALGORITHM], detached_payload=body
        )
    except jwt.PyJWTError as exc:
        raise SignatureInvalid("bad-signature") from exc

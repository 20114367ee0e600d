"""The public keys of a Saleor installation: its JWKS, fetched, checked and cached.

Saleor signs its webhooks (a JWS in ``Saleor-Signature``) and its JWTs with one RSA
key and publishes the public half at ``/.well-known/jwks.json``, a route of the
same URL configuration as ``graphql/`` (``saleor/urls.py``): the JWKS is the
sibling of the API URL's ``graphql/``. Everything the App trusts about what Saleor
sends rests on these keys, so:

* only the installation's own API URL is ever fetched (callers pass the URL of a
  known installation, never one read from an unauthenticated request), over https
  unless the host is loopback or the policy opts in; no redirect leaves the origin;
* the answer is bounded (time and size), its JSON shape checked, and only RSA
  signing keys for RS256 of at least 2048 bits are kept;
* the keys are cached in Django's cache (shared by every replica) for a bounded
  time, keyed by a digest of the API URL; an unknown ``kid`` refetches once, and
  at most one fetch per installation happens per ``refetch_interval``, so a
  stranger sending random kids cannot make the App hammer Saleor.

On a cold cache, callers that arrive while another one fetches are refused (the
fetch is not waited for); Saleor retries its deliveries. Past ``ttl`` the keys
are refreshed while still in use, so this happens only after an idle spell.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

logger = logging.getLogger(__name__)

# Saleor's API route is ``^graphql/$`` (saleor/urls.py); the JWKS is its sibling.
API_PATH_SUFFIX = "/graphql/"
JWKS_PATH = ".well-known/jwks.json"
ALGORITHM = "RS256"
MIN_KEY_BITS = 2048
# Saleor publishes one key; room for a rotation and then some.
MAX_KEYS = 20
MAX_KID_CHARS = 256
MAX_REDIRECTS = 3
# Cache entries stay bounded whatever a caller asks for: a key Saleor removed must
# stop being trusted within this time.
MAX_TTL = 24 * 3600
CACHE_PREFIX = "delivery_otp:app:jwks"
# RSA private members: a JWKS that carries them is not Saleor's public document.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})


class JwksError(Exception):
    """The installation's keys cannot be used. Carries no key material."""


class UntrustedApiUrl(JwksError):
    """The API URL is not one Saleor serves its API at, or not over https."""


class JwksUnavailable(JwksError):
    """The JWKS could not be fetched or is not a usable key set."""


class UnknownKeyId(JwksError):
    """The ``kid`` is not among the installation's keys, even after a refetch."""


@dataclass(frozen=True)
class JwksPolicy:
    """How keys are fetched and kept. Times in whole seconds (Redis's cache
    backend truncates fractional timeouts)."""

    ttl: int = 600
    refetch_interval: int = 30
    connect_timeout: float = 3.05
    read_timeout: float = 5.0
    # The whole fetch, redirects included: a server trickling bytes stops here.
    deadline: float = 10.0
    max_bytes: int = 64 * 1024
    # Plain http to a non-loopback host lets anyone on the path swap the keys;
    # only for a private network the operator vouches for.
    insecure_http: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.ttl <= MAX_TTL:
            raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds")
        if not 1 <= self.refetch_interval <= self.ttl:
            raise ValueError("refetch_interval must be between 1 second and ttl")
        if self.max_bytes < 1 or self.deadline <= 0:
            raise ValueError("max_bytes and deadline must be positive")


DEFAULT_POLICY = JwksPolicy()


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def jwks_url(saleor_api_url: str, *, policy: JwksPolicy = DEFAULT_POLICY) -> str:
    """The JWKS URL of the installation whose API is at ``saleor_api_url``.

    The API URL is taken as Saleor sends it (``Saleor-Api-Url``, the JWTs' ``iss``:
    ``build_absolute_uri(reverse("api"))``), so it must end in ``/graphql/``;
    anything else is refused rather than guessed at.
    """
    if not isinstance(saleor_api_url, str) or len(saleor_api_url) > 2048:
        raise UntrustedApiUrl("not an API URL")
    try:
        parts = urlsplit(saleor_api_url)
        _port = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise UntrustedApiUrl("not an API URL") from exc
    hostname = parts.hostname or ""
    if (
        parts.scheme not in ("https", "http")
        or not hostname
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or not parts.path.endswith(API_PATH_SUFFIX)
    ):
        raise UntrustedApiUrl("not a Saleor API URL (…/graphql/)")
    if parts.scheme == "http" and not (_is_loopback(hostname) or policy.insecure_http):
        raise UntrustedApiUrl("a non-loopback Saleor must be reached over https")
    root = saleor_api_url[: -len("graphql/")]
    return root + JWKS_PATH


def _cache_keys(saleor_api_url: str) -> tuple[str, str]:
    digest = hashlib.sha256(saleor_api_url.encode("utf-8")).hexdigest()
    return f"{CACHE_PREFIX}:{digest}:keys", f"{CACHE_PREFIX}:{digest}:fetched"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _download(url: str, policy: JwksPolicy) -> bytes:
    """GET ``url``: same-origin redirects only, bounded in time and size."""
    started = time.monotonic()
    origin = _origin(url)
    for _hop in range(MAX_REDIRECTS + 1):
        response = requests.get(
            url,
            timeout=(policy.connect_timeout, policy.read_timeout),
            allow_redirects=False,
            stream=True,
            # Unencoded, so the size cap is the size read and no decompression
            # runs on what a stranger on the path might send.
            headers={"Accept": "application/json", "Accept-Encoding": "identity"},
        )
        with response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                if _origin(url) != origin:
                    raise JwksUnavailable("redirected away from the installation")
                continue
            if response.status_code != 200:
                raise JwksUnavailable(f"HTTP {response.status_code}")
            if response.headers.get("Content-Encoding", "identity") != "identity":
                raise JwksUnavailable("encoded")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > policy.max_bytes:
                raise JwksUnavailable("too large")
            body = bytearray()
            while True:
                # read1: one receive at most (each bounded by read_timeout), so
                # the deadline holds against a server trickling bytes.
                chunk = response.raw.read1(8192, decode_content=False)
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > policy.max_bytes:
                    raise JwksUnavailable("too large")
                if time.monotonic() - started > policy.deadline:
                    raise JwksUnavailable("too slow")
    raise JwksUnavailable("too many redirects")


def _usable_key(jwk: Any) -> tuple[str, dict[str, Any]] | None:
    """(kid, the JWK's public members) if ``jwk`` is a named RS256 signing key."""
    if not isinstance(jwk, dict):
        raise JwksUnavailable("a key is not an object")
    kid = jwk.get("kid")
    if (
        not isinstance(kid, str)
        or not kid
        or len(kid) > MAX_KID_CHARS
        or jwk.get("kty") != "RSA"
        or jwk.get("alg", ALGORITHM) != ALGORITHM
        or jwk.get("use", "sig") != "sig"
        or _PRIVATE_MEMBERS & jwk.keys()
        or not isinstance(jwk.get("n"), str)
        or not isinstance(jwk.get("e"), str)
    ):
        return None
    public = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    try:
        key = RSAAlgorithm.from_jwk(public)
    except (InvalidKeyError, ValueError, TypeError):
        return None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_KEY_BITS:
        return None
    return kid, public


def parse_jwks(document: bytes) -> dict[str, dict[str, Any]]:
    """The RS256 keys of a JWKS document, by kid. Other key types are skipped;
    a document that is not a key set, or has none usable, is refused."""
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwksUnavailable("not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksUnavailable("not a JWKS")
    if len(data["keys"]) > MAX_KEYS:
        raise JwksUnavailable("too many keys")
    keys: dict[str, dict[str, Any]] = {}
    for jwk in data["keys"]:
        usable = _usable_key(jwk)
        if usable is None:
            continue
        kid, public = usable
        if kid in keys:
            # Two keys under one kid: which one Saleor signs with is unknowable.
            raise JwksUnavailable("duplicate kid")
        keys[kid] = public
    if not keys:
        raise JwksUnavailable("no RS256 key")
    return keys


def _fetch(
    saleor_api_url: str, cache: BaseCache, policy: JwksPolicy
) -> dict[str, dict[str, Any]] | None:
    """Fetch and cache the keys, unless a fetch for this installation happened in
    the last ``refetch_interval`` (on any replica): then None."""
    keys_key, fetched_key = _cache_keys(saleor_api_url)
    # add() is atomic: of concurrent callers, one fetches.
    if not cache.add(fetched_key, time.time(), timeout=policy.refetch_interval):
        return None
    url = jwks_url(saleor_api_url, policy=policy)
    try:
        keys = parse_jwks(_download(url, policy))
    except requests.RequestException as exc:
        logger.warning("JWKS of %s not fetched: %s", saleor_api_url, type(exc).__name__)
        raise JwksUnavailable(type(exc).__name__) from exc
    except JwksUnavailable as exc:
        logger.warning("JWKS of %s refused: %s", saleor_api_url, exc)
        raise
    # Kept past ttl by one interval: while one caller refreshes stale keys, the
    # others (blocked by the marker) still verify with them.
    entry = {"keys": keys, "at": time.time()}
    cache.set(keys_key, entry, timeout=policy.ttl + policy.refetch_interval)
    return keys


def signing_key(
    saleor_api_url: str,
    kid: str,
    *,
    cache: BaseCache | None = None,
    policy: JwksPolicy = DEFAULT_POLICY,
) -> rsa.RSAPublicKey:
    """The installation's public key named ``kid``.

    From the cache while fresh (``ttl``); keys older than that, or an unknown
    kid, cost one fetch, if none happened in the last ``refetch_interval``. A key
    Saleor removed is trusted at most ``ttl + refetch_interval`` after the fetch
    that last listed it, whether the refresh succeeds or not.

    Raises ``UnknownKeyId`` when the kid is not the installation's,
    ``JwksUnavailable`` when no keys can be had, ``UntrustedApiUrl`` for a URL
    that is not a Saleor API URL.
    """
    cache = cache if cache is not None else default_cache
    jwks_url(saleor_api_url, policy=policy)  # refuse a bad URL before any look-up
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_CHARS:
        raise UnknownKeyId("no usable kid")
    keys_key, _ = _cache_keys(saleor_api_url)
    entry = cache.get(keys_key)
    keys: dict[str, dict[str, Any]] | None = entry["keys"] if entry else None
    fresh = entry is not None and time.time() - entry["at"] < policy.ttl
    if keys is None or not fresh or kid not in keys:
        try:
            fetched = _fetch(saleor_api_url, cache, policy)
        except JwksUnavailable:
            if keys is None:
                raise
            fetched = None  # Saleor unreachable: the keys we have, within bounds
        if fetched is not None:
            keys = fetched
        elif keys is None:
            # Another caller is fetching or just failed to: what it stored, if any.
            entry = cache.get(keys_key)
            if entry is None:
                raise JwksUnavailable("no keys cached and a fetch was recent")
            keys = entry["keys"]
    if kid not in keys:
        raise UnknownKeyId("kid not in the installation's JWKS")
    return cast(rsa.RSAPublicKey, RSAAlgorithm.from_jwk(keys[kid]))

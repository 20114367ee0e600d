"""Saleor's JWTs, verified offline against the installation's JWKS.

Two kinds reach the App (claims from ``saleor/core/jwt.py``, 3.23):

* a customer's or staff member's **access token** (``tokenCreate``,
  ``tokenRefresh``): ``type: "access"``, ``owner: "saleor"``, ``user_id`` (the
  User's global ID), ``email``, ``is_staff``, ``token`` (the user's token key);
* the **Dashboard token** the Dashboard hands an App's pages (``App.accessToken``,
  an extension's ``accessToken``): ``type: "thirdparty"``, ``app`` (the App's
  global ID), ``permissions`` (the App's and the user's in common: what the token
  may do in Saleor's API), ``user_permissions`` (all of the user's own, whatever
  the App holds), maybe ``app_extension`` and ``aud`` (the App's audience).

Both are RS256 with ``kid``, ``iss`` = ``build_absolute_uri(reverse("api"))``
(``JWTManager.get_issuer``): the installation's API URL, the very string Saleor
sends in ``Saleor-Api-Url``. Each verifier accepts only its own kind: a Dashboard
token handed to another App cannot act as that user towards this one, and no
refresh or e-mail-change token passes for an access token.

What offline verification cannot see: a token revoked before its ``exp``
(``tokensDeactivateAll``, a password change, a deactivated user; Saleor checks
``token`` against the user's row). Saleor's access tokens live 5 minutes by
default (``JWT_TTL_ACCESS``, ``JWT_TTL_APP_ACCESS``); that is the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.core.cache.backends.base import BaseCache

from . import jwks

ACCESS_TYPE = "access"
THIRDPARTY_TYPE = "thirdparty"
SALEOR_OWNER = "saleor"
# Saleor's clock and the App's agree within this (both NTP-synchronised).
LEEWAY = timedelta(seconds=10)
# A Dashboard token lists permission names; a few hundred bytes each way.
MAX_TOKEN_CHARS = 16 * 1024
MAX_PERMISSIONS = 200

_JWT = jwt.PyJWT(options={"enforce_minimum_key_length": True})
_JWS = jwt.PyJWS(
    algorithms=[jwks.ALGORITHM], options={"enforce_minimum_key_length": True}
)


class TokenInvalid(Exception):
    """Not a valid token of this installation (and kind): treat the caller as
    unauthenticated. ``reason`` is a short code for logs, without the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SaleorToken:
    """What a verified token says about its bearer."""

    user_id: str  # the User's global ID, as Saleor's API names them
    email: str
    is_staff: bool
    # The permission names the token grants, or None when it does not carry them
    # (a plain access token: ask Saleor for the user's permissions).
    permissions: frozenset[str] | None
    expires_at: datetime
    app_id: str | None = None  # Dashboard tokens: the App they were issued to
    app_extension_id: str | None = None
    # Dashboard tokens: every permission the user holds in Saleor (the claim
    # ``user_permissions``), also those the App lacks: what tells the App's pages
    # whether the user may, say, configure Apps (MANAGE_APPS). None when absent.
    user_permissions: frozenset[str] | None = None


def issuer_of(
    saleor_api_url: str, *, policy: jwks.JwksPolicy = jwks.DEFAULT_POLICY
) -> str:
    """The ``iss`` of the installation's tokens: its API URL, checked as one."""
    jwks.jwks_url(saleor_api_url, policy=policy)
    return saleor_api_url


def _claims(
    token: object,
    saleor_api_url: str,
    audience: str | None,
    cache: BaseCache | None,
    policy: jwks.JwksPolicy,
    leeway: timedelta,
) -> dict[str, Any]:
    if not isinstance(token, str) or not token:
        raise TokenInvalid("missing")
    if len(token) > MAX_TOKEN_CHARS or not token.isascii() or token.count(".") != 2:
        raise TokenInvalid("malformed")
    try:
        header = _JWS.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("malformed") from exc
    if header.get("alg") != jwks.ALGORITHM:
        raise TokenInvalid("algorithm")
    # A webhook's signature (b64: false, detached) is no token, whatever it signs.
    if "b64" in header or "crit" in header:
        raise TokenInvalid("malformed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenInvalid("kid")
    try:
        issuer = issuer_of(saleor_api_url, policy=policy)
        key = jwks.signing_key(saleor_api_url, kid, cache=cache, policy=policy)
    except jwks.UnknownKeyId as exc:
        raise TokenInvalid("unknown-kid") from exc
    except jwks.UntrustedApiUrl as exc:
        raise TokenInvalid("api-url") from exc
    except jwks.JwksUnavailable as exc:
        raise TokenInvalid("jwks-unavailable") from exc
    try:
        claims = _JWT.decode(
            token,
            key=key,
            algorithms=[jwks.ALGORITHM],
            issuer=issuer,
            # PyJWT refuses a token that names an audience when none is given.
            audience=audience,
            leeway=leeway,
            options={"require": ["exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid("expired") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenInvalid("issuer") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenInvalid("audience") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid("bad-token") from exc
    if claims.get("owner") != SALEOR_OWNER:
        # Signed by Saleor for a plugin (e.g. OpenID Connect), which alone
        # decides whether it still holds.
        raise TokenInvalid("owner")
    return claims


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise TokenInvalid(f"claim-{name}")
    return value


def _permissions(
    claims: dict[str, Any], name: str = "permissions"
) -> frozenset[str] | None:
    value = claims.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > MAX_PERMISSIONS
        or not all(isinstance(item, str) for item in value)
    ):
        raise TokenInvalid(f"claim-{name}")
    return frozenset(value)


def _token(claims: dict[str, Any], *, app_id: str | None) -> SaleorToken:
    is_staff = claims.get("is_staff")
    if not isinstance(is_staff, bool):
        raise TokenInvalid("claim-is_staff")
    _text(claims, "token")  # every Saleor user token carries the user's key
    extension = claims.get("app_extension")
    if extension is not None and not isinstance(extension, str):
        raise TokenInvalid("claim-app_extension")
    return SaleorToken(
        user_id=_text(claims, "user_id"),
        email=_text(claims, "email"),
        is_staff=is_staff,
        permissions=_permissions(claims),
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
        app_id=app_id,
        app_extension_id=extension,
        user_permissions=_permissions(claims, "user_permissions"),
    )


def verify_user_token(
    token: str | None,
    saleor_api_url: str,
    *,
    audience: str | None = None,
    cache: BaseCache | None = None,
    policy: jwks.JwksPolicy = jwks.DEFAULT_POLICY,
    leeway: timedelta = LEEWAY,
) -> SaleorToken:
    """A customer's or staff member's access token of this installation.

    ``audience``: a token requested with ``tokenCreate(audience: ...)`` carries
    ``aud: "custom:<audience>"``; it passes only if that is ``audience``, and a
    token naming any audience is refused when ``audience`` is None.
    """
    claims = _claims(token, saleor_api_url, audience, cache, policy, leeway)
    if claims.get("type") != ACCESS_TYPE:
        raise TokenInvalid("type")
    if "app" in claims:
        raise TokenInvalid("type")
    return _token(claims, app_id=None)


def verify_dashboard_token(
    token: str | None,
    saleor_api_url: str,
    app_id: str,
    *,
    audience: str | None = None,
    cache: BaseCache | None = None,
    policy: jwks.JwksPolicy = jwks.DEFAULT_POLICY,
    leeway: timedelta = LEEWAY,
) -> SaleorToken:
    """The token the Dashboard hands this App's pages (the order widget's
    ``accessToken``, App Bridge's token), for the App ``app_id`` (its global ID in
    this installation). ``audience``: the App's ``audience`` from its manifest, if
    it declares one. The caller checks ``permissions`` (e.g. MANAGE_ORDERS) and
    answers 403 for a valid token that lacks one."""
    if not isinstance(app_id, str) or not app_id:
        raise ValueError("app_id is the App's global ID in this installation")
    claims = _claims(token, saleor_api_url, audience, cache, policy, leeway)
    if claims.get("type") != THIRDPARTY_TYPE:
        raise TokenInvalid("type")
    if claims.get("app") != app_id:
        raise TokenInvalid("app")
    verified = _token(claims, app_id=app_id)
    if verified.permissions is None:
        # Saleor always lists them in a Dashboard token; without them the page
        # could not tell what the user may do.
        raise TokenInvalid("claim-permissions")
    return verified

"""Saleor's GraphQL API as the App reaches it: over HTTP, with an App token.

:func:`normalize_api_url` gives a Saleor API URL its one written form, the key of an
installation: the ``Saleor-Api-Url`` header of a registration or a webhook, and the
shop owner's allow-list, are compared only in that form. :func:`execute` sends one
GraphQL document with a token, bounded in time and size, without following
redirects (a redirect would carry the token to another address).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from graphql_relay import from_global_id

logger = logging.getLogger(__name__)

# Connect and read timeouts. Saleor waits 18 s for the register endpoint's answer
# (its COMMON_REQUESTS_TIMEOUT), and a registration may call Saleor twice.
TIMEOUT = (3.05, 5.0)
# An answer larger than this is refused unread beyond it: ``app { id }`` is a few
# hundred bytes, and no query of the App needs more than this.
MAX_ANSWER_BYTES = 1024 * 1024
MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}


class InvalidAPIURL(ValueError):
    """Not a Saleor API URL the App accepts (the message says why)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_api_url(value: object) -> str:
    """``value`` as ``scheme://host[:port]/path``: scheme and host lower-cased, the
    default port dropped, the path as given (Saleor's ``/graphql/``).

    https only; http only to a loopback address (tests, a Saleor on the same
    machine): the App token travels to this URL, and the URL's Saleor posts it to
    the App. No user, password, query or fragment.
    """
    if not isinstance(value, str):
        raise InvalidAPIURL("must be a string")
    text = value.strip()
    if not text:
        raise InvalidAPIURL("is empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidAPIURL(f"is longer than {MAX_URL_LENGTH} characters")
    if not text.isascii() or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidAPIURL("has spaces, control or non-ASCII characters")
    if "?" in text or "#" in text:
        raise InvalidAPIURL("has a query or a fragment")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidAPIURL("is not a URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidAPIURL("must start with https://")
    if "@" in parts.netloc:
        raise InvalidAPIURL("has a user name or password")
    host = parts.hostname
    if not host:
        raise InvalidAPIURL("has no host")
    if scheme == "http" and not is_loopback(host):
        raise InvalidAPIURL("must use https (http only to a loopback address)")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


class SaleorError(Exception):
    """Saleor could not be asked, or answered something else than GraphQL."""


class SaleorUnavailable(SaleorError):
    """No usable answer: unreachable, timed out, a redirect, a server error, not
    JSON, too large. Nothing is known about the token."""


class TokenRefused(SaleorError):
    """Saleor answered, and the token does not authenticate an app there."""


def execute(
    api_url: str,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> dict[str, Any]:
    """The GraphQL answer (``{"data": ..., "errors": [...]}``) of ``query`` sent to
    ``api_url`` with ``Authorization: Bearer <token>``.

    Raises :class:`TokenRefused` on HTTP 401 or 403, :class:`SaleorUnavailable` on
    anything but a JSON object with HTTP 200 (GraphQL errors are the caller's to
    read). The token is in no message and no log line.
    """
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = variables
    try:
        with requests.post(
            api_url,
            json=body,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=TIMEOUT,
            allow_redirects=False,
            stream=True,
        ) as response:
            status = response.status_code
            raw = _read_capped(response, max_bytes)
    except requests.RequestException as exc:
        # The exception's text names the URL, never the headers: still, say only
        # its type.
        raise SaleorUnavailable(f"no answer ({type(exc).__name__})") from None
    if status in (401, 403):
        raise TokenRefused(f"HTTP {status}")
    if status != 200:
        raise SaleorUnavailable(f"HTTP {status}")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise SaleorUnavailable("the answer is not JSON") from None
    if not isinstance(document, dict):
        raise SaleorUnavailable("the answer is not a GraphQL response")
    return document


def _read_capped(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SaleorUnavailable(f"the answer is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > max_bytes:
            raise SaleorUnavailable(f"the answer is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


APP_QUERY = "query DeliveryOTPApp { app { id identifier } }"


@dataclass(frozen=True)
class SaleorApp:
    """The app a token authenticates, as Saleor names it."""

    id: str  # Saleor's global ID, e.g. "QXBwOjE3"
    identifier: str | None  # the manifest's ``id`` the app was installed from


def fetch_app(api_url: str, token: str) -> SaleorApp:
    """Which app ``token`` authenticates at ``api_url``: ``query { app { id } }``.

    A staff user's or customer's token, an unknown, deleted or deactivated app's
    token: Saleor answers ``app: null`` (with a PermissionDenied error), which is
    :class:`TokenRefused`.
    """
    document = execute(api_url, token, APP_QUERY)
    data = document.get("data")
    app = data.get("app") if isinstance(data, dict) else None
    if app is None and (data is not None or document.get("errors")):
        raise TokenRefused("Saleor names no app for this token")
    if not isinstance(app, dict):
        raise SaleorUnavailable("the answer is not a GraphQL response")
    app_id = app.get("id")
    identifier = app.get("identifier")
    if not isinstance(app_id, str) or not app_id or len(app_id) > 255:
        raise SaleorUnavailable("the answer has no app id")
    if identifier is not None and not isinstance(identifier, str):
        raise SaleorUnavailable("the answer's app identifier is not a string")
    return SaleorApp(id=app_id, identifier=identifier)


def saleor_pk(global_id: str, type_name: str) -> str:
    """The database id inside one of Saleor's global IDs, as the plugin names
    users and apps (``"7"``, not ``"VXNlcjo3"``); "" if it is not one."""
    try:
        found_type, pk = from_global_id(global_id)
    except Exception:
        return ""
    return pk if found_type == type_name else ""

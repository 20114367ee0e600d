"""A Saleor installation's keys, for the App's tests: an RSA key pair, its JWKS
served over real HTTP on 127.0.0.1, and webhook signatures and JWTs made exactly
as Saleor 3.23 makes them (``saleor/core/jwt_manager.py``, ``saleor/core/jwt.py``).

``JwksServer`` counts every request, so a test sees each fetch the App makes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

JWKS_PATH = "/.well-known/jwks.json"


@cache
def rsa_key(number: int, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The ``number``-th test key: generated once per run (RSA key generation is
    the slow part of these tests)."""
    del number
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return json.loads(RSAAlgorithm.to_jwk(key.public_key()))


def thumbprint(key: rsa.RSAPrivateKey) -> str:
    """RFC 7638, as Saleor names its key (authlib's ``JsonWebKey.thumbprint``)."""
    jwk = public_jwk(key)
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":")
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


def saleor_jwk(key: rsa.RSAPrivateKey, kid: str | None = None) -> dict[str, Any]:
    """One entry of ``JWTManager.get_jwks()``."""
    jwk = public_jwk(key)
    jwk.update({"use": "sig", "kid": kid or thumbprint(key), "alg": "RS256"})
    return jwk


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.owner.requests.append(self.path)
        self.server.owner.respond(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: JwksServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The App hanging up on a misbehaving answer is what the tests want.
        pass


@dataclass
class JwksServer:
    """Serves ``document`` at ``/.well-known/jwks.json``; ``respond`` can be
    replaced to misbehave."""

    document: Any = field(default_factory=lambda: {"keys": []})
    requests: list[str] = field(default_factory=list)
    respond: Callable[[BaseHTTPRequestHandler], None] = field(init=False)

    def __post_init__(self) -> None:
        self.respond = self.serve_document
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        # A short poll: shutdown() waits for it, at every test's teardown.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.origin}/graphql/"

    @property
    def fetches(self) -> int:
        return self.requests.count(JWKS_PATH)

    def serve_document(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path != JWKS_PATH:
            send(handler, 404, b"not found")
            return
        body = (
            self.document
            if isinstance(self.document, bytes)
            else json.dumps(self.document).encode()
        )
        send(handler, 200, body, "application/json")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "text/plain",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


class KeyServer(Protocol):
    """Where a Saleor's JWKS is served (``document``) beside its API: a
    :class:`JwksServer`, or a whole fake Saleor (tests/fake_saleor.py)."""

    document: Any

    @property
    def api_url(self) -> str: ...


@dataclass
class Installation:
    """One Saleor: its signing key, its JWKS server, its API URL (= ``iss``)."""

    key: rsa.RSAPrivateKey
    server: KeyServer

    @property
    def kid(self) -> str:
        return thumbprint(self.key)

    @property
    def api_url(self) -> str:
        return self.server.api_url

    def publish(self, *keys: rsa.RSAPrivateKey) -> None:
        """What its JWKS lists: its own key unless told otherwise."""
        self.server.document = {"keys": [saleor_jwk(k) for k in keys or (self.key,)]}

    def rotate(self, key: rsa.RSAPrivateKey) -> None:
        """Saleor restarted with a new RSA_PRIVATE_KEY: it signs and publishes it."""
        self.key = key
        self.publish()

    def sign(self, body: bytes, key: rsa.RSAPrivateKey | None = None) -> str:
        """``JWTManager.jws_encode(body)``: the ``Saleor-Signature`` header."""
        key = key or self.key
        return jwt.api_jws.encode(
            body,
            key=key,
            algorithm="RS256",
            headers={"kid": thumbprint(key), "crit": ["b64"]},
            is_payload_detached=True,
        )

    def token(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        headers: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """``create_access_token(user)``: a customer's access token, 5 minutes;
        ``claims`` override or add to Saleor's, ``drop`` removes some."""
        key = key or self.key
        now = datetime.now(tz=UTC)
        payload: dict[str, Any] = {
            "iat": now,
            "owner": "saleor",
            "iss": self.api_url,
            "exp": now + timedelta(minutes=5),
            "token": "Zq3w8Kp0",
            "email": "anna@example.com",
            "type": "access",
            "user_id": "VXNlcjo3",  # User:7
            "is_staff": False,
        }
        payload.update(claims)
        for name in drop:
            payload.pop(name)
        return jwt.api_jwt.encode(
            payload,
            key,
            algorithm="RS256",
            headers={"kid": thumbprint(key), **(headers or {})},
        )

    def dashboard_token(self, app_id: str = "QXBwOjE=", **claims: Any) -> str:
        """``create_access_token_for_app(app, user)``: what the Dashboard hands the
        App's pages for staff member 5 (``App:1`` by default)."""
        defaults: dict[str, Any] = {
            "type": "thirdparty",
            "email": "staff@example.com",
            "user_id": "VXNlcjo1",  # User:5
            "is_staff": True,
            "app": app_id,
            "permissions": ["MANAGE_ORDERS"],
            "user_permissions": ["MANAGE_ORDERS", "MANAGE_PRODUCTS"],
        }
        return self.token(**{**defaults, **claims})


@contextmanager
def installation(number: int) -> Iterator[Installation]:
    server = JwksServer()
    try:
        saleor = Installation(rsa_key(number), server)
        saleor.publish()
        yield saleor
    finally:
        server.close()


def raw_jws(
    header: dict[str, Any],
    signed_payload: bytes,
    key: rsa.RSAPrivateKey | None,
    *,
    payload_segment: str = "",
    signature: bytes | None = None,
) -> str:
    """A compact JWS with any header: signed with RS256 over
    ``base64url(header) + "." + signed_payload`` (or ``signature`` as given)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    if signature is None:
        assert key is not None
        algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)
        signature = algorithm.sign(head.encode() + b"." + signed_payload, key)
    return f"{head}.{payload_segment}.{b64url(signature)}"


def wait_past(seconds: float) -> None:
    """Sleep until a cache timeout of ``seconds`` has certainly passed."""
    time.sleep(seconds + 0.05)

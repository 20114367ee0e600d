"""A fake Saleor GraphQL API for the App's tests: a real HTTP server on 127.0.0.1,
in a thread, answering ``query { app { id identifier } }`` for the App tokens it
knows, and as Saleor 3.23 does for any other token (``app: null`` with a
PermissionDenied error).

Every request it receives is kept (``requests``), so a test can prove that a token
went where it should and nowhere else.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from saleor_delivery_otp.app.manifest import APP_IDENTIFIER

GRAPHQL_PATH = "/graphql/"

PERMISSION_DENIED = {
    "message": (
        "You need one of the following permissions: AUTHENTICATED_STAFF_USER, "
        "AUTHENTICATED_APP"
    ),
    "extensions": {"exception": {"code": "PermissionDenied"}},
}


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class FakeSaleor:
    """``apps`` maps an App token to (app id, identifier). ``answer``, when set,
    replaces the GraphQL answer: (status, headers, body)."""

    apps: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    answer: tuple[int, dict[str, str], bytes] | None = None
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{GRAPHQL_PATH}"

    def install(
        self, token: str, app_id: str, identifier: str | None = APP_IDENTIFIER
    ) -> None:
        self.apps[token] = (app_id, identifier)

    def uninstall(self, token: str) -> None:
        self.apps.pop(token, None)

    def respond(self, received: Received) -> tuple[int, dict[str, str], bytes]:
        if self.delay:
            time.sleep(self.delay)
        if self.answer is not None:
            return self.answer
        if received.method != "POST" or received.path != GRAPHQL_PATH:
            return 404, {}, b"not found"
        authorization = received.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        app = self.apps.get(token) if scheme.lower() == "bearer" else None
        if app is None:
            document: dict = {"data": {"app": None}, "errors": [PERMISSION_DENIED]}
        else:
            document = {"data": {"app": {"id": app[0], "identifier": app[1]}}}
        return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()


@contextmanager
def running(fake: FakeSaleor | None = None) -> Iterator[FakeSaleor]:
    fake = fake or FakeSaleor()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = Received(
                method=self.command,
                path=self.path,
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            fake.requests.append(received)
            status, headers, body = fake.respond(received)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    # A short poll: shutdown() waits for it, at every test's end.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""A fake Saleor for the App's tests: a real HTTP server on 127.0.0.1, in a thread,
answering the GraphQL the App sends as Saleor 3.23 answers it, and serving its
JWKS (``document``) at ``/.well-known/jwks.json``, so that one fake is one whole
Saleor for ``tests.app_keys.Installation`` (signatures, JWTs, API).

What it answers, by the token in ``Authorization: Bearer``:

- ``app { ... }``: the app an App token names (``install``); ``app: null`` with a
  PermissionDenied error for any other token;
- ``me { ... }``: the staff member a user JWT is (``staff``), else PermissionDenied;
- ``order(id:)``: an order of ``orders``, to an app holding MANAGE_ORDERS;
- ``shop { name }``: to anyone;
- ``orderNoteAdd`` and ``updateMetadata``: to an app holding MANAGE_ORDERS, kept in
  ``notes`` and ``metadata``.

Only the fields asked for are answered. Every request it receives is kept
(``requests``), so a test can prove that a token went where it should and nowhere
else, and how many calls the App made.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import parse
from graphql.language import ast

from saleor_delivery_otp.app.manifest import APP_IDENTIFIER, APP_NAME

GRAPHQL_PATH = "/graphql/"
JWKS_PATH = "/.well-known/jwks.json"
MANAGE_ORDERS = "MANAGE_ORDERS"

PERMISSION_DENIED = {
    "message": (
        "You need one of the following permissions: AUTHENTICATED_STAFF_USER, "
        "AUTHENTICATED_APP"
    ),
    "extensions": {"exception": {"code": "PermissionDenied"}},
}
NO_MANAGE_ORDERS = {
    "message": "You need one of the following permissions: MANAGE_ORDERS",
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

    @property
    def token(self) -> str:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else ""

    @property
    def fields(self) -> tuple[str, ...]:
        """The root fields of its GraphQL operation (``()`` if it has none)."""
        if self.path != GRAPHQL_PATH or self.method != "POST":
            return ()
        try:
            return tuple(f.name.value for f in _operation(self.json()["query"]))
        except Exception:
            return ()


@dataclass(frozen=True)
class App:
    id: str
    identifier: str | None
    name: str
    permissions: frozenset[str]


@dataclass
class FakeSaleor:
    """``apps`` maps an App token to its app, ``staff`` a user's JWT to what
    ``me`` answers for it, ``orders`` an order's global ID to the order. ``answer``,
    when set, replaces every GraphQL answer: (status, headers, body)."""

    apps: dict[str, App] = field(default_factory=dict)
    staff: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What Saleor knows of each order now, as the App's ``DeliveryOtpOrderNow``
    # query reads it (app/reconcile.py): the order with its lines and parcels.
    truth: dict[str, dict[str, Any]] = field(default_factory=dict)
    shop_name: str = "Example Shop"
    # The JWKS at /.well-known/jwks.json (tests.app_keys.Installation.publish sets
    # it); None: 404.
    document: Any = None
    answer: tuple[int, dict[str, str], bytes] | None = None
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    # What the write-backs wrote: (token, order id, message) and
    # (token, object id, key, value).
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    metadata: list[tuple[str, str, str, str]] = field(default_factory=list)
    port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{GRAPHQL_PATH}"

    def install(
        self,
        token: str,
        app_id: str,
        identifier: str | None = APP_IDENTIFIER,
        *,
        name: str = APP_NAME,
        permissions: tuple[str, ...] = (MANAGE_ORDERS,),
    ) -> None:
        self.apps[token] = App(app_id, identifier, name, frozenset(permissions))

    def uninstall(self, token: str) -> None:
        self.apps.pop(token, None)

    def calls(self, root_field: str) -> list[Received]:
        """The GraphQL requests that asked for ``root_field``."""
        return [r for r in self.requests if root_field in r.fields]

    def respond(self, received: Received) -> tuple[int, dict[str, str], bytes]:
        if self.delay:
            time.sleep(self.delay)
        if received.method == "GET" and received.path == JWKS_PATH:
            if self.document is None:
                return 404, {}, b"not found"
            return 200, {"Content-Type": "application/json"}, _dump(self.document)
        if self.answer is not None:
            return self.answer
        if received.method != "POST" or received.path != GRAPHQL_PATH:
            return 404, {}, b"not found"
        try:
            body = received.json()
            selections = _operation(body["query"])
        except Exception:
            return 400, {}, b'{"errors": [{"message": "Syntax Error"}]}'
        variables = body.get("variables") or {}
        if "DeliveryOtpOrderNow" in str(body.get("query")):
            return self._order_now(received.token, variables.get("id"))
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for selection in selections:
            name = selection.name.value
            arguments = {
                a.name.value: _value(a.value, variables) for a in selection.arguments
            }
            value, error = self._resolve(name, arguments, received.token)
            if error is not None:
                errors.append(error)
            alias = selection.alias.value if selection.alias else name
            data[alias] = _project(value, selection.selection_set)
        document: dict[str, Any] = {"data": data}
        if errors:
            document["errors"] = errors
        return 200, {"Content-Type": "application/json"}, _dump(document)

    def _order_now(self, token: str, order_id: object) -> tuple[int, dict, bytes]:
        """The whole order, as Saleor answers the App's query of it (no
        projection: the fake keeps exactly the fields that query asks for)."""
        app = self.apps.get(token)
        if app is None or MANAGE_ORDERS not in app.permissions:
            document: dict[str, Any] = {
                "data": {"order": None},
                "errors": [NO_MANAGE_ORDERS],
            }
        else:
            document = {"data": {"order": self.truth.get(str(order_id))}}
        return 200, {"Content-Type": "application/json"}, _dump(document)

    def _resolve(
        self, name: str, arguments: dict[str, Any], token: str
    ) -> tuple[Any, dict[str, Any] | None]:
        app = self.apps.get(token)
        manages_orders = app is not None and MANAGE_ORDERS in app.permissions
        if name == "app":
            if app is None:
                return None, PERMISSION_DENIED
            return {"id": app.id, "identifier": app.identifier, "name": app.name}, None
        if name == "me":
            me = self.staff.get(token)
            return (me, None) if me is not None else (None, PERMISSION_DENIED)
        if name == "shop":
            return {"name": self.shop_name}, None
        if name == "order":
            if not manages_orders:
                return None, NO_MANAGE_ORDERS
            return self.orders.get(arguments.get("id")), None
        if name == "orderNoteAdd":
            if not manages_orders:
                return None, NO_MANAGE_ORDERS
            order_id = arguments.get("order")
            if order_id not in self.orders:
                return {"errors": [{"field": "id", "code": "NOT_FOUND"}]}, None
            message = (arguments.get("input") or {}).get("message")
            self.notes.append((token, order_id, message))
            return {"errors": []}, None
        if name == "updateMetadata":
            if not manages_orders:
                return None, NO_MANAGE_ORDERS
            for item in arguments.get("input") or ():
                self.metadata.append(
                    (token, arguments.get("id"), item.get("key"), item.get("value"))
                )
            return {"errors": []}, None
        return None, {"message": f'Cannot query field "{name}" on type "Query".'}


def _dump(document: Any) -> bytes:
    return json.dumps(document).encode()


def _operation(query: str) -> list[ast.Field]:
    definition = parse(query).definitions[0]
    assert isinstance(definition, ast.OperationDefinition)
    return [s for s in definition.selection_set.selections if isinstance(s, ast.Field)]


def _value(node: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Variable):
        return variables.get(node.name.value)
    if isinstance(node, ast.ObjectValue):
        return {f.name.value: _value(f.value, variables) for f in node.fields}
    if isinstance(node, ast.ListValue):
        return [_value(v, variables) for v in node.values]
    if isinstance(node, ast.IntValue):
        return int(node.value)
    return getattr(node, "value", None)


def _project(value: Any, selection_set: Any) -> Any:
    """``value`` with only the fields asked for, as GraphQL answers."""
    if selection_set is None or value is None:
        return value
    if isinstance(value, list):
        return [_project(item, selection_set) for item in value]
    return {
        (s.alias.value if s.alias else s.name.value): _project(
            value.get(s.name.value), s.selection_set
        )
        for s in selection_set.selections
    }


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


def orders_answer(*nodes: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Saleor's answer to the App's ``orders`` query (one page), for ``answer``."""
    document = {
        "data": {
            "orders": {
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "edges": [{"node": node} for node in nodes],
            }
        }
    }
    return 200, {"Content-Type": "application/json"}, _dump(document)

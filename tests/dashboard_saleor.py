"""A Saleor for the App's Dashboard pages: the fake GraphQL API of
tests/fake_saleor.py that also serves its JWKS (so the Dashboard tokens made by
tests/app_keys.py verify against it), answers the queries the pages send, by
operation name, and serves "Dashboard" pages that frame the App as Saleor's
Dashboard does (for the browser tests).

One installation of the App in it: app ``App:1`` (the Dashboard tokens' default
``app`` claim) with the App token :data:`APP_TOKEN`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from graphql_relay import from_global_id, to_global_id

from saleor_delivery_otp.app import tokens
from saleor_delivery_otp.app.models import Installation

from . import app_keys
from .fake_saleor import FakeSaleor, Received, running

APP_ID = "QXBwOjE="  # App:1
APP_TOKEN = "AppT0kenOfTheDeliveryCodesApp1"
CHANNEL = "default-channel"
OTHER_CHANNEL = "wholesale"
_OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")

Handler = Callable[["DashboardSaleor", dict[str, Any], str], dict[str, Any]]


def _me(saleor: DashboardSaleor, variables: dict[str, Any], token: str) -> dict:
    if saleor.staff_channels is False or token.count(".") != 2:
        return {"data": {"me": None}}
    channels = saleor.staff_channels
    return {
        "data": {
            "me": {
                "restrictedAccessToChannels": channels is not None,
                "accessibleChannels": [{"slug": slug} for slug in channels or ()],
            }
        }
    }


def _channels(saleor: DashboardSaleor, variables: dict[str, Any], token: str) -> dict:
    if token != APP_TOKEN:
        return {"data": {"channels": None}, "errors": [{"message": "denied"}]}
    return {"data": {"channels": saleor.channels}}


def _slugs(root: str, known: Callable[[DashboardSaleor], set[str]]) -> Handler:
    def answer(saleor: DashboardSaleor, variables: dict[str, Any], token: str) -> dict:
        found = [slug for slug in variables["slugs"] if slug in known(saleor)]
        edges = [{"node": {"slug": slug}} for slug in found[: variables["first"]]]
        return {"data": {root: {"edges": edges}}}

    return answer


def _apps(saleor: DashboardSaleor, variables: dict[str, Any], token: str) -> dict:
    # app(id:) answers staff without MANAGE_APPS (saleor/graphql/app/schema.py).
    if token.count(".") != 2:
        return {"data": None, "errors": [{"message": "denied"}]}
    data = {}
    for alias, global_id in variables.items():
        pk = from_global_id(global_id)[1]
        data[alias] = {"id": global_id} if pk in saleor.apps_in_shop else None
    return {"data": data}


def _order(saleor: DashboardSaleor, variables: dict[str, Any], token: str) -> dict:
    order_id = from_global_id(variables["id"])[1]
    order = saleor.orders.get(order_id)
    return {"data": {"order": order}}


HANDLERS: dict[str, Handler] = {
    "DeliveryOTPDashboardStaff": _me,
    "DeliveryOTPChannels": _channels,
    "DeliveryOTPCategories": _slugs("categories", lambda s: s.categories),
    "DeliveryOTPProductTypes": _slugs("productTypes", lambda s: s.product_types),
    "DeliveryOTPApps": _apps,
    "DeliveryOTPOrder": _order,
}


@dataclass
class DashboardSaleor(FakeSaleor):
    # The JWKS document (app_keys.Installation.publish sets it).
    document: Any = field(default_factory=lambda: {"keys": []})
    channels: list[dict[str, str]] = field(
        default_factory=lambda: [
            {"slug": CHANNEL, "name": "Default channel", "currencyCode": "EUR"},
            {"slug": OTHER_CHANNEL, "name": "Wholesale", "currencyCode": "USD"},
        ]
    )
    categories: set[str] = field(default_factory=lambda: {"phones", "laptops"})
    product_types: set[str] = field(default_factory=lambda: {"smartphone"})
    apps_in_shop: set[str] = field(default_factory=lambda: {"1", "17"})
    # None: every channel; a list: restricted to those slugs; False: ``me`` null.
    staff_channels: list[str] | None | bool = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Served as text/html at GET <path> (a page framing the App, as the Dashboard).
    pages: dict[str, str] = field(default_factory=dict)
    # Operation names that answer HTTP 503.
    down: set[str] = field(default_factory=set)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def operations(self) -> list[str]:
        names = []
        for received in self.requests:
            if received.method == "POST":
                match = _OPERATION.search(received.json().get("query", ""))
                names.append(match.group(1) if match else "")
        return names

    def respond(self, received: Received) -> tuple[int, dict[str, str], bytes]:
        if received.method == "GET":
            if received.path == app_keys.JWKS_PATH:
                body = json.dumps(self.document).encode()
                return 200, {"Content-Type": "application/json"}, body
            page = self.pages.get(received.path)
            if page is not None:
                return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
            return 404, {}, b"not found"
        try:
            request = received.json()
        except ValueError:
            return 400, {}, b"not json"
        match = _OPERATION.search(str(request.get("query", "")))
        name = match.group(1) if match else ""
        if name in self.down:
            return 503, {}, b"down"
        handler = HANDLERS.get(name)
        if handler is None:
            return super().respond(received)
        scheme, _, token = received.headers.get("authorization", "").partition(" ")
        answer = handler(self, request.get("variables") or {}, token)
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def add_order(
        self, order_id: uuid.UUID, email: str, channel: str = CHANNEL
    ) -> None:
        self.orders[str(order_id)] = {
            "id": to_global_id("Order", str(order_id)),
            "number": "1042",
            "userEmail": email,
            "user": {"id": "VXNlcjo3"},
            "channel": {"slug": channel},
            "status": "UNFULFILLED",
        }


@dataclass
class Shop:
    """One Saleor with the App installed: its fake API, its keys, the row."""

    saleor: DashboardSaleor
    keys: app_keys.Installation
    installation: Installation

    @property
    def api_url(self) -> str:
        return self.saleor.api_url

    def channel(self, slug: str = CHANNEL) -> str:
        return self.installation.channel(slug)

    def dashboard_token(self, **claims: Any) -> str:
        """What the Dashboard hands the App's pages for staff member 5."""
        return self.keys.dashboard_token(APP_ID, **claims)


def decode(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


@contextmanager
def shop(number: int = 1) -> Iterator[Shop]:
    """A running Saleor with keys ``number`` and the App installed in it."""
    with running(DashboardSaleor()) as saleor:
        keys = app_keys.Installation(app_keys.rsa_key(number), saleor)  # type: ignore[arg-type]
        keys.publish()
        installation = Installation.objects.create(
            saleor_api_url=saleor.api_url,
            saleor_app_id=APP_ID,
            domain=f"shop-{number}.example.com",
            sealed_token=tokens.seal(APP_TOKEN),
        )
        yield Shop(saleor, keys, installation)

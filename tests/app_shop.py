"""One Saleor with the App installed, end to end over HTTP, for the App's tests.

A :class:`Shop` is a fake Saleor (tests/fake_saleor.py: its GraphQL API and its
JWKS on one origin, as a real Saleor serves them) with its RSA key
(tests/app_keys.py), registered with the App through ``/api/register`` as Saleor
registers it, and one channel configured. It delivers the committed webhook
payloads (tests/app_payloads/) signed as Saleor signs them, and calls the
installation's delivery-code API with Saleor's JWTs and App tokens, through
Django's test client. Each request's on-commit callbacks (the follow-up tasks,
run eagerly) run when it returns, as after a real commit.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.http import HttpResponse
from django.test import Client, override_settings
from graphql_relay import to_global_id

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import plugin_config
from saleor_delivery_otp.app.models import ChannelConfiguration, Installation

from . import app_keys
from .celery_app import app as celery_app
from .fake_saleor import FakeSaleor, running

PAYLOADS = Path(__file__).with_name("app_payloads")

# The fixtures were rendered for App:1 (their ``recipient``); Saleor's ids are
# per Saleor, so each fake Saleor installs the App as App:1.
APP_ID = "QXBwOjE="  # App:1
COURIER_ID = "QXBwOjI="  # App:2, the shop's courier integration
OTHER_COURIER_ID = "QXBwOjM="  # App:3, another courier integration
CHANNEL = "c-eur"
# The fixtures' customer (order 1002) and another one of the same shop.
CUSTOMER = {"user_id": "VXNlcjox", "email": "test@example.com"}  # User:1
STRANGER = {"user_id": "VXNlcjo5", "email": "mallory@example.com"}  # User:9
STAFF = {"user_id": "VXNlcjo1", "email": "staff@example.com", "is_staff": True}
STAFF_ME = {
    "userPermissions": [{"code": "MANAGE_ORDERS"}],
    "restrictedAccessToChannels": False,
    "accessibleChannels": [{"slug": CHANNEL}],
}


def fixture(name: str) -> tuple[str, dict[str, Any]]:
    """A committed payload: its event and a copy of its body."""
    document = json.loads((PAYLOADS / f"{name}.json").read_text())
    return document["event"], copy.deepcopy(document["payload"])


def default_items(**values: str) -> list[dict[str, str]]:
    """A channel's form as the configuration page saves it: every field, its
    default unless given."""
    return [
        {"name": name, "value": values.get(name, default)}
        for name, default in plugin_config.DEFAULTS.items()
    ]


@dataclass
class Shop:
    """One Saleor with the App installed: ``saleor`` its API, ``keys`` its key."""

    client: Client
    saleor: FakeSaleor
    keys: app_keys.Installation
    app_token: str
    courier_token: str
    other_courier_token: str
    follow_ups: Callable[..., AbstractContextManager[Any]]

    @property
    def installation(self) -> Installation:
        return Installation.objects.get(saleor_api_url=self.saleor.api_url)

    @property
    def graphql_path(self) -> str:
        return f"/api/graphql/{self.installation.public_id}/"

    def channel(self, slug: str = CHANNEL) -> str:
        return self.installation.channel(slug)

    def configure(self, slug: str = CHANNEL, *, active: bool = True, **values: str):
        """The channel's configuration, as the configuration page saves it: the
        courier apps allowed, by App ID (their primary keys once parsed)."""
        values.setdefault(c.ALLOWED_APPS, f"{COURIER_ID}, {OTHER_COURIER_ID}")
        ChannelConfiguration.objects.update_or_create(
            installation=self.installation,
            slug=slug,
            defaults={
                "currency": "EUR",
                "active": active,
                "items": default_items(**values),
            },
        )

    def know_order(self, payload: dict[str, Any]) -> None:
        """Saleor's ``order(id)`` answer for the payload's order."""
        order = payload["order"]
        self.follow(payload, "ORDER_CREATED")
        self.saleor.orders[order["id"]] = {
            "id": order["id"],
            "number": order["number"],
            "userEmail": order["userEmail"],
            "user": {"id": order["user"]["id"]} if order["user"] else None,
            "channel": {"slug": order["channel"]["slug"]},
            "status": order["status"],
        }

    # --- Saleor's webhooks -----------------------------------------------------

    def deliver(
        self,
        payload: dict[str, Any] | bytes,
        event: str,
        *,
        sign: Callable[[bytes], str] | None = None,
        client: Client | None = None,
        truth: bool = True,
        **headers: str | None,
    ) -> HttpResponse:
        """POST one webhook as Saleor does (saleor/webhook/transport/utils.py):
        the body signed with the installation's key; ``headers`` replace Saleor's
        (None drops one). ``truth``: Saleor's order is what the webhook says (it
        sent it); False for a body Saleor's state does not back (a forgery)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if truth and isinstance(payload, dict):
            self.follow(payload, event)
        sent: dict[str, str | None] = {
            "Saleor-Domain": "shop.example.com",
            "Saleor-Api-Url": self.saleor.api_url,
            "Saleor-Event": event.lower(),
            "Saleor-Signature": (sign or self.keys.sign)(body),
        }
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        with self.follow_ups(execute=True):
            return (client or self.client).post(
                "/api/webhooks",
                body,
                content_type="application/json",
                headers={k: v for k, v in sent.items() if v is not None},
            )

    def follow(self, payload: dict[str, Any], event: str) -> None:
        """Saleor's state after the event the payload tells of, as the App's own
        query of the order reads it."""
        order = payload.get("order")
        if not isinstance(order, dict) or "id" not in order:
            return
        node = self.saleor.truth.setdefault(
            order["id"], {"lines": [], "fulfillments": []}
        )
        name = event.upper()
        for key, value in order.items():
            if key != "lines" or name == "ORDER_CREATED":
                node[key] = copy.deepcopy(value)
        parcel = payload.get("fulfillment")
        if isinstance(parcel, dict):
            for known in node["fulfillments"]:
                if known.get("id") == parcel.get("id"):
                    known.update(copy.deepcopy(parcel))
                    break
            else:
                node["fulfillments"].append(copy.deepcopy(parcel))
        if name == "ORDER_CANCELLED":
            node["status"] = "CANCELED"
        elif name == "ORDER_EXPIRED":
            node["status"] = "EXPIRED"
        elif name == "ORDER_FULLY_REFUNDED":
            node["total"] = {**node.get("total", {}), "gross": {"amount": 369.0}}
            node["totalRefunded"] = {"amount": 369.0}

    def place(self, name: str) -> dict[str, Any]:
        """A committed ORDER_CREATED delivered, Saleor knowing the order."""
        event, payload = fixture(name)
        self.know_order(payload)
        response = self.deliver(payload, event)
        assert response.status_code == 200, response.content
        return payload

    def ship(self, *names: str) -> None:
        for name in names:
            event, payload = fixture(name)
            response = self.deliver(payload, event)
            assert response.status_code == 200, response.content

    # --- the installation's delivery-code API ----------------------------------

    def customer_token(self, **claims: Any) -> str:
        return self.keys.token(**{**CUSTOMER, **claims})

    def staff_token(self, me: dict[str, Any] | None = None) -> str:
        token = self.keys.token(**STAFF)
        self.saleor.staff[token] = me or STAFF_ME
        return token

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        *,
        path: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with self.follow_ups(execute=True):
            response = self.client.post(
                path or self.graphql_path,
                json.dumps({"query": query, "variables": variables or {}}),
                content_type="application/json",
                headers=headers,
            )
        assert response.status_code == 200, response.content
        assert response["Cache-Control"] == "no-store"
        return response.json()


@contextmanager
def eager_celery() -> Iterator[None]:
    """The CI tier's Celery app reads Django's CELERY_* settings."""
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=True, CELERY_TASK_EAGER_PROPAGATES=True
    ):
        assert celery_app.conf.task_always_eager
        yield


@contextmanager
def shops(
    count: int,
    settings: Any,
    capture: Callable[..., AbstractContextManager[Any]],
) -> Iterator[list[Shop]]:
    """``count`` Saleors side by side, each with the App installed and its
    channel ``c-eur`` configured; the App's process serving them all
    (``DELIVERY_OTP_HOST`` the App's host, on every task)."""
    with ExitStack() as stack:
        fakes = [stack.enter_context(running()) for _ in range(count)]
        settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = [f.api_url for f in fakes]
        settings.DELIVERY_OTP_HOST = "saleor_delivery_otp.app.host.AppHost"
        stack.enter_context(eager_celery())
        found = []
        for number, fake in enumerate(fakes, 1):
            keys = app_keys.Installation(app_keys.rsa_key(number), fake)
            keys.publish()
            app_token = f"AppT0ken{number:02d}OfTheDeliveryCodesApp"[:30]
            courier = f"C0urierT0ken{number:02d}OfTheCourierApp"[:30]
            other = f"0therC0urier{number:02d}OfTheCourierApp"[:30]
            fake.install(app_token, APP_ID)
            fake.install(courier, COURIER_ID, "courier", name="Courier", permissions=())
            fake.install(
                other, OTHER_COURIER_ID, "courier-2", name="Courier 2", permissions=()
            )
            shop = Shop(Client(), fake, keys, app_token, courier, other, capture)
            response = shop.client.post(
                "/api/register",
                json.dumps({"auth_token": app_token}),
                content_type="application/json",
                headers={
                    "Saleor-Api-Url": fake.api_url,
                    "Saleor-Domain": "shop.example.com",
                },
            )
            assert response.status_code == 200, response.content
            shop.configure()
            fake.requests.clear()
            found.append(shop)
        yield found


def parcel_gid(fulfillment_id: int) -> str:
    return to_global_id("Fulfillment", fulfillment_id)

"""The App's reconciliation: what a lost webhook would have done is done by the
periodic pass, from the same fields the webhooks carry, and only once."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from saleor_delivery_otp.app import reconcile
from saleor_delivery_otp.app.models import ChannelConfiguration, Installation
from saleor_delivery_otp.models import CodeScope, CodeStatus, DeliveryCode

from .fake_saleor import FakeSaleor, orders_answer, running

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).with_name("app_payloads")


def _payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())["payload"]


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with running() as fake:
        yield fake


@pytest.fixture
def installation(saleor: FakeSaleor) -> Installation:
    placed = _payload("order_created_customer")
    found = Installation(
        saleor_api_url=saleor.api_url,
        saleor_app_id=placed["recipient"]["id"],
        domain="shop.example.com",
    )
    found.set_token("the-app-token")
    found.save()
    ChannelConfiguration.objects.create(
        installation=found, slug="c-eur", currency="EUR", active=True, items=[]
    )
    return found


def _shipped_order(status: str = "FULFILLED") -> dict[str, Any]:
    """Order 2 as Saleor's orders query gives it: its lines and its parcel."""
    node = copy.deepcopy(_payload("order_created_customer")["order"])
    parcel = copy.deepcopy(_payload("fulfillment_approved")["fulfillment"])
    parcel["status"] = status
    node["fulfillments"] = [parcel]
    return node


def _codes(installation: Installation) -> list[DeliveryCode]:
    return list(
        DeliveryCode.objects.current()
        .filter(channel=installation.channel("c-eur"))
        .order_by("created_at")
    )


def test_an_order_whose_webhooks_were_lost_gets_its_code_once(installation, saleor):
    saleor.answer = orders_answer(_shipped_order())

    first = reconcile.reconcile(installation)
    again = reconcile.reconcile(installation)

    codes = _codes(installation)
    assert len(codes) == 1
    (code,) = codes
    # The order's code, bound to the parcel that needs it, as the webhooks do.
    assert code.scope == CodeScope.ORDER and code.fulfillment_id == 3
    assert code.status == CodeStatus.ACTIVE
    assert (first.orders, first.events, first.failed) == (1, 2, 0)
    assert (again.orders, again.failed) == (1, 0)
    # The App's token went to its own Saleor, with the query it declares.
    sent = [r for r in saleor.requests if r.path == "/graphql/"]
    assert sent and all(
        r.headers["authorization"] == "Bearer the-app-token" for r in sent
    )
    assert "DeliveryOtpReconcile" in sent[0].json()["query"]


def test_a_parcel_canceled_while_its_webhook_was_lost_is_revoked(installation, saleor):
    saleor.answer = orders_answer(_shipped_order())
    reconcile.reconcile(installation)

    saleor.answer = orders_answer(_shipped_order(status="CANCELED"))
    reconcile.reconcile(installation)

    (code,) = DeliveryCode.objects.filter(channel=installation.channel("c-eur"))
    assert code.status == CodeStatus.REVOKED


def test_a_channel_with_codes_off_is_left_alone(installation, saleor):
    ChannelConfiguration.objects.update(active=False)
    saleor.answer = orders_answer(_shipped_order())

    outcome = reconcile.reconcile(installation)

    assert outcome.events == 0
    assert not DeliveryCode.objects.exists()


def test_one_unreachable_installation_does_not_stop_the_pass(installation, saleor):
    saleor.answer = (502, {}, b"bad gateway")

    outcome = reconcile.reconcile_all()

    assert outcome.failed == 1
    assert not DeliveryCode.objects.exists()

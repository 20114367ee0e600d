"""The delivery-code API served from Saleor's plugin routes, with Saleor's own tokens:
the customer's JWT, staff JWTs and App tokens (``plugin.host.SaleorHost``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from saleor.graphql.tests.fixtures import ApiClient
from saleor.order import OrderEvents

from saleor_delivery_otp import codes, service
from saleor_delivery_otp import constants as c
from saleor_delivery_otp.models import CodeStatus

from .fixtures import codes_of, global_id

CODES = """
query codes($id: ID!) {
  orderDeliveryCodes(orderId: $id) { id status code fulfillmentId }
}
"""
VERIFY = """
mutation verify($fulfillment: ID, $code: String!) {
  deliveryCodeVerify(fulfillmentId: $fulfillment, code: $code) {
    accepted attemptsLeft errors { code message }
  }
}
"""


def channel_route(channel) -> str:
    return f"/plugins/channel/{channel.slug}/{c.PLUGIN_ID}/graphql/"


GLOBAL_ROUTE = f"/plugins/{c.PLUGIN_ID}/graphql/"


@pytest.fixture
def shipped(
    channel_USD,
    configure_otp,
    app,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    customer_user,
):
    """A phone bought by ``customer_user`` and shipped; the app ``app`` may verify."""
    configure_otp(channel_USD, threshold="300", allowed_apps=str(app.pk))
    order = complete_checkout(
        make_checkout(channel_USD, [(catalog.phone, 1)], user=customer_user)
    )
    (parcel,) = fulfill(order, {catalog.phone: 1})
    return order, parcel


def _post(client: ApiClient, query: str, variables: dict) -> dict:
    response = client.post_graphql(query, variables)
    assert response.status_code == 200, response.content
    return response.json()


def test_customer_sees_her_code_through_the_channel_route(
    shipped, customer_user, channel_USD
):
    order, parcel = shipped
    customer = ApiClient(user=customer_user, api_path=channel_route(channel_USD))

    body = _post(customer, CODES, {"id": global_id("Order", order.pk)})

    (record,) = codes_of(order)
    (shown,) = body["data"]["orderDeliveryCodes"]
    assert shown["code"] == service.open_code(record)
    assert shown["status"] == "ACTIVE"


def test_staff_sees_status_but_never_the_code(
    shipped, staff_api_client, permission_group_manage_orders, channel_USD
):
    order, _ = shipped
    permission_group_manage_orders.user_set.add(staff_api_client.user)
    staff = ApiClient(user=staff_api_client.user, api_path=channel_route(channel_USD))

    body = _post(staff, CODES, {"id": global_id("Order", order.pk)})

    (shown,) = body["data"]["orderDeliveryCodes"]
    assert shown["code"] is None
    assert shown["status"] == "ACTIVE"


def test_allowed_app_verifies_at_the_door_and_the_timeline_and_metadata_follow(
    shipped, app
):
    order, parcel = shipped
    (record,) = codes_of(order)
    courier = ApiClient(app=app, api_path=GLOBAL_ROUTE)

    body = _post(
        courier,
        VERIFY,
        {
            "fulfillment": global_id("Fulfillment", parcel.pk),
            "code": service.open_code(record),
        },
    )

    assert body["data"]["deliveryCodeVerify"]["accepted"] is True
    record.refresh_from_db()
    assert record.status == CodeStatus.VERIFIED
    parcel.refresh_from_db()
    assert parcel.metadata["delivery_otp_status"] == "verified"
    event = order.events.filter(type=OrderEvents.EXTERNAL_SERVICE_NOTIFICATION).last()
    assert event.app_id == app.pk
    assert "accepted" in event.parameters["message"]


def test_app_not_listed_is_refused_without_spending_an_attempt(shipped, external_app):
    order, parcel = shipped
    (record,) = codes_of(order)
    stranger = ApiClient(app=external_app, api_path=GLOBAL_ROUTE)

    body = _post(
        stranger,
        VERIFY,
        {"fulfillment": global_id("Fulfillment", parcel.pk), "code": "000000"},
    )

    result = body["data"]["deliveryCodeVerify"]
    assert result["accepted"] is False
    assert [error["code"] for error in result["errors"]] == ["PERMISSION_DENIED"]
    record.refresh_from_db()
    assert record.attempts == 0


def test_route_of_a_channel_where_the_plugin_is_off_is_not_found(
    shipped, customer_user, channel_PLN
):
    customer = ApiClient(user=customer_user, api_path=channel_route(channel_PLN))

    response = customer.post_graphql(CODES, {"id": global_id("Order", shipped[0].pk)})

    assert response.status_code == 404


CHANNEL_KEY = "channel-own-key-" + "0123456789abcdef" * 2


@pytest.fixture
def keyed_order(
    settings,
    channel_USD,
    configure_otp,
    app,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    customer_user,
):
    """An order of a channel whose configuration names its own key set."""
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"us-2026": [CHANNEL_KEY]}
    configure_otp(
        channel_USD, threshold="300", allowed_apps=str(app.pk), key_set="us-2026"
    )
    order = complete_checkout(
        make_checkout(channel_USD, [(catalog.phone, 1)], user=customer_user)
    )
    (parcel,) = fulfill(order, {catalog.phone: 1})
    return order, parcel


def test_channel_key_protects_new_codes_which_still_show_and_verify(
    keyed_order, customer_user, app, channel_USD
):
    order, parcel = keyed_order
    (record,) = codes_of(order)
    assert record.key_id == codes.key_id_for(CHANNEL_KEY.encode())
    customer = ApiClient(user=customer_user, api_path=channel_route(channel_USD))

    (shown,) = _post(customer, CODES, {"id": global_id("Order", order.pk)})["data"][
        "orderDeliveryCodes"
    ]
    courier = ApiClient(app=app, api_path=GLOBAL_ROUTE)
    verdict = _post(
        courier,
        VERIFY,
        {"fulfillment": global_id("Fulfillment", parcel.pk), "code": shown["code"]},
    )

    assert shown["code"] and len(shown["code"]) == 6
    assert verdict["data"]["deliveryCodeVerify"]["accepted"] is True


def test_code_protected_by_a_channel_key_is_emailed(keyed_order):
    order, _ = keyed_order

    assert any(f"#{order.number}" in message.subject for message in mail.outbox)


def test_an_app_token_is_looked_up_once_then_trusted_for_a_bounded_time(shipped, app):
    """A courier's stream of verifies skips Saleor's App-token look-up; an app
    deactivated in Saleor is refused once the bound (30 s) has passed."""
    from contextlib import ExitStack, contextmanager

    from django.core.cache import cache
    from django.db import connections
    from django.utils import timezone
    from freezegun import freeze_time

    @contextmanager
    def token_lookups():
        # Statements seen on every connection (Saleor reads App tokens from its
        # replica); Django's query log is emptied by each request.
        seen: list[str] = []

        def record(execute, sql, params, many, context):
            if "app_apptoken" in sql:
                seen.append(sql)
            return execute(sql, params, many, context)

        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(record))
            yield seen

    cache.clear()
    order, parcel = shipped
    (record,) = codes_of(order)
    courier = ApiClient(app=app, api_path=GLOBAL_ROUTE)
    wrong = {"fulfillment": global_id("Fulfillment", parcel.pk), "code": "000000"}
    if service.open_code(record) == "000000":
        wrong["code"] = "000001"
    start = timezone.now()

    with freeze_time(start):
        with token_lookups() as first:
            _post(courier, VERIFY, wrong)
        with token_lookups() as second:
            _post(courier, VERIFY, wrong)
        app.is_active = False
        app.save(update_fields=["is_active"])
        within = _post(courier, VERIFY, wrong)
    with freeze_time(start + timedelta(seconds=31)):
        after = _post(courier, VERIFY, wrong)

    assert first and not second
    assert within["data"]["deliveryCodeVerify"]["attemptsLeft"] is not None
    assert after["data"]["deliveryCodeVerify"]["attemptsLeft"] is None
    assert [e["code"] for e in after["data"]["deliveryCodeVerify"]["errors"]] == [
        "PERMISSION_DENIED"
    ]

"""The driver's page inside a real Saleor 3.23: served on the plugin's routes, a
driver key issued by staff through the plugin's API, a verify with that key
recorded as the driver on the order's timeline, and the key refused once revoked."""

from __future__ import annotations

import pytest
from saleor.graphql.tests.fixtures import ApiClient
from saleor.order import OrderEvents

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import service
from saleor_delivery_otp.models import CodeStatus, DriverKey, VerificationAttempt

from .fixtures import codes_of

GLOBAL_ROUTE = f"/plugins/{c.PLUGIN_ID}/graphql/"
CREATE = """
mutation create($name: String!, $channels: [String!]) {
  deliveryDriverKeyCreate(input: {name: $name, channels: $channels}) {
    key driverKey { id prefix channels } errors { field code message }
  }
}
"""
REVOKE = """
mutation revoke($id: ID!) {
  deliveryDriverKeyRevoke(id: $id) { driverKey { revokedAt } errors { code } }
}
"""
ME = "query { deliveryDriver { name channels shopPhone } }"
VERIFY = """
mutation verify($tracking: String, $code: String!) {
  deliveryCodeVerify(trackingNumber: $tracking, code: $code) {
    accepted attemptsLeft errors { code }
  }
}
"""
PHONE = "+1 555 0100"


def _post(client: ApiClient, query: str, variables: dict | None = None, **headers):
    response = client.post_graphql(query, variables or {}, **headers)
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.fixture
def shipped(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout, fulfill
):
    configure_otp(channel_USD, threshold="300", driver_phone=PHONE)
    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))
    (parcel,) = fulfill(order, {catalog.phone: 1}, tracking_number="TRK-SALEOR-1")
    return order, parcel


@pytest.mark.parametrize("prefix", ["/plugins/channel/{slug}", "/plugins"])
def test_the_page_is_served_on_the_plugin_routes(
    client, channel_USD, configure_otp, prefix
):
    configure_otp(channel_USD)
    base = prefix.format(slug=channel_USD.slug) + f"/{c.PLUGIN_ID}/"

    page = client.get(base + "driver/", HTTP_ACCEPT_LANGUAGE="it")
    script = client.get(base + "driver/app.js")

    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert page["Content-Security-Policy"].startswith("default-src 'none';")
    assert page["Cache-Control"] == "no-store"
    assert page["Content-Language"] == "it"
    html = page.content.decode()
    assert f'data-api="{base}graphql/"' in html
    assert "<title>Verifica consegna</title>" in html
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")


def test_staff_issue_a_driver_key_the_driver_verifies_and_is_on_the_timeline(
    shipped, order_staff, channel_USD
):
    order, _ = shipped
    (record,) = codes_of(order)
    staff = ApiClient(user=order_staff.user, api_path=GLOBAL_ROUTE)
    created = _post(staff, CREATE, {"name": "Marco", "channels": [channel_USD.slug]})[
        "deliveryDriverKeyCreate"
    ]
    assert created["errors"] == []
    key = created["key"]
    driver = ApiClient(api_path=GLOBAL_ROUTE)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    me = _post(driver, ME, **auth)["deliveryDriver"]
    code = str(service.open_code(record))
    not_it = code[:-1] + str((int(code[-1]) + 1) % 10)
    wrong = _post(driver, VERIFY, {"tracking": "TRK-SALEOR-1", "code": not_it}, **auth)[
        "deliveryCodeVerify"
    ]
    right = _post(driver, VERIFY, {"tracking": "TRK-SALEOR-1", "code": code}, **auth)[
        "deliveryCodeVerify"
    ]

    assert me == {"name": "Marco", "channels": [channel_USD.slug], "shopPhone": PHONE}
    assert wrong == {"accepted": False, "attemptsLeft": 4, "errors": []}
    assert right == {"accepted": True, "attemptsLeft": 0, "errors": []}
    record.refresh_from_db()
    key_row = DriverKey.objects.get()
    assert record.status == CodeStatus.VERIFIED
    assert record.verified_by == f"driver:{key_row.pk}"
    assert set(VerificationAttempt.objects.values_list("actor", flat=True)) == {
        f"driver:{key_row.pk}"
    }
    event = order.events.filter(type=OrderEvents.EXTERNAL_SERVICE_NOTIFICATION).last()
    assert "accepted by driver Marco" in event.parameters["message"]
    assert event.user_id is None and event.app_id is None
    assert key_row.last_used_at is not None


def test_a_revoked_driver_key_is_refused_on_the_next_request(
    shipped, order_staff, channel_USD
):
    order, _ = shipped
    (record,) = codes_of(order)
    staff = ApiClient(user=order_staff.user, api_path=GLOBAL_ROUTE)
    created = _post(staff, CREATE, {"name": "Marco", "channels": [channel_USD.slug]})[
        "deliveryDriverKeyCreate"
    ]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {created['key']}"}
    driver = ApiClient(api_path=GLOBAL_ROUTE)
    assert _post(driver, ME, **auth)["deliveryDriver"]["name"] == "Marco"

    revoked = _post(staff, REVOKE, {"id": created["driverKey"]["id"]})
    answer = _post(
        driver,
        VERIFY,
        {"tracking": "TRK-SALEOR-1", "code": service.open_code(record)},
        **auth,
    )["deliveryCodeVerify"]

    assert revoked["deliveryDriverKeyRevoke"]["errors"] == []
    assert answer["errors"] == [{"code": "PERMISSION_DENIED"}]
    assert _post(driver, ME, **auth)["deliveryDriver"] is None
    record.refresh_from_db()
    assert (record.status, record.attempts) == (CodeStatus.ACTIVE, 0)


def test_customers_and_apps_cannot_issue_driver_keys(
    shipped, customer_user, app, channel_USD
):
    for client in (
        ApiClient(user=customer_user, api_path=GLOBAL_ROUTE),
        ApiClient(app=app, api_path=GLOBAL_ROUTE),
        ApiClient(api_path=GLOBAL_ROUTE),
    ):
        created = _post(client, CREATE, {"name": "X", "channels": [channel_USD.slug]})
        assert created["deliveryDriverKeyCreate"]["errors"][0]["code"] == (
            "PERMISSION_DENIED"
        )
    assert not DriverKey.objects.exists()

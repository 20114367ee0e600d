"""Driver keys and the driver's page through the API (CI tier, no browser).

A shop's own driver signs in with a key staff issued; the key verifies and asks
for a resend in its channels, never reads a code, and stops working when revoked.
The browser tests of the page itself are in test_driver_page.py.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from freezegun import freeze_time
from graphene import relay

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import drivers, flows, service, tasks
from saleor_delivery_otp import plugin_config as pc
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.models import (
    CodeEvent,
    DeliveryCode,
    DriverKey,
    EventType,
    VerificationAttempt,
)

from .conftest import wrong_code
from .graphql_host import HOST, SHOP_PHONE
from .test_graphql_api import CODES_QUERY, GLOBAL, gql, order_gid

pytestmark = pytest.mark.django_db

STAFF = Actor(ActorKind.STAFF, "5", "Sam")
CREATE = """
mutation Create($name: String!, $channels: [String!]) {
  deliveryDriverKeyCreate(input: {name: $name, channels: $channels}) {
    key driverKey { id name channels prefix revokedAt }
    errors { field code message }
  }
}
"""
REVOKE = """
mutation Revoke($id: ID!) {
  deliveryDriverKeyRevoke(id: $id) {
    driverKey { revokedAt } errors { field code message }
  }
}
"""
KEYS = "query { deliveryDriverKeys { id name channels prefix lastUsedAt revokedAt } }"
ME = "query { deliveryDriver { name channels shopPhone } }"
VERIFY = """
mutation Verify($tracking: String, $code: String!) {
  deliveryCodeVerify(trackingNumber: $tracking, code: $code) {
    accepted attemptsLeft errors { code }
  }
}
"""
RESEND = """
mutation Resend($tracking: String) {
  deliveryCodeResendToCustomer(trackingNumber: $tracking) {
    requested errors { code message }
  }
}
"""


@pytest.fixture(autouse=True)
def clean_host():
    HOST.orders.clear()
    HOST.notes.clear()


@pytest.fixture
def shipped(parcels):
    order = HOST.add_order()
    # Pinned to the order's customer, as the plugin's hooks pin it.
    reader = service.Reader(customer_id=order.user_id, email=order.email)
    record = parcels.ship(order.id, tracking="TRK-D1", channel="eu", reader=reader)
    return order, record, parcels.code_of(record)


@pytest.fixture
def driver_key():
    _, key = drivers.create("Marco", ["eu"], by=STAFF)
    return key


def verify(client, key, tracking, code, path=GLOBAL):
    data = gql(client, VERIFY, {"tracking": tracking, "code": code}, key, path)
    return data["data"]["deliveryCodeVerify"]


# --- issuing and revoking -----------------------------------------------------


def test_staff_issue_a_key_shown_once_and_stored_as_a_digest(client):
    data = gql(client, CREATE, {"name": "Marco", "channels": ["eu"]}, "staff-token")

    created = data["data"]["deliveryDriverKeyCreate"]
    key = created["key"]
    assert created["errors"] == []
    assert key.startswith("dk_") and len(key) > 40
    assert created["driverKey"]["prefix"] == key[: len("dk_") + 8]
    assert created["driverKey"]["channels"] == ["eu"]
    record = DriverKey.objects.get()
    assert key not in json.dumps(
        [str(value) for value in DriverKey.objects.values().get().values()]
    )
    assert bytes(record.digest) == drivers.digest_of(key)
    listed = gql(client, KEYS, token="staff-token")["data"]["deliveryDriverKeys"]
    assert [k["name"] for k in listed] == ["Marco"]
    assert key not in json.dumps(listed)
    assert key[len("dk_") + 9 :] not in json.dumps(listed)


@pytest.mark.parametrize(
    "token", [None, "customer-token", "courier-token", "staff-without-permission"]
)
def test_only_staff_with_manage_orders_issue_or_list_keys(client, token, driver_key):
    data = gql(client, CREATE, {"name": "Eve", "channels": ["eu"]}, token)
    listed = gql(client, KEYS, token=token)

    assert data["data"]["deliveryDriverKeyCreate"]["errors"][0]["code"] == (
        "PERMISSION_DENIED"
    )
    assert data["data"]["deliveryDriverKeyCreate"]["key"] is None
    assert listed["data"]["deliveryDriverKeys"] is None
    assert listed["errors"][0]["extensions"]["exception"]["code"] == (
        "PermissionDenied"
    )
    assert DriverKey.objects.count() == 1


def test_a_driver_key_cannot_issue_keys(client, driver_key):
    data = gql(client, CREATE, {"name": "Eve", "channels": ["eu"]}, driver_key)

    assert data["data"]["deliveryDriverKeyCreate"]["errors"][0]["code"] == (
        "PERMISSION_DENIED"
    )


def test_staff_of_one_channel_issue_keys_for_it_only(client):
    other = gql(client, CREATE, {"name": "X", "channels": ["us"]}, "eu-staff-token")
    unknown = gql(client, CREATE, {"name": "X", "channels": ["nope"]}, "staff-token")
    empty = gql(client, CREATE, {"name": " ", "channels": ["eu"]}, "staff-token")
    here = gql(
        client,
        CREATE,
        {"name": "Y"},
        "eu-staff-token",
        path="/plugins/channel/eu/graphql/",
    )

    for data, field in ((other, "channels"), (unknown, "channels"), (empty, "name")):
        (error,) = data["data"]["deliveryDriverKeyCreate"]["errors"]
        assert (error["field"], error["code"]) == (field, "INVALID")
    assert here["data"]["deliveryDriverKeyCreate"]["driverKey"]["channels"] == ["eu"]
    assert list(DriverKey.objects.values_list("name", flat=True)) == ["Y"]


def test_staff_see_and_revoke_only_keys_of_their_channels(client):
    eu, _ = drivers.create("Eu driver", ["eu"], by=STAFF)
    both, _ = drivers.create("Both", ["eu", "us"], by=STAFF)

    listed = gql(client, KEYS, token="eu-staff-token")["data"]["deliveryDriverKeys"]
    refused = gql(
        client,
        REVOKE,
        {"id": relay.Node.to_global_id("DeliveryDriverKey", both.pk)},
        "eu-staff-token",
    )

    assert [k["name"] for k in listed] == ["Eu driver"]
    assert refused["data"]["deliveryDriverKeyRevoke"]["errors"][0]["code"] == (
        "NOT_FOUND"
    )
    both.refresh_from_db()
    assert both.revoked_at is None


def test_a_revoked_key_is_refused_on_the_next_request(client, shipped, driver_key):
    _, record, code = shipped
    assert verify(client, driver_key, "TRK-D1", wrong_code(code))["attemptsLeft"] == 4
    key_id = relay.Node.to_global_id("DeliveryDriverKey", DriverKey.objects.get().pk)

    revoked = gql(client, REVOKE, {"id": key_id}, "staff-token")
    after = verify(client, driver_key, "TRK-D1", code)

    assert revoked["data"]["deliveryDriverKeyRevoke"]["driverKey"]["revokedAt"]
    assert after == {
        "accepted": False,
        "attemptsLeft": None,
        "errors": [{"code": "PERMISSION_DENIED"}],
    }
    assert gql(client, ME, token=driver_key)["data"]["deliveryDriver"] is None
    record.refresh_from_db()
    assert (record.attempts, record.status) == (1, "active")
    assert VerificationAttempt.objects.count() == 1


# --- the driver at the door ---------------------------------------------------


def test_driver_signs_in_and_sees_the_shop_phone(client, driver_key):
    me = gql(client, ME, token=driver_key)["data"]["deliveryDriver"]

    assert me == {"name": "Marco", "channels": ["eu"], "shopPhone": SHOP_PHONE}
    assert gql(client, ME, token="courier-token")["data"]["deliveryDriver"] is None
    # On another channel's route the key checks nothing: not signed in there.
    elsewhere = gql(client, ME, token=driver_key, path="/plugins/channel/us/graphql/")
    assert elsewhere["data"]["deliveryDriver"] is None


def test_driver_verifies_and_is_named_on_the_audit_and_timeline(
    client, shipped, driver_key
):
    order, record, code = shipped
    key = DriverKey.objects.get()

    wrong = verify(client, driver_key, "TRK-D1", wrong_code(code))
    right = verify(client, driver_key, "TRK-D1", code)
    # The same driver retrying (a lost answer) is told so again; nothing changes.
    again = verify(client, driver_key, "TRK-D1", code)

    assert wrong == {"accepted": False, "attemptsLeft": 4, "errors": []}
    assert right == {"accepted": True, "attemptsLeft": 0, "errors": []}
    assert again == right
    actors = set(VerificationAttempt.objects.values_list("actor", flat=True))
    assert actors == {f"driver:{key.pk}"}
    record.refresh_from_db()
    assert record.verified_by == f"driver:{key.pk}"
    assert HOST.notes == [
        (
            order.id,
            "Delivery code for parcel TRK-D1 accepted by driver Marco: handed over.",
            f"driver:{key.pk}",
        )
    ]


def test_driver_never_reads_a_code(client, shipped, driver_key):
    order, _, code = shipped

    data = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, driver_key)

    assert data["data"]["orderDeliveryCodes"] is None
    assert code not in json.dumps(data)
    assert order.email not in json.dumps(data)


def test_driver_checks_only_parcels_of_its_channels(client, parcels):
    order = HOST.add_order(channel="us")
    parcels.ship(order.id, tracking="TRK-US", channel="us")
    _, us_key = drivers.create("Us", ["us"], by=STAFF)
    _, eu_key = drivers.create("Eu", ["eu"], by=STAFF)

    elsewhere = verify(client, eu_key, "TRK-US", "123456")
    unknown = verify(client, eu_key, "NO-SUCH-PARCEL", "123456")
    wrong_route = verify(
        client, us_key, "TRK-US", "123456", path="/plugins/channel/eu/graphql/"
    )

    # Another channel's parcel answers like one that does not exist.
    assert elsewhere == unknown == {"accepted": False, "attemptsLeft": 4, "errors": []}
    assert wrong_route["errors"] == [{"code": "PERMISSION_DENIED"}]
    assert DeliveryCode.objects.get(tracking_number="TRK-US").attempts == 0


@pytest.mark.parametrize(
    "token",
    ["dk_", "dk_00000000_" + "A" * 43, "dk_" + "x" * 5000, "dk_zz_\x00"],
)
def test_a_forged_or_malformed_driver_key_is_a_stranger(client, shipped, token):
    _, record, code = shipped

    answer = verify(client, token, "TRK-D1", code)

    assert answer["errors"] == [{"code": "PERMISSION_DENIED"}]
    record.refresh_from_db()
    assert record.attempts == 0


class Statements(list):
    """Every SQL statement run while active (the test client's request_started
    signal empties Django's own query log, so it cannot be used here)."""

    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)


def test_driver_key_costs_one_indexed_select_and_last_used_is_coarse(
    client, shipped, driver_key
):
    _, _, code = shipped
    key = DriverKey.objects.get()
    assert key.last_used_at is None
    first, second = Statements(), Statements()

    with freeze_time("2026-12-01 10:00:00"), connection.execute_wrapper(first):
        verify(client, driver_key, "TRK-D1", wrong_code(code))
    with freeze_time("2026-12-01 10:10:00"), connection.execute_wrapper(second):
        verify(client, driver_key, "TRK-D1", wrong_code(code))
    key.refresh_from_db()
    assert key.last_used_at.isoformat() == "2026-12-01T10:00:00+00:00"
    with freeze_time("2026-12-01 10:16:00"):
        verify(client, driver_key, "TRK-D1", wrong_code(code))
    key.refresh_from_db()

    assert key.last_used_at.isoformat() == "2026-12-01T10:16:00+00:00"
    driver_sql = [sql for sql in second if "delivery_otp_driver_key" in sql]
    assert len(driver_sql) == 1 and driver_sql[0].startswith("SELECT")
    assert '"digest" = ' in driver_sql[0]
    # The refresh is one more statement, once per 15 minutes.
    assert len(first) == len(second) + 1
    # Verify's own statements are untouched: the key's SELECT is the only addition.
    engine = [sql for sql in second if sql not in driver_sql]
    assert (
        len([sql for sql in engine if not sql.startswith(("SAVEPOINT", "RELEASE"))])
        <= 3
    )


# --- the doorstep resend ------------------------------------------------------


def test_doorstep_resend_counts_against_the_customers_limits(
    client, shipped, driver_key, monkeypatch
):
    order, record, code = shipped
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    answers = [
        gql(client, RESEND, {"tracking": tracking}, driver_key)
        for tracking in ("TRK-D1", "TRK-D1", "NO-SUCH-PARCEL")
    ]

    # Sent, throttled, unknown: one answer, so it never tells a parcel exists.
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == {
        "data": {"deliveryCodeResendToCustomer": {"requested": True, "errors": []}}
    }
    assert queued == [record.pk]
    assert code not in json.dumps(answers) and order.email not in json.dumps(answers)
    record.refresh_from_db()
    # Counted on the code's own counters, the ones the customer's resend uses.
    assert record.sends_that_day == 1 and record.last_sent_at is not None
    assert HOST.notes[-1][1] == (
        "driver Marco asked at the door for the delivery code of parcel TRK-D1 to "
        "be e-mailed to the customer again."
    )
    # The customer's own resend is now in the same cooldown.
    with (
        freeze_time(record.last_sent_at + timedelta(seconds=10)),
        pytest.raises(service.RateLimited),
    ):
        flows.resend(record.pk, limits=HOST.channels["eu"].limits)


def test_doorstep_resend_of_a_used_code_sends_nothing(
    client, shipped, driver_key, monkeypatch
):
    _, _, code = shipped
    verify(client, driver_key, "TRK-D1", code)
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    answer = gql(client, RESEND, {"tracking": "TRK-D1"}, driver_key)

    assert answer["data"]["deliveryCodeResendToCustomer"]["requested"] is True
    assert queued == []
    assert not CodeEvent.objects.filter(
        type=EventType.EMAIL_QUEUED,
        created_at__gt=DeliveryCode.objects.get().verified_at,
    ).exists()


@pytest.mark.parametrize("token", [None, "customer-token", "other-app-token"])
def test_only_verifiers_ask_for_a_doorstep_resend(client, shipped, token, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    answer = gql(client, RESEND, {"tracking": "TRK-D1"}, token)

    (error,) = answer["data"]["deliveryCodeResendToCustomer"]["errors"]
    assert error["code"] == "PERMISSION_DENIED"
    assert queued == []


# --- the page as served -------------------------------------------------------

PAGE = "/plugins/global/driver/"


def test_page_is_served_locked_down(client):
    response = client.get(PAGE)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    assert 'data-api="/plugins/global/graphql/"' in html
    assert 'src="/plugins/global/driver/app.js"' in html
    assert "http://" not in html and "https://" not in html
    assert 'aria-live="assertive"' in html
    # No inline script may run under this CSP: only the JSON strings block.
    assert html.count("<script") == 2 and 'type="application/json"' in html


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("", "it-IT,it;q=0.9,en;q=0.8", "it"),
        ("", "de-DE,de;q=0.9,it;q=0.5", "it"),
        ("", "fr", "en"),
        ("", "en;q=0.2,it;q=0.8", "it"),
        ("?lang=en", "it-IT", "en"),
        ("?lang=xx", "it-IT", "it"),
    ],
)
def test_page_speaks_the_drivers_language(client, query, header, expected):
    response = client.get(PAGE + query, HTTP_ACCEPT_LANGUAGE=header)

    assert response["Content-Language"] == expected
    title = {"en": "Delivery check", "it": "Verifica consegna"}[expected]
    assert f"<title>{title}</title>" in response.content.decode()


def test_page_assets_and_unknown_paths(client):
    script = client.get(PAGE + "app.js")
    style = client.get(PAGE + "app.css")
    missing = client.get(PAGE + "secret.py")
    posted = client.post(PAGE)

    assert script["Content-Type"].startswith("text/javascript")
    assert style["Content-Type"].startswith("text/css")
    assert script["Content-Security-Policy"] == style["Content-Security-Policy"]
    assert missing.status_code == 404
    assert posted.status_code == 405


# --- the shop's phone in the channel's configuration --------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        (" +39 02 1234 5678 ", "+39 02 1234 5678"),
        ("(555) 010-4477", "(555) 010-4477"),
        ("phone", None),
    ],
)
def test_shop_phone_for_drivers_is_a_configuration_field(value, expected):
    values = pc.values_from_items([{"name": c.DRIVER_PHONE, "value": value}])
    errors = pc.validate(values)

    assert pc.FIELDS[c.DRIVER_PHONE].label == "Shop phone for drivers"
    if expected is None:
        assert errors == {c.DRIVER_PHONE: errors[c.DRIVER_PHONE]}
    else:
        assert errors == {}
        assert pc.parse(values, currency="EUR").driver_phone == expected


@pytest.mark.parametrize("value", ["call me", "+39 <script>", "1" * 60])
def test_a_bad_shop_phone_is_refused_on_its_field(value):
    errors = pc.validate(
        pc.values_from_items([{"name": c.DRIVER_PHONE, "value": value}])
    )

    assert list(errors) == [c.DRIVER_PHONE]


def test_probing_names_with_the_doorstep_resend_meets_the_caller_limit(
    client, shipped, driver_key, settings
):
    """Unknown names asked at the door count like failed verifies: a driver (or a
    courier app) cannot map which parcels exist faster than verify allows."""
    settings.DELIVERY_OTP_CALLER_FAILED_PARCELS = 3
    probes = [
        gql(client, RESEND, {"tracking": f"GUESS-{n}"}, driver_key)["data"][
            "deliveryCodeResendToCustomer"
        ]
        for n in range(4)
    ]

    assert probes[:3] == [{"requested": True, "errors": []}] * 3
    assert probes[3]["requested"] is False
    assert [error["code"] for error in probes[3]["errors"]] == ["RATE_LIMITED"]

"""The GraphQL API over HTTP, against the engine on PostgreSQL (CI tier).

Who can do what (security bar rows 11-14, 18), Saleor-style errors, HTTP handling,
federation. The host is in memory (tests/graphql_host.py); the Saleor tier runs the
same API through Saleor's own routes and tokens.
"""

import json
from datetime import timedelta

import pytest
from freezegun import freeze_time
from graphene import relay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_delivery_otp import service
from saleor_delivery_otp.graphql.schema import committed_sdl, federation_sdl
from saleor_delivery_otp.graphql.view import MAX_BATCH
from saleor_delivery_otp.models import CodeStatus, DeliveryCode, VerificationAttempt

from .conftest import wrong_code
from .graphql_host import HOST

pytestmark = pytest.mark.django_db

GLOBAL = "/plugins/global/graphql/"

CODES_QUERY = """
query Codes($orderId: ID!, $email: String) {
  orderDeliveryCodes(orderId: $orderId, email: $email) {
    id status code attemptsLeft trackingNumber fulfillmentId expiresAt
    attempts { actor accepted result }
  }
}
"""
VERIFY = """
mutation Verify($fulfillmentId: ID, $trackingNumber: String, $code: String!) {
  deliveryCodeVerify(
    fulfillmentId: $fulfillmentId, trackingNumber: $trackingNumber, code: $code
  ) {
    accepted attemptsLeft errors { field code message }
  }
}
"""


@pytest.fixture(autouse=True)
def clean_host():
    HOST.orders.clear()
    HOST.notes.clear()


def post(client, query, variables=None, token=None, path=GLOBAL, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.post(
        path,
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        **headers,
    )
    return response


def gql(client, query, variables=None, token=None, path=GLOBAL, **headers):
    response = post(client, query, variables, token, path, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def order_gid(order):
    return relay.Node.to_global_id("Order", order.id)


def parcel_gid(record):
    return relay.Node.to_global_id("Fulfillment", record.fulfillment_id)


def code_gid(record):
    return relay.Node.to_global_id("DeliveryCode", record.pk)


@pytest.fixture
def shipped(parcels):
    """An order of customer 7 in channel eu, with one shipped parcel."""
    order = HOST.add_order()
    record = parcels.ship(order.id, tracking="TRK-1", channel="eu")
    return order, record, parcels.code_of(record)


def verify(client, record, code, token="courier-token", path=GLOBAL, **headers):
    data = gql(
        client,
        VERIFY,
        {"fulfillmentId": parcel_gid(record), "code": code},
        token,
        path,
        **headers,
    )
    return data["data"]["deliveryCodeVerify"]


# --- track my package ------------------------------------------------------------


def test_customer_sees_the_code_of_her_parcel(client, shipped):
    order, record, code = shipped

    data = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, "customer-token")

    (shown,) = data["data"]["orderDeliveryCodes"]
    assert shown["code"] == code
    assert shown["status"] == "ACTIVE"
    assert shown["attemptsLeft"] == 5
    assert shown["trackingNumber"] == "TRK-1"
    assert shown["fulfillmentId"] == parcel_gid(record)
    assert shown["attempts"] is None  # attempt history is for staff


def test_guest_proves_the_order_with_its_email(client, parcels):
    order = HOST.add_order(user_id=None, email="guest@example.com")
    record = parcels.ship(order.id, channel="eu")

    right = gql(
        client,
        CODES_QUERY,
        {"orderId": order_gid(order), "email": " Guest@Example.com"},
    )
    wrong = gql(
        client, CODES_QUERY, {"orderId": order_gid(order), "email": "x@example.com"}
    )

    assert right["data"]["orderDeliveryCodes"][0]["code"] == parcels.code_of(record)
    assert wrong["data"]["orderDeliveryCodes"] is None
    assert wrong["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


@pytest.mark.parametrize(
    "token", [None, "other-customer-token", "courier-token", "staff-without-permission"]
)
def test_nobody_else_reads_the_code(client, shipped, token):
    order, _, code = shipped

    data = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, token)

    assert data["data"]["orderDeliveryCodes"] is None
    assert (
        data["errors"][0]["message"] == "You do not have access to this order's codes."
    )
    assert code not in json.dumps(data)


def test_a_registered_customers_order_is_not_opened_by_email_alone(client, shipped):
    order, _, code = shipped

    data = gql(client, CODES_QUERY, {"orderId": order_gid(order), "email": order.email})

    assert data["data"]["orderDeliveryCodes"] is None
    assert code not in json.dumps(data)


def test_unknown_order_gets_the_same_refusal(client):
    import uuid

    missing = relay.Node.to_global_id("Order", uuid.uuid4())
    data = gql(client, CODES_QUERY, {"orderId": missing}, "customer-token")

    assert (
        data["errors"][0]["message"] == "You do not have access to this order's codes."
    )


def test_staff_see_status_and_attempts_never_the_code(client, shipped):
    order, record, code = shipped
    verify(client, record, wrong_code(code))

    data = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, "staff-token")

    (shown,) = data["data"]["orderDeliveryCodes"]
    assert shown["code"] is None
    assert shown["attemptsLeft"] == 4
    assert shown["attempts"] == [
        {"actor": "app:17", "accepted": False, "result": "WRONG_CODE"}
    ]
    assert code not in json.dumps(data)


def test_code_disappears_once_used_or_expired(client, parcels):
    order = HOST.add_order()
    used = parcels.ship(order.id, channel="eu")
    later = parcels.ship(order.id, channel="eu")
    assert verify(client, used, parcels.code_of(used))["accepted"]

    now = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, "customer-token")
    with freeze_time(later.expires_at + timedelta(seconds=1)):
        expired = gql(
            client, CODES_QUERY, {"orderId": order_gid(order)}, "customer-token"
        )

    assert [c["code"] for c in now["data"]["orderDeliveryCodes"]] == [
        None,
        parcels.code_of(later),
    ]
    assert [c["status"] for c in now["data"]["orderDeliveryCodes"]] == [
        "VERIFIED",
        "ACTIVE",
    ]
    assert [c["code"] for c in expired["data"]["orderDeliveryCodes"]] == [None, None]


def test_channel_route_serves_only_its_channel(client, shipped):
    order, _, _ = shipped

    own = gql(
        client,
        CODES_QUERY,
        {"orderId": order_gid(order)},
        "customer-token",
        path="/plugins/channel/eu/graphql/",
    )
    other = gql(
        client,
        CODES_QUERY,
        {"orderId": order_gid(order)},
        "customer-token",
        path="/plugins/channel/us/graphql/",
    )

    assert own["data"]["orderDeliveryCodes"][0]["code"]
    assert other["data"]["orderDeliveryCodes"] is None


# --- the courier -------------------------------------------------------------------


def test_courier_verifies_by_parcel_and_by_tracking_number(client, parcels):
    order = HOST.add_order()
    first = parcels.ship(order.id, tracking="TRK-A", channel="eu")
    second = parcels.ship(order.id, tracking="TRK-B", channel="eu")

    by_id = verify(client, first, parcels.code_of(first))
    by_tracking = gql(
        client,
        VERIFY,
        {"trackingNumber": "TRK-B", "code": parcels.code_of(second)},
        "courier-token",
    )["data"]["deliveryCodeVerify"]

    assert by_id == {"accepted": True, "attemptsLeft": 0, "errors": []}
    assert by_tracking["accepted"] is True
    notes = [note for _, note, _ in HOST.notes]
    assert notes == [
        "Delivery code for parcel TRK-A accepted by Courier app: handed over.",
        "Delivery code for parcel TRK-B accepted by Courier app: handed over.",
    ]


@pytest.mark.parametrize(
    "token",
    [None, "customer-token", "other-app-token", "staff-without-permission"],
)
def test_refused_callers_spend_no_attempt(client, shipped, token):
    """Row 13: strangers cannot lock a parcel out."""
    _, record, code = shipped

    answers = [verify(client, record, wrong_code(code), token) for _ in range(10)]

    assert (
        answers
        == [
            {
                "accepted": False,
                "attemptsLeft": None,
                "errors": [
                    {
                        "field": None,
                        "code": "PERMISSION_DENIED",
                        "message": (
                            "Only delivery partners allowed by the shop may "
                            "verify codes."
                        ),
                    }
                ],
            }
        ]
        * 10
    )
    record.refresh_from_db()
    assert record.attempts == 0
    assert VerificationAttempt.objects.count() == 0
    assert verify(client, record, code)["accepted"]


def test_staff_may_verify(client, shipped):
    _, record, code = shipped
    assert verify(client, record, code, "staff-token")["accepted"]


def test_app_allowed_elsewhere_sees_no_parcel_here(client, shipped):
    _, record, code = shipped

    answer = verify(client, record, code, "us-courier-token")

    assert answer == {"accepted": False, "attemptsLeft": 4, "errors": []}
    record.refresh_from_db()
    assert record.status == CodeStatus.ACTIVE and record.attempts == 0


def test_rotating_forwarded_for_resets_nothing(client, shipped):
    """Row 11."""
    _, record, code = shipped

    for n in range(100):
        verify(client, record, wrong_code(code), HTTP_X_FORWARDED_FOR=f"10.0.{n}.1")

    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED and record.attempts == 5
    assert not verify(client, record, code, HTTP_X_FORWARDED_FOR="192.0.2.1")[
        "accepted"
    ]


def test_aliases_in_one_request_are_each_counted(client, shipped):
    """Row 12: at most the limit is evaluated, however the calls are packed (fifty
    aliases are refused outright: test_endpoint_limits.py)."""
    _, record, code = shipped
    calls = "\n".join(
        f'a{n}: deliveryCodeVerify(fulfillmentId: "{parcel_gid(record)}", '
        f'code: "{wrong_code(code)}") {{ accepted attemptsLeft }}'
        for n in range(11)
    )
    last = (
        f'last: deliveryCodeVerify(fulfillmentId: "{parcel_gid(record)}", '
        f'code: "{code}") {{ accepted attemptsLeft }}'
    )

    data = gql(client, f"mutation {{ {calls}\n{last} }}", token="courier-token")

    answers = data["data"]
    assert [answers[f"a{n}"]["attemptsLeft"] for n in range(6)] == [4, 3, 2, 1, 0, 0]
    assert answers["last"] == {"accepted": False, "attemptsLeft": 0}
    record.refresh_from_db()
    assert record.attempts == 5 and record.status == CodeStatus.LOCKED
    assert VerificationAttempt.objects.count() == 12


def test_batched_operations_are_each_counted(client, shipped):
    _, record, code = shipped
    body = [
        {
            "query": VERIFY,
            "variables": {
                "fulfillmentId": parcel_gid(record),
                "code": wrong_code(code),
            },
        }
    ] * 7

    response = client.post(
        GLOBAL,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer courier-token",
    )

    lefts = [r["data"]["deliveryCodeVerify"]["attemptsLeft"] for r in response.json()]
    assert lefts == [4, 3, 2, 1, 0, 0, 0]


def test_every_failure_looks_the_same_through_the_api(client, parcels):
    """Row 14: unknown parcel, parcel without code, expired, wrong code."""
    order = HOST.add_order()
    wrong = parcels.ship(order.id, channel="eu")
    expired = parcels.ship(order.id, channel="eu")
    unknown = relay.Node.to_global_id("Fulfillment", 424242)

    def sequence(fulfillment_gid, code):
        return [
            gql(
                client,
                VERIFY,
                {"fulfillmentId": fulfillment_gid, "code": code},
                "courier-token",
            )["data"]["deliveryCodeVerify"]
            for _ in range(3)
        ]

    wrong_answers = sequence(parcel_gid(wrong), wrong_code(parcels.code_of(wrong)))
    unknown_answers = sequence(unknown, "123456")
    with freeze_time(expired.expires_at + timedelta(seconds=1)):
        expired_answers = sequence(parcel_gid(expired), parcels.code_of(expired))

    expected = [{"accepted": False, "attemptsLeft": n, "errors": []} for n in (4, 3, 2)]
    assert wrong_answers == unknown_answers == expired_answers == expected


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"fulfillmentId": "not-an-id", "code": "123456"}, "fulfillmentId"),
        (
            {"fulfillmentId": relay.Node.to_global_id("Order", 1), "code": "123456"},
            "fulfillmentId",
        ),
        (
            {"fulfillmentId": relay.Node.to_global_id("Fulfillment", "x"), "code": "1"},
            "fulfillmentId",
        ),
        ({"code": "123456"}, "parcel"),
        ({"trackingNumber": "TRK-1", "code": "12 34 56"}, "code"),
        ({"trackingNumber": "TRK-1", "code": "１２３４５６"}, "code"),  # noqa: RUF001
        ({"trackingNumber": "TRK-1", "code": "9" * 5000}, "code"),
    ],
)
def test_bad_input_is_a_clear_error_and_costs_nothing(
    client, shipped, variables, field
):
    _, record, _ = shipped

    answer = gql(client, VERIFY, variables, "courier-token")["data"][
        "deliveryCodeVerify"
    ]

    assert answer["accepted"] is False and answer["attemptsLeft"] is None
    assert answer["errors"][0]["code"] == "INVALID"
    assert answer["errors"][0]["field"] == field
    record.refresh_from_db()
    assert record.attempts == 0
    assert VerificationAttempt.objects.count() == 0


def test_code_sent_as_a_number_is_not_echoed(client, shipped):
    _, record, code = shipped
    query = (
        f'mutation {{ deliveryCodeVerify(fulfillmentId: "{parcel_gid(record)}", '
        f"code: {int('1' + code)}) {{ accepted }} }}"
    )

    response = post(client, query, token="courier-token")

    assert response.status_code == 400
    assert "1" + code not in response.content.decode()
    assert response.json()["errors"][0]["message"] == (
        'Argument "code" has an invalid value.'
    )


# --- the customer's resend ----------------------------------------------------------

RESEND = """
mutation Resend($id: ID!, $email: String) {
  deliveryCodeResend(id: $id, email: $email) {
    deliveryCode { status }
    errors { field code message retryAfter }
  }
}
"""


def test_customer_resend_is_rate_limited(client, shipped, monkeypatch):
    _, record, _ = shipped
    queued = []
    monkeypatch.setattr(service, "schedule_email", lambda r: queued.append(r.pk))

    first = gql(client, RESEND, {"id": code_gid(record)}, "customer-token")
    second = gql(client, RESEND, {"id": code_gid(record)}, "customer-token")

    assert first["data"]["deliveryCodeResend"] == {
        "deliveryCode": {"status": "ACTIVE"},
        "errors": [],
    }
    (error,) = second["data"]["deliveryCodeResend"]["errors"]
    assert error["code"] == "RATE_LIMITED" and 1 <= error["retryAfter"] <= 60
    assert queued == [record.pk]


@pytest.mark.parametrize("token", [None, "other-customer-token", "staff-token"])
def test_only_the_customer_may_ask_for_a_resend(client, shipped, token, monkeypatch):
    _, record, _ = shipped
    queued = []
    monkeypatch.setattr(service, "schedule_email", lambda r: queued.append(r.pk))

    data = gql(client, RESEND, {"id": code_gid(record)}, token)

    assert data["data"]["deliveryCodeResend"]["errors"][0]["code"] == (
        "PERMISSION_DENIED"
    )
    assert queued == []


# --- staff ------------------------------------------------------------------------

STAFF_ACTIONS = """
mutation Regenerate($id: ID!) {
  deliveryCodeRegenerate(id: $id) {
    deliveryCode { id status attemptsLeft code }
    errors { field code message }
  }
}
mutation Unlock($id: ID!, $reason: String!) {
  deliveryCodeUnlock(id: $id, reason: $reason) {
    deliveryCode { status attemptsLeft }
    errors { field code message }
  }
}
mutation Handover($id: ID!, $reason: String!) {
  deliveryCodeHandoverWithoutCode(id: $id, reason: $reason) {
    deliveryCode { status }
    errors { field code message }
  }
}
"""


def staff_action(client, name, variables, token="staff-token"):
    response = client.post(
        GLOBAL,
        data=json.dumps(
            {"query": STAFF_ACTIONS, "variables": variables, "operationName": name}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return next(iter(response.json()["data"].values()))


def lock(client, record, code):
    for _ in range(5):
        verify(client, record, wrong_code(code))


def test_staff_unlock_then_handover_without_code(client, shipped):
    order, record, code = shipped
    lock(client, record, code)

    unlocked = staff_action(
        client, "Unlock", {"id": code_gid(record), "reason": "customer called"}
    )
    handed = staff_action(
        client, "Handover", {"id": code_gid(record), "reason": "ID checked at depot"}
    )

    assert unlocked == {
        "deliveryCode": {"status": "ACTIVE", "attemptsLeft": 5},
        "errors": [],
    }
    assert handed == {"deliveryCode": {"status": "VERIFIED"}, "errors": []}
    notes = [note for _, note, _ in HOST.notes]
    assert notes == [
        "Delivery code for parcel TRK-1 locked after 5 wrong attempts.",
        "Delivery code unlocked: customer called",
        "Parcel handed over without delivery code: ID checked at depot",
    ]
    assert all(code not in note for note in notes)


def test_staff_regenerate_replaces_and_emails_the_code(client, shipped, monkeypatch):
    _, record, code = shipped
    queued = []
    monkeypatch.setattr(service, "schedule_email", lambda r: queued.append(r.pk))

    data = staff_action(client, "Regenerate", {"id": code_gid(record)})

    new = DeliveryCode.objects.get(
        fulfillment_id=record.fulfillment_id, status=CodeStatus.ACTIVE
    )
    assert data["deliveryCode"]["code"] is None  # staff never see codes
    assert data["deliveryCode"]["id"] == code_gid(new)
    assert queued == [new.pk]
    record.refresh_from_db()
    assert record.status == CodeStatus.SUPERSEDED


@pytest.mark.parametrize(
    "token", ["customer-token", "courier-token", "staff-without-permission"]
)
def test_staff_actions_need_manage_orders(client, shipped, token):
    _, record, code = shipped
    lock(client, record, code)

    for name, variables in [
        ("Unlock", {"id": code_gid(record), "reason": "r"}),
        ("Handover", {"id": code_gid(record), "reason": "r"}),
        ("Regenerate", {"id": code_gid(record)}),
    ]:
        result = staff_action(client, name, variables, token)
        assert result["errors"][0]["code"] == "PERMISSION_DENIED"
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED


def test_staff_action_errors_are_field_level(client, shipped):
    _, record, _ = shipped

    no_reason = staff_action(client, "Unlock", {"id": code_gid(record), "reason": " "})
    not_locked = staff_action(
        client, "Unlock", {"id": code_gid(record), "reason": "why"}
    )
    bad_id = staff_action(client, "Unlock", {"id": "nope", "reason": "why"})

    assert no_reason["errors"][0] | {"message": ""} == {
        "field": "reason",
        "code": "INVALID",
        "message": "",
    }
    assert not_locked["errors"][0]["code"] == "INVALID_STATE"
    assert bad_id["errors"][0]["field"] == "id"


# --- HTTP ----------------------------------------------------------------------------


def test_malformed_json_is_a_400(client):
    response = client.post(GLOBAL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "The request body is not valid JSON."}]
    }


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_a_405(client, method):
    response = getattr(client, method)(GLOBAL)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


def test_get_serves_queries_but_not_mutations(client, shipped):
    order, record, code = shipped
    query = client.get(
        GLOBAL,
        {"query": CODES_QUERY, "variables": json.dumps({"orderId": order_gid(order)})},
        HTTP_AUTHORIZATION="Bearer customer-token",
    )
    mutation = client.get(
        GLOBAL,
        {
            "query": VERIFY,
            "variables": json.dumps(
                {"fulfillmentId": parcel_gid(record), "code": code}
            ),
        },
        HTTP_AUTHORIZATION="Bearer courier-token",
    )

    assert query.status_code == 200
    assert query.json()["data"]["orderDeliveryCodes"][0]["code"] == code
    assert mutation.status_code == 405
    record.refresh_from_db()
    assert record.status == CodeStatus.ACTIVE


def test_oversized_body_and_batches_are_refused(client):
    huge = client.post(
        GLOBAL,
        data=json.dumps({"query": "{ __typename }", "pad": "x" * 70_000}),
        content_type="application/json",
    )
    batch = client.post(
        GLOBAL,
        data=json.dumps([{"query": "{ __typename }"}] * (MAX_BATCH + 1)),
        content_type="application/json",
    )
    assert huge.status_code == 413
    assert batch.status_code == 400


def test_syntax_error_is_a_400_with_a_message(client):
    response = post(client, "mutation { deliveryCodeVerify(")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("Syntax Error")


def test_unexpected_failure_is_an_opaque_error(client, shipped, monkeypatch, caplog):
    _, record, code = shipped

    def explode(*args, **kwargs):
        raise RuntimeError(f"database said something about {code}")

    monkeypatch.setattr(service, "verify", explode)
    response = post(
        client,
        VERIFY,
        {"fulfillmentId": parcel_gid(record), "code": code},
        "courier-token",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["message"] == "Internal server error."
    assert "Traceback" not in response.content.decode()
    assert code not in response.content.decode()
    assert code not in caplog.text
    assert "RuntimeError" in caplog.text


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    fulfillment=st.one_of(st.none(), st.text(max_size=40)),
    tracking=st.one_of(st.none(), st.text(max_size=40)),
    code=st.text(max_size=30),
)
def test_fuzzed_verify_never_fails_on_the_server(client, fulfillment, tracking, code):
    response = post(
        client,
        VERIFY,
        {"fulfillmentId": fulfillment, "trackingNumber": tracking, "code": code},
        "courier-token",
    )

    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    answer = body["data"]["deliveryCodeVerify"]
    assert answer["accepted"] is False
    assert answer["errors"] == [] or answer["errors"][0]["code"] == "INVALID"


# --- schema and federation --------------------------------------------------------


def test_committed_sdl_matches_the_code():
    assert committed_sdl() == federation_sdl(), (
        "saleor_delivery_otp/graphql/schema.graphql is out of date: run "
        "`python -m saleor_delivery_otp.graphql.export_sdl`"
    )


def test_subgraph_serves_its_sdl_and_resolves_orders(client, shipped):
    order, _, code = shipped
    service_sdl = gql(client, "{ _service { sdl } }")["data"]["_service"]["sdl"]
    entities = gql(
        client,
        """
        query($r: [_Any!]!) {
          _entities(representations: $r) {
            ... on Order { id deliveryCodes { code status } }
          }
        }
        """,
        {"r": [{"__typename": "Order", "id": order_gid(order)}]},
        "customer-token",
    )

    assert service_sdl == committed_sdl()
    assert 'extend type Order @key(fields: "id")' in service_sdl
    assert entities["data"]["_entities"] == [
        {"id": order_gid(order), "deliveryCodes": [{"code": code, "status": "ACTIVE"}]}
    ]


def test_entities_of_another_customer_reveal_nothing(client, shipped):
    order, _, code = shipped

    data = gql(
        client,
        "query($r: [_Any!]!) { _entities(representations: $r) "
        "{ ... on Order { deliveryCodes { code } } } }",
        {"r": [{"__typename": "Order", "id": order_gid(order)}]},
        "other-customer-token",
    )

    assert code not in json.dumps(data)
    assert (
        data["errors"][0]["message"] == "You do not have access to this order's codes."
    )

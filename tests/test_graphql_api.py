"""The GraphQL API over HTTP, against the engine on PostgreSQL (CI tier).

Who can do what (security bar rows 11-14, 18), Saleor-style errors, HTTP handling,
federation. The host is in memory (tests/graphql_host.py); the Saleor tier runs the
same API through Saleor's own routes and tokens.
"""

import dataclasses
import json
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from freezegun import freeze_time
from graphene import relay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_delivery_otp import service, tasks
from saleor_delivery_otp.codes import Keyring, PlainCode
from saleor_delivery_otp.graphql.schema import committed_sdl, federation_sdl
from saleor_delivery_otp.graphql.view import MAX_BATCH
from saleor_delivery_otp.models import (
    CodeStatus,
    DeliveryCode,
    EventType,
    VerificationAttempt,
)
from saleor_delivery_otp.ports import ChannelSettings

from . import hosts
from .conftest import Parcels, wrong_code
from .graphql_host import HOST, RULES

pytestmark = pytest.mark.django_db

GLOBAL = "/plugins/global/graphql/"

CODES_QUERY = """
query Codes($orderId: ID!, $revealToken: String) {
  orderDeliveryCodes(orderId: $orderId, revealToken: $revealToken) {
    id status code attemptsLeft trackingNumber fulfillmentId expiresAt
    attempts { actor accepted result }
  }
}
"""
VERIFY = """
mutation Verify(
  $fulfillmentId: ID, $trackingNumber: String, $code: String!
) {
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


def ship(parcels, order, **kwargs):
    """A shipped parcel of ``order``, its code issued to the order's customer."""
    reader = service.Reader(customer_id=order.user_id or "", email=order.email)
    return parcels.ship(order.id, reader=reader, **kwargs)


def reveal_token(order, record, keyring=None):
    """The token the link in ``record``'s e-mail carries."""
    keyring = keyring or service.reading_keyring()
    return keyring.reveal_token(order.id, record.recipient_digest)


@pytest.fixture
def shipped(parcels):
    """An order of customer 7 in channel eu, with one shipped parcel."""
    order = HOST.add_order()
    record = ship(parcels, order, tracking="TRK-1", channel="eu")
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


def test_guest_reads_her_code_with_the_token_of_her_code_email(client, parcels):
    order = HOST.add_order(user_id=None, email="guest@example.com")
    record = ship(parcels, order, channel="eu")

    data = gql(
        client,
        CODES_QUERY,
        {"orderId": order_gid(order), "revealToken": reveal_token(order, record)},
    )

    (shown,) = data["data"]["orderDeliveryCodes"]
    assert shown["code"] == parcels.code_of(record)
    assert shown["attempts"] is None


@pytest.mark.parametrize("token", [None, "courier-token", "staff-token"])
def test_order_id_and_email_open_nothing(client, parcels, token):
    """Issue 9: Saleor hands out both (order(id){userEmail}, webhook payloads)."""
    order = HOST.add_order(user_id=None, email="guest@example.com")
    record = ship(parcels, order, channel="eu")
    code = parcels.code_of(record)

    with_email = post(
        client,
        "query($id: ID!, $email: String) "
        "{ orderDeliveryCodes(orderId: $id, email: $email) { code } }",
        {"id": order_gid(order), "email": order.email},
        token,
    )
    without = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, token)

    assert code not in with_email.content.decode()
    assert code not in json.dumps(without)
    assert [c["code"] for c in without["data"]["orderDeliveryCodes"] or []] in (
        [],
        [None],
    )


REFUSAL = "You do not have access to this order's codes."


def test_a_wrong_token_is_refused_like_an_unknown_order(client, parcels, settings):
    order = HOST.add_order(user_id=None, email="guest@example.com")
    record = ship(parcels, order, channel="eu")
    other = HOST.add_order(user_id=None, email="guest@example.com")
    other_record = ship(parcels, other, channel="eu")
    code = parcels.code_of(record)
    right = reveal_token(order, record)
    key_id, _, mac = right.partition(".")
    unknown = relay.Node.to_global_id("Order", uuid.uuid4())

    answers = [
        gql(client, CODES_QUERY, {"orderId": order_gid(order), "revealToken": token})
        for token in (
            None,
            "",
            reveal_token(other, other_record),  # another order's token
            f"{key_id}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
            f"{'0' * 12}.{mac}",  # a key id no key has
            right + "x",
            "x" * 10_000,
        )
    ]
    answers.append(gql(client, CODES_QUERY, {"orderId": unknown, "revealToken": right}))
    # The key the token was signed with is no longer configured.
    settings.DELIVERY_OTP_KEYS = ["a-brand-new-key-0123456789abcdef0123456789"]
    answers.append(
        gql(client, CODES_QUERY, {"orderId": order_gid(order), "revealToken": right})
    )

    for answer in answers:
        assert answer["data"]["orderDeliveryCodes"] is None
        assert [e["message"] for e in answer["errors"]] == [REFUSAL]
        assert code not in json.dumps(answer)


STAFF_AND_APPS = ["staff-token", "courier-token", "us-staff-token", "other-app-token"]
ROUTES = [GLOBAL, "/plugins/channel/eu/graphql/"]


@pytest.mark.parametrize("token", STAFF_AND_APPS)
@pytest.mark.parametrize("path", ROUTES)
def test_staff_and_apps_never_get_a_code_even_with_a_valid_token(
    client, parcels, token, path
):
    order = HOST.add_order(user_id=None, email="guest@example.com")
    record = ship(parcels, order, channel="eu")
    code = parcels.code_of(record)
    token_of_email = reveal_token(order, record)
    variables = {"orderId": order_gid(order), "revealToken": token_of_email}

    listed = gql(client, CODES_QUERY, variables, token, path=path)
    entities = gql(
        client,
        "query($r: [_Any!]!, $t: String) { _entities(representations: $r) "
        "{ ... on Order { deliveryCodes(revealToken: $t) { code status } } } }",
        {
            "r": [{"__typename": "Order", "id": order_gid(order)}],
            "t": variables["revealToken"],
        },
        token,
        path=path,
    )

    assert code not in json.dumps(listed) and code not in json.dumps(entities)
    if token == "staff-token":  # MANAGE_ORDERS in every channel: status only
        assert listed["data"]["orderDeliveryCodes"][0]["code"] is None
        assert entities["data"]["_entities"][0]["deliveryCodes"] == [
            {"code": None, "status": "ACTIVE"}
        ]
    else:
        assert [e["message"] for e in listed["errors"]] == [REFUSAL]
        assert [e["message"] for e in entities["errors"]] == [REFUSAL]


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


def test_unknown_order_gets_the_same_refusal(client):
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
    used = ship(parcels, order, channel="eu")
    later = ship(parcels, order, channel="eu")
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
    first = ship(parcels, order, tracking="TRK-A", channel="eu")
    second = ship(parcels, order, tracking="TRK-B", channel="eu")

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


RATE_LIMITED_IN_REQUEST = {
    "accepted": False,
    "attemptsLeft": None,
    "errors": [
        {
            "field": None,
            "code": "RATE_LIMITED",
            "message": "One deliveryCodeVerify per request: send this one on its own.",
        }
    ],
}


@pytest.fixture
def checks(monkeypatch):
    """Every code compared with a stored digest."""
    compared = []
    real = Keyring.matches

    def counting(self, *args):
        compared.append(1)
        return real(self, *args)

    monkeypatch.setattr(Keyring, "matches", counting)
    return compared


def test_one_request_evaluates_one_verify_however_many_aliases(client, parcels, checks):
    """Row 12, stricter than "at most the limit". The request that locked a whole
    sandbox (70 aliases) is refused before it runs (test_endpoint_limits.py); what
    fits the document limits, one alias per parcel, evaluates one code."""
    order = HOST.add_order()
    records = [parcels.ship(order.id, channel="eu") for _ in range(7)]
    calls = "\n".join(
        f'a{n}: deliveryCodeVerify(fulfillmentId: "{parcel_gid(record)}", '
        f'code: "{wrong_code(parcels.code_of(record))}") '
        "{ accepted attemptsLeft errors { field code message } }"
        for n, record in enumerate(records)
    )

    data = gql(client, f"mutation {{ {calls} }}", token="courier-token")

    answers = list(data["data"].values())
    assert len(answers) == 7
    assert answers[0] == {"accepted": False, "attemptsLeft": 4, "errors": []}
    assert answers[1:] == [RATE_LIMITED_IN_REQUEST] * 6
    assert len(checks) == 1
    assert VerificationAttempt.objects.count() == 1
    assert [r.attempts for r in DeliveryCode.objects.order_by("fulfillment_id")] == [
        1
    ] + [0] * 6


def test_a_right_code_after_an_alias_in_the_same_request_is_not_checked(
    client, shipped
):
    _, record, code = shipped
    query = (
        f'mutation {{ a: deliveryCodeVerify(fulfillmentId: "{parcel_gid(record)}", '
        f'code: "{wrong_code(code)}") {{ accepted }} '
        f'b: deliveryCodeVerify(fulfillmentId: "{parcel_gid(record)}", '
        f'code: "{code}") {{ accepted errors {{ code }} }} }}'
    )

    data = gql(client, query, token="courier-token")["data"]

    assert data["b"] == {"accepted": False, "errors": [{"code": "RATE_LIMITED"}]}
    assert verify(client, record, code)["accepted"]


def test_a_batch_evaluates_one_verify(client, shipped, checks):
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

    answers = [r["data"]["deliveryCodeVerify"] for r in response.json()]
    assert answers[0] == {"accepted": False, "attemptsLeft": 4, "errors": []}
    assert answers[1:] == [RATE_LIMITED_IN_REQUEST] * 6
    assert len(checks) == 1
    record.refresh_from_db()
    assert record.attempts == 1


def test_a_caller_failing_many_parcels_is_refused_for_a_while(
    client, parcels, settings, caplog
):
    """Across requests: N distinct parcels failed in the window, then refused
    without a look at any code, one warning, whatever the forwarded address."""
    settings.DELIVERY_OTP_CALLER_FAILED_PARCELS = 3
    order = HOST.add_order()
    failing = [parcels.ship(order.id, channel="eu") for _ in range(3)]
    fresh = parcels.ship(order.id, channel="eu")
    start = timezone.now()

    with freeze_time(start):
        # A parcel failed again and again counts once.
        for record in [failing[0]] * 5 + failing[1:]:
            verify(client, record, wrong_code(parcels.code_of(record)))
        refused = [
            verify(client, fresh, parcels.code_of(fresh), HTTP_X_FORWARDED_FOR=ip)
            for ip in ("10.0.0.1", "192.0.2.7")
        ]
        other_caller = verify(
            client, fresh, wrong_code(parcels.code_of(fresh)), "staff-token"
        )

    (error,) = refused[0]["errors"]
    assert refused[0]["accepted"] is False and refused[0]["attemptsLeft"] is None
    assert error["code"] == "RATE_LIMITED"
    assert refused[1] == refused[0]
    assert other_caller["attemptsLeft"] == 4
    fresh.refresh_from_db()
    assert fresh.attempts == 1  # the staff member's, none of the courier's
    warnings = [r for r in caplog.records if "parcels within" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert "app:17" in warnings[0].getMessage()
    for record in [*failing, fresh]:
        assert parcels.code_of(record) not in caplog.text
    with freeze_time(start + timedelta(minutes=10)):
        assert verify(client, fresh, parcels.code_of(fresh))["accepted"]


def test_a_real_courier_round_stays_under_the_caller_limit(client, parcels):
    """The default: a courier who mistypes once at each of 20 doors still
    verifies."""
    order = HOST.add_order()
    records = [parcels.ship(order.id, channel="eu") for _ in range(21)]

    for record in records[:20]:
        verify(client, record, wrong_code(parcels.code_of(record)))

    assert verify(client, records[20], parcels.code_of(records[20]))["accepted"]


def test_the_accepted_courier_retrying_is_told_accepted_again(client, shipped):
    _, record, code = shipped

    first = verify(client, record, code)
    retry = verify(client, record, code)
    other = verify(client, record, code, "staff-token")

    assert first == retry == {"accepted": True, "attemptsLeft": 0, "errors": []}
    assert other == {"accepted": False, "attemptsLeft": 4, "errors": []}
    notes = [note for _, note, _ in HOST.notes]
    assert notes == [
        "Delivery code for parcel TRK-1 accepted by Courier app: handed over."
    ]


def test_an_unknown_parcel_counts_down_from_the_channels_limit(
    client, parcels, monkeypatch
):
    """Channel eu allows 3 attempts: an unknown parcel runs 2, 1, 0 like a real
    one, on the channel route and on the channel-less route."""
    strict = dataclasses.replace(RULES, max_attempts=3)
    monkeypatch.setitem(HOST.channels, "eu", ChannelSettings(strict, frozenset({"17"})))
    order = HOST.add_order()
    real = Parcels(strict).ship(order.id, channel="eu")
    unknown = relay.Node.to_global_id("Fulfillment", 424242)
    elsewhere = relay.Node.to_global_id("Fulfillment", 434343)

    def lefts(fulfillment_gid, code, path=GLOBAL):
        return [
            gql(
                client,
                VERIFY,
                {"fulfillmentId": fulfillment_gid, "code": code},
                "courier-token",
                path,
            )["data"]["deliveryCodeVerify"]["attemptsLeft"]
            for _ in range(3)
        ]

    assert lefts(parcel_gid(real), wrong_code(Parcels.code_of(real))) == [2, 1, 0]
    assert lefts(unknown, "123456") == [2, 1, 0]
    assert lefts(elsewhere, "123456", "/plugins/channel/eu/graphql/") == [2, 1, 0]


def test_a_code_whose_key_was_removed_gets_the_uniform_refusal(
    client, shipped, monkeypatch
):
    _, record, code = shipped
    monkeypatch.setattr(
        HOST, "keyring", lambda: Keyring(["another-key-0123456789abcdef01234567"])
    )

    answers = [verify(client, record, code) for _ in range(2)]

    assert answers == [
        {"accepted": False, "attemptsLeft": n, "errors": []} for n in (4, 3)
    ]


@pytest.mark.parametrize("sent", [12345, 123456, 1.5e5, True, ["123456"], {"c": 1}])
def test_a_code_that_is_not_a_string_is_refused_and_costs_nothing(
    client, shipped, sent
):
    """A courier app keeping codes as integers sends 12345 for "012345": refused
    before anything runs, never counted as a wrong code, the value not echoed."""
    _, record, _ = shipped

    response = post(
        client,
        VERIFY,
        {"fulfillmentId": parcel_gid(record), "code": sent},
        "courier-token",
    )

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": 'Variable "$code" is a String: send it as a JSON string '
            "(a number would lose its leading zeros)."
        }
    ]
    assert "12345" not in response.content.decode()
    record.refresh_from_db()
    assert record.attempts == 0
    assert VerificationAttempt.objects.count() == 0


def test_a_string_code_and_a_null_optional_string_pass_the_check(client, shipped):
    _, record, code = shipped

    data = gql(
        client,
        VERIFY,
        {"fulfillmentId": parcel_gid(record), "trackingNumber": None, "code": code},
        "courier-token",
    )

    assert data["data"]["deliveryCodeVerify"]["accepted"] is True


def test_the_code_is_masked_from_the_graphql_boundary_on(client, shipped, monkeypatch):
    """Error reporters that record local variables see '<delivery code>'."""
    _, record, code = shipped
    received = []
    real = service.verify

    def spy(lookup, candidate, *args, **kwargs):
        received.append(candidate)
        return real(lookup, candidate, *args, **kwargs)

    monkeypatch.setattr(service, "verify", spy)

    assert verify(client, record, code)["accepted"]
    (candidate,) = received
    assert isinstance(candidate, PlainCode) and str(candidate) == code
    assert code not in repr(candidate)


def test_every_failure_looks_the_same_through_the_api(client, parcels):
    """Row 14: unknown parcel, parcel without code, expired, wrong code."""
    order = HOST.add_order()
    wrong = ship(parcels, order, channel="eu")
    expired = ship(parcels, order, channel="eu")
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
mutation Resend($id: ID!, $revealToken: String) {
  deliveryCodeResend(id: $id, revealToken: $revealToken) {
    deliveryCode { status }
    errors { field code message retryAfter }
  }
}
"""


def test_customer_resend_is_rate_limited(client, shipped, monkeypatch):
    _, record, _ = shipped
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

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
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

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


def staff_action(client, name, variables, token="staff-token", path=GLOBAL):
    response = client.post(
        path,
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
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    data = staff_action(client, "Regenerate", {"id": code_gid(record)})

    new = DeliveryCode.objects.get(
        fulfillment_id=record.fulfillment_id, status=CodeStatus.ACTIVE
    )
    assert data["deliveryCode"]["code"] is None  # staff never see codes
    assert data["deliveryCode"]["id"] == code_gid(new)
    assert queued == [new.pk]
    record.refresh_from_db()
    assert record.status == CodeStatus.SUPERSEDED


def test_lock_and_unlock_cannot_repeat_into_many_guesses(client, shipped, checks):
    """Staff repeating "5 verifies + unlock" 20 times, in one request or many,
    guess at most 5 x (1 + the unlock cap) times; then they are told to
    regenerate."""
    _, record, code = shipped
    unlock = (
        f'unlock: deliveryCodeUnlock(id: "{code_gid(record)}", reason: "again") '
        "{ errors { code message } }"
    )
    one_request = "\n".join(
        f'v{n}_{k}: deliveryCodeVerify(fulfillmentId: "{parcel_gid(record)}", '
        f'code: "{wrong_code(code)}") {{ accepted }}'
        for n in range(20)
        for k in range(5)
    )
    # 100 aliases are refused before anything runs (the document limits).
    packed = post(client, f"mutation {{ {one_request} }}", token="staff-token")
    assert packed.status_code == 400
    assert len(checks) == 0

    errors = []
    for _ in range(20):
        for _ in range(5):
            verify(client, record, wrong_code(code), "staff-token")
        errors += gql(client, f"mutation {{ {unlock} }}", token="staff-token")["data"][
            "unlock"
        ]["errors"]

    assert len(checks) == 5 * (1 + 2)
    assert errors[0] == {
        "code": "INVALID_STATE",
        "message": (
            "This code was unlocked 2 times, the most allowed: regenerate it "
            "instead, which e-mails the customer a new code."
        ),
    }
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED


def test_staff_regenerate_is_rate_limited_like_a_resend(client, shipped, monkeypatch):
    _, record, _ = shipped
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))
    regenerate = (
        "mutation($id: ID!) { deliveryCodeRegenerate(id: $id) "
        "{ deliveryCode { id } errors { code message retryAfter } } }"
    )

    answers = []
    current = code_gid(record)
    with freeze_time(timezone.now()):
        for _ in range(5):
            answer = gql(client, regenerate, {"id": current}, "staff-token")["data"][
                "deliveryCodeRegenerate"
            ]
            answers.append(answer["errors"])
            current = (answer["deliveryCode"] or {}).get("id", current)

    assert answers[0] == []
    (error,) = answers[1]
    assert error["code"] == "RATE_LIMITED" and error["retryAfter"] == 60
    assert error["message"] == (
        "The code was replaced moments ago; please wait before replacing it again."
    )
    assert answers[2:] == [answers[1]] * 3
    assert len(queued) == 1


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
    cache.clear()  # each example a fresh caller, not 60 failures of one
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


ENTITIES_QUERY = (
    "query($r: [_Any!]!) { _entities(representations: $r) "
    "{ ... on Order { deliveryCodes { status } } } }"
)


def test_one_request_resolves_at_most_ten_entities(
    client, shipped, django_assert_max_num_queries
):
    """749 representations used to cost 749 queries for one anonymous request."""
    order, _, _ = shipped
    many = [{"__typename": "Order", "id": order_gid(order)}] * 11

    with django_assert_max_num_queries(0):
        one = post(client, ENTITIES_QUERY, {"r": many})
    # In a batch the count goes on: 6, then 6 more is over the bound.
    with django_assert_max_num_queries(6):
        batch = client.post(
            GLOBAL,
            data=json.dumps(
                [{"query": ENTITIES_QUERY, "variables": {"r": many[:6]}}] * 2
            ),
            content_type="application/json",
        )

    assert one.json()["errors"][0]["message"] == (
        "At most 10 representations per request, batches included."
    )
    assert one.json()["data"] is None
    first, second = batch.json()
    assert len(first["data"]["_entities"]) == 6
    assert second["errors"][0]["message"].startswith("At most 10 representations")


def test_a_reveal_token_is_never_taken_from_a_url(client, parcels):
    order, record, code = guest_order(parcels)
    query = (
        "query($id: ID!, $t: String) "
        "{ orderDeliveryCodes(orderId: $id, revealToken: $t) { code } }"
    )
    variables = json.dumps({"id": order_gid(order), "t": reveal_token(order, record)})

    token = reveal_token(order, record)
    by_default = (
        f'query($id: ID!, $t: String = "{token}") '
        "{ orderDeliveryCodes(orderId: $id, revealToken: $t) { code } }"
    )

    response = client.get(GLOBAL, {"query": query, "variables": variables})
    defaulted = client.get(
        GLOBAL,
        {"query": by_default, "variables": json.dumps({"id": order_gid(order)})},
    )

    assert response.status_code == defaulted.status_code == 405
    assert code not in response.content.decode() + defaulted.content.decode()


# --- who reads after the order changes (issue 9) ---------------------------------


def guest_order(parcels, email="guest@example.com", channel="eu"):
    order = HOST.add_order(user_id=None, email=email, channel=channel)
    record = ship(parcels, order, channel=channel)
    return order, record, parcels.code_of(record)


def send_code_email_to(order, email, record):
    """Run the code e-mail task with the stand-in host telling ``email``."""
    hosts.ORDERS[order.id] = hosts.StandInOrder(email=email)
    try:
        return tasks.send_code_email_task.apply(args=[str(record.pk)]).get()
    finally:
        hosts.ORDERS.pop(order.id, None)


def test_a_changed_email_gets_neither_the_code_nor_its_email(
    client, parcels, monkeypatch
):
    """Staff change a guest order's e-mail: the new address reads nothing, is sent
    nothing; the guest the code was issued to still reads it."""
    order, record, code = guest_order(parcels)
    old_token = reveal_token(order, record)
    HOST.change_order(order, email="new@example.com")
    keyring = service.reading_keyring()
    new_token = keyring.reveal_token(
        order.id, keyring.recipient_digest("new@example.com", record.key_id)
    )
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    by_new = gql(
        client, CODES_QUERY, {"orderId": order_gid(order), "revealToken": new_token}
    )
    by_old = gql(
        client, CODES_QUERY, {"orderId": order_gid(order), "revealToken": old_token}
    )
    resend = gql(client, RESEND, {"id": code_gid(record), "revealToken": old_token})
    mail.outbox.clear()
    sent = send_code_email_to(order, "new@example.com", record)

    assert by_new["data"]["orderDeliveryCodes"] is None and code not in json.dumps(
        by_new
    )
    assert by_old["data"]["orderDeliveryCodes"][0]["code"] == code
    assert resend["data"]["deliveryCodeResend"]["errors"] == [
        {
            "field": None,
            "code": "INVALID_STATE",
            "message": service.ADDRESS_CHANGED,
            "retryAfter": None,
        }
    ]
    assert queued == []
    assert sent is False and mail.outbox == []
    assert not record.events.filter(type=EventType.EMAIL_SENT).exists()


def test_the_code_email_goes_to_the_address_it_was_issued_to(client, parcels):
    order, record, code = guest_order(parcels)
    mail.outbox.clear()

    sent = send_code_email_to(order, " Guest@Example.com", record)

    assert sent is True
    (message,) = mail.outbox
    assert message.to == [" Guest@Example.com"] and code in message.body
    assert f"#delivery-code={reveal_token(order, record)}" in message.body


def test_staff_changing_the_email_then_regenerating_receive_no_code(
    client, parcels, monkeypatch
):
    """Staff set their own address on the order, then replace the code: the new
    code stays with the guest it was issued to; nothing reaches the new address."""
    order, record, _ = guest_order(parcels)
    old_token = reveal_token(order, record)
    order = HOST.change_order(order, email="staff-private@example.com")
    monkeypatch.setattr(tasks, "schedule_email", lambda r: None)

    data = staff_action(client, "Regenerate", {"id": code_gid(record)})

    new = DeliveryCode.objects.get(
        pk=relay.Node.from_global_id(data["deliveryCode"]["id"])[1]
    )
    mail.outbox.clear()
    assert send_code_email_to(order, "staff-private@example.com", new) is False
    assert mail.outbox == []
    assert not service.is_pinned_to(
        new, "staff-private@example.com", service.reading_keyring()
    )
    # The guest's own link opens the new code; staff, with any token, never.
    by_guest = gql(
        client, CODES_QUERY, {"orderId": order_gid(order), "revealToken": old_token}
    )
    as_staff = gql(
        client,
        CODES_QUERY,
        {"orderId": order_gid(order), "revealToken": old_token},
        "staff-token",
    )
    assert by_guest["data"]["orderDeliveryCodes"][0]["code"] == parcels.code_of(new)
    assert parcels.code_of(new) not in json.dumps(as_staff)
    assert HOST.notes[-1][1] == (
        "Delivery code replaced by a new one, e-mailed to the customer."
    )


def test_a_parcel_shipped_after_an_email_change_keeps_the_first_codes_pin(
    client, parcels, monkeypatch
):
    """Staff (or an app) change the order's e-mail and ship another parcel: its new
    code is pinned to the mailbox and account of the order's first code."""
    order, first, _ = guest_order(parcels)
    token = reveal_token(order, first)
    order = HOST.change_order(order, email="intruder@example.com")

    second = ship(parcels, order, channel="eu")

    assert second.recipient_digest == first.recipient_digest
    assert second.customer_id == first.customer_id
    assert reveal_token(order, second) == token
    mail.outbox.clear()
    assert send_code_email_to(order, "intruder@example.com", second) is False
    assert mail.outbox == []
    codes = gql(
        client, CODES_QUERY, {"orderId": order_gid(order), "revealToken": token}
    )["data"]["orderDeliveryCodes"]
    assert parcels.code_of(second) in [c["code"] for c in codes]


def test_the_account_a_code_was_issued_to_keeps_reading_it(client, shipped):
    """Staff detach the order's user, or the account is deleted: the order becomes a
    guest order, yet its code stays with the customer it was issued to."""
    order, _, code = shipped
    HOST.change_order(order, user_id=None)

    own = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, "customer-token")
    by_email = post(
        client,
        "query($id: ID!, $email: String) "
        "{ orderDeliveryCodes(orderId: $id, email: $email) { code } }",
        {"id": order_gid(order), "email": order.email},
    )

    assert own["data"]["orderDeliveryCodes"][0]["code"] == code
    assert code not in by_email.content.decode()


def test_an_account_attached_later_reads_no_code(client, shipped):
    order, _, code = shipped
    HOST.change_order(order, user_id="8", email="bob@example.com")

    data = gql(
        client, CODES_QUERY, {"orderId": order_gid(order)}, "other-customer-token"
    )

    assert data["data"]["orderDeliveryCodes"] == []
    assert code not in json.dumps(data)


def test_guest_resends_her_code_with_her_token(client, parcels, monkeypatch):
    order, record, _ = guest_order(parcels)
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    stranger = gql(client, RESEND, {"id": code_gid(record)})
    guest = gql(
        client,
        RESEND,
        {"id": code_gid(record), "revealToken": reveal_token(order, record)},
    )

    assert stranger["data"]["deliveryCodeResend"]["errors"][0]["code"] == (
        "PERMISSION_DENIED"
    )
    assert guest["data"]["deliveryCodeResend"]["errors"] == []
    assert queued == [record.pk]


# --- channel-restricted staff, channels where the plugin is off --------------------


@pytest.mark.parametrize("path", ROUTES)
def test_channel_restricted_staff_are_refused_outside_their_channels(
    client, shipped, path
):
    """us-staff-token holds MANAGE_ORDERS in a group restricted to channel us."""
    order, record, code = shipped
    lock(client, record, code)
    attempts = VerificationAttempt.objects.count()
    missing = relay.Node.to_global_id("DeliveryCode", uuid.uuid4())

    listed = gql(
        client, CODES_QUERY, {"orderId": order_gid(order)}, "us-staff-token", path=path
    )
    verdict = verify(client, record, code, "us-staff-token", path=path)
    actions = {
        name: staff_action(client, name, variables, "us-staff-token", path=path)
        for name, variables in [
            ("Unlock", {"id": code_gid(record), "reason": "r"}),
            ("Handover", {"id": code_gid(record), "reason": "r"}),
            ("Regenerate", {"id": code_gid(record)}),
        ]
    }
    unknown = staff_action(client, "Unlock", {"id": missing, "reason": "r"}, path=path)

    assert [e["message"] for e in listed["errors"]] == [REFUSAL]
    assert verdict["accepted"] is False
    for result in actions.values():
        assert (
            result
            == unknown
            == {
                "deliveryCode": None,
                "errors": [
                    {
                        "field": "id",
                        "code": "NOT_FOUND",
                        "message": "No such delivery code.",
                    }
                ],
            }
        )
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED and record.attempts == 5
    assert DeliveryCode.objects.filter(order_id=order.id).count() == 1
    # At most the attempt log of an unknown parcel: the code's counter is untouched.
    assert VerificationAttempt.objects.filter(delivery_code=record).count() == attempts


def test_channel_restricted_staff_act_in_their_channel(client, parcels):
    order = HOST.add_order(channel="us")
    record = ship(parcels, order, channel="us")
    code = parcels.code_of(record)
    for _ in range(5):
        verify(client, record, wrong_code(code), "us-courier-token")

    listed = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, "us-staff-token")
    unlocked = staff_action(
        client, "Unlock", {"id": code_gid(record), "reason": "called"}, "us-staff-token"
    )

    (shown,) = listed["data"]["orderDeliveryCodes"]
    assert shown["code"] is None and len(shown["attempts"]) == 5
    assert unlocked["errors"] == []
    assert verify(client, record, code, "us-staff-token")["accepted"] is True


def test_global_route_serves_no_code_of_a_channel_where_the_plugin_is_off(
    client, parcels, monkeypatch
):
    order = HOST.add_order(channel="off")  # no configuration: the plugin is off
    record = ship(parcels, order, channel="off")
    code = parcels.code_of(record)
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    customer = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, "customer-token")
    staff = gql(client, CODES_QUERY, {"orderId": order_gid(order)}, "staff-token")
    resend = gql(client, RESEND, {"id": code_gid(record)}, "customer-token")
    unlock = staff_action(client, "Handover", {"id": code_gid(record), "reason": "r"})

    for answer in (customer, staff):
        assert [e["message"] for e in answer["errors"]] == [REFUSAL]
        assert code not in json.dumps(answer)
    assert resend["data"]["deliveryCodeResend"]["errors"][0]["code"] == "NOT_FOUND"
    assert unlock["errors"][0]["code"] == "NOT_FOUND"
    assert queued == []


ORDER_RESEND = """
mutation OrderResend($orderId: ID!) {
  deliveryCodesResend(orderId: $orderId) { errors { field code message } }
}
"""


def test_a_guest_who_lost_her_email_has_it_sent_again_to_her_address(
    client, parcels, monkeypatch
):
    """No proof needed: it goes only to the address the code was issued to, and the
    answer is the same for any order, so it tells nothing."""
    order, record, code = guest_order(parcels)
    changed, changed_record, _ = guest_order(parcels, email="old@example.com")
    HOST.change_order(changed, email="new@example.com")
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))
    unknown = relay.Node.to_global_id("Order", uuid.uuid4())

    answers = [
        gql(client, ORDER_RESEND, {"orderId": gid})
        for gid in [order_gid(order)] * 10 + [order_gid(changed), unknown]
    ]

    for answer in answers:
        assert answer == {"data": {"deliveryCodesResend": {"errors": []}}}
    assert queued == [record.pk]  # once: the cooldown holds; none to new@
    assert code not in json.dumps(answers)


@pytest.mark.parametrize("token", ["staff-token", "courier-token"])
def test_staff_and_apps_do_not_trigger_a_customers_email(
    client, parcels, token, monkeypatch
):
    order, _, _ = guest_order(parcels)
    queued = []
    monkeypatch.setattr(tasks, "schedule_email", lambda r: queued.append(r.pk))

    answer = gql(client, ORDER_RESEND, {"orderId": order_gid(order)}, token)

    assert answer["data"]["deliveryCodesResend"]["errors"][0]["code"] == (
        "PERMISSION_DENIED"
    )
    assert queued == []

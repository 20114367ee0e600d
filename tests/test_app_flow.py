"""The Saleor App end to end: Saleor's signed webhooks in, codes issued and
e-mailed, Saleor's timeline and metadata written back, the customer reading her
code and the courier verifying it through the installation's own API.

Everything goes over HTTP as in production: the App's routes through Django's
test client, the App's calls to Saleor to a fake Saleor on 127.0.0.1
(tests/fake_saleor.py) that serves its JWKS beside its API, signatures and JWTs
made as Saleor 3.23 makes them (tests/app_keys.py), the committed payloads
(tests/app_payloads/). The follow-up tasks run eagerly after each request
(tests/app_shop.py).
"""

from __future__ import annotations

import contextlib
import json
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from saleor_delivery_otp import service
from saleor_delivery_otp.app.host import AppHost
from saleor_delivery_otp.app.models import (
    ChannelConfiguration,
    Installation,
    OrderMail,
)
from saleor_delivery_otp.models import CodeScope, CodeStatus, DeliveryCode

from . import app_keys
from .app_shop import (
    APP_ID,
    CHANNEL,
    CUSTOMER,
    STRANGER,
    Shop,
    fixture,
    parcel_gid,
    shops,
)
from .conftest import wrong_code
from .fake_saleor import running

pytestmark = pytest.mark.django_db

ORDER = "T3JkZXI6MDAwMDAwMDAtMDAwMC00MDAwLWEwMDAtMDAwMDAwMDAwMDAy"  # order 1002
GUEST_ORDER = "T3JkZXI6MDAwMDAwMDAtMDAwMC00MDAwLWEwMDAtMDAwMDAwMDAwMDAx"  # 1001
PARCEL = 3  # order 1002's one parcel: the phone and a cable

CODES = """
query Codes($orderId: ID!) {
  orderDeliveryCodes(orderId: $orderId) {
    status code attemptsLeft fulfillmentId
  }
}
"""
VERIFY = """
mutation Verify($fulfillmentId: ID, $code: String!) {
  deliveryCodeVerify(fulfillmentId: $fulfillmentId, code: $code) {
    accepted attemptsLeft errors { field code message }
  }
}
"""


@pytest.fixture
def shop(settings, django_capture_on_commit_callbacks):
    with shops(1, settings, django_capture_on_commit_callbacks) as (one,):
        yield one


@pytest.fixture
def two(settings, django_capture_on_commit_callbacks):
    with shops(2, settings, django_capture_on_commit_callbacks) as both:
        yield both


def codes(shop: Shop | None = None) -> list[DeliveryCode]:
    found = DeliveryCode.objects.order_by("created_at")
    if shop is not None:
        found = found.filter(channel=shop.channel())
    return list(found)


def code_of(record: DeliveryCode) -> str:
    return str(service.open_code(record))


def saleor_heard(shop: Shop) -> str:
    """Everything the App sent to this Saleor."""
    return "\n".join(r.body.decode() for r in shop.saleor.requests)


def read_codes(shop: Shop, token: str | None, order: str = ORDER, path=None):
    return shop.graphql(CODES, {"orderId": order}, token, path=path)


def verify(shop: Shop, code: str, token: str, parcel: int = PARCEL, path=None):
    data = shop.graphql(
        VERIFY, {"fulfillmentId": parcel_gid(parcel), "code": code}, token, path=path
    )
    return data["data"]["deliveryCodeVerify"]


def refused(data: dict) -> bool:
    """The API's refusal of an order's codes: Saleor's PermissionDenied."""
    return data["data"]["orderDeliveryCodes"] is None and [
        e["extensions"]["exception"]["code"] for e in data["errors"]
    ] == ["PermissionDenied"]


@pytest.fixture
def placed(shop):
    """Order 1002 (the customer's phone and cable) placed."""
    shop.place("order_created_customer")
    return shop


@pytest.fixture
def shipped(placed):
    """... and its parcel shipped: Saleor sends both events."""
    placed.ship("fulfillment_created_on_approval", "fulfillment_approved")
    return placed


# --- 1. the installation ------------------------------------------------------------


def test_the_installation_is_registered_and_its_channel_configured(shop):
    installation = shop.installation
    assert installation.saleor_app_id == APP_ID
    assert installation.token() == shop.app_token
    settings = installation.channels.get(slug=CHANNEL)
    assert settings.active
    # The courier apps are allowed by App ID; parsed, their primary keys within
    # the installation, the very identifiers AppHost gives the apps Saleor names.
    parsed = AppHost(installation).channel_settings(shop.channel())
    assert parsed is not None
    assert parsed.verifying_apps == frozenset(
        {installation.scoped_id("2"), installation.scoped_id("3")}
    )


# --- 2. ORDER_CREATED ------------------------------------------------------------


def test_an_order_gets_its_code_one_email_and_a_note_without_the_code(placed):
    shop = placed
    (record,) = codes(shop)
    code = code_of(record)
    assert record.scope == CodeScope.ORDER
    # Pinned to User 1 of this installation (another Saleor has a User 1 too).
    assert record.customer_id == shop.installation.scoped_id("1")
    assert record.fulfillment_id is None
    # One e-mail, to the customer, with her code.
    (email,) = mail.outbox
    assert email.to == ["test@example.com"]
    assert code in email.body
    assert "1002" in email.subject + email.body
    assert "Phone X" in email.body
    assert "USB-C cable" not in email.body  # under the threshold: not protected
    # The order's timeline: one note, by the App's own token, without the code.
    ((token, order, message),) = shop.saleor.notes
    assert (token, order) == (shop.app_token, ORDER)
    assert "Delivery code issued" in message
    # Saleor never heard the code, in any request.
    assert code not in saleor_heard(shop)
    assert shop.saleor.metadata == []  # no parcel yet


# --- 3. the parcels ------------------------------------------------------------------


def test_the_phone_parcel_binds_the_order_code_and_shows_it_active(shipped):
    shop = shipped
    (record,) = codes(shop)
    assert record.fulfillment_id == PARCEL
    assert record.status == CodeStatus.ACTIVE
    # FULFILLMENT_APPROVED after FULFILLMENT_CREATED changed nothing more.
    assert len(mail.outbox) == 1
    assert {(t, i, k, v) for t, i, k, v in shop.saleor.metadata} == {
        (shop.app_token, parcel_gid(PARCEL), "delivery_otp_status", "active")
    }
    notes = [message for _, _, message in shop.saleor.notes]
    assert len(notes) == 2
    assert "now protects parcel #1002-1" in notes[1]
    assert code_of(record) not in saleor_heard(shop)


def test_a_parcel_under_the_threshold_gets_no_code(shop):
    shop.place("order_created_guest")
    shop.ship("fulfillment_created")  # the phone: the order's code
    shop.saleor.metadata.clear()
    shop.saleor.notes.clear()

    shop.ship(
        "fulfillment_created_with_tracking",  # the two cables
        "fulfillment_approved_order_fulfilled",
    )

    (record,) = codes(shop)
    assert record.fulfillment_id == 1
    assert len(mail.outbox) == 1
    assert shop.saleor.metadata == []
    assert shop.saleor.notes == []


# --- 4. reading the code -------------------------------------------------------------


def test_the_customer_reads_her_code_with_her_saleor_jwt(shipped):
    shop = shipped
    (record,) = codes(shop)

    data = read_codes(shop, shop.customer_token())

    (shown,) = data["data"]["orderDeliveryCodes"]
    assert shown["code"] == code_of(record)
    assert shown["status"] == "ACTIVE"
    assert shown["fulfillmentId"] == parcel_gid(PARCEL)


def test_another_customer_is_refused(shipped):
    shop = shipped
    data = read_codes(shop, shop.keys.token(**STRANGER))

    assert refused(data)
    assert code_of(codes(shop)[0]) not in json.dumps(data)


def test_staff_see_the_status_and_never_the_code(shipped):
    shop = shipped

    data = read_codes(shop, shop.staff_token())

    (shown,) = data["data"]["orderDeliveryCodes"]
    assert shown["status"] == "ACTIVE"
    assert shown["code"] is None
    # Staff's permissions were asked of Saleor, with their own token.
    (asked,) = shop.saleor.calls("me")
    assert asked.token != shop.app_token


@pytest.mark.parametrize("which", ["courier", "the App itself"])
def test_an_app_token_never_reads_the_code(shipped, which):
    shop = shipped
    token = shop.courier_token if which == "courier" else shop.app_token

    data = read_codes(shop, token)

    assert refused(data)
    assert code_of(codes(shop)[0]) not in json.dumps(data)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer a.b.c"],
)
def test_without_a_valid_token_the_code_is_refused(shipped, authorization):
    shop = shipped
    headers = {"Authorization": authorization} if authorization else {}

    response = shop.client.post(
        shop.graphql_path,
        json.dumps({"query": CODES, "variables": {"orderId": ORDER}}),
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 200
    assert refused(response.json())
    assert code_of(codes(shop)[0]) not in response.content.decode()


def test_a_customer_jwt_of_another_saleor_is_refused(shipped):
    shop = shipped
    with app_keys.installation(9) as stranger:
        # Signed by another Saleor's key, naming this Saleor as its issuer.
        token = stranger.token(iss=shop.saleor.api_url, **CUSTOMER)

        data = read_codes(shop, token)

    assert refused(data)


# --- 5. the courier ------------------------------------------------------------------


def test_the_courier_verifies_once_and_the_timeline_says_so(shipped):
    shop = shipped
    (record,) = codes(shop)
    code = code_of(record)
    shop.saleor.notes.clear()
    shop.saleor.metadata.clear()

    first = verify(shop, wrong_code(code), shop.courier_token)
    assert first["accepted"] is False
    assert first["attemptsLeft"] == 4

    second = verify(shop, code, shop.courier_token)
    assert second == {"accepted": True, "attemptsLeft": 0, "errors": []}

    # Another courier with the same code: the code is spent.
    third = verify(shop, code, shop.other_courier_token)
    assert third["accepted"] is False
    record.refresh_from_db()
    assert record.status == CodeStatus.VERIFIED
    assert record.verified_by == f"app:{shop.installation.scoped_id('2')}"

    ((token, order, message),) = shop.saleor.notes
    assert (token, order) == (shop.app_token, ORDER)
    assert "accepted by Courier" in message
    assert (
        shop.app_token,
        parcel_gid(PARCEL),
        "delivery_otp_status",
        "verified",
    ) in shop.saleor.metadata
    assert code not in saleor_heard(shop)


def test_the_couriers_token_is_asked_of_saleor_once_within_the_cache(shipped):
    shop = shipped
    code = code_of(codes(shop)[0])

    assert verify(shop, code, shop.courier_token)["accepted"] is True
    # The courier's answer was lost; it asks again (the retry window).
    assert verify(shop, code, shop.courier_token)["accepted"] is True

    asked = [r for r in shop.saleor.calls("app") if r.token == shop.courier_token]
    assert len(asked) == 1
    # The repeated call wrote no second note.
    assert sum("accepted" in m for _, _, m in shop.saleor.notes) == 1


def test_an_app_not_allowed_in_the_channel_cannot_verify(shipped):
    shop = shipped
    record = codes(shop)[0]
    shop.configure(allowedApps="QXBwOjM=")  # only the other courier

    answer = verify(shop, code_of(record), shop.courier_token)

    assert answer["accepted"] is False
    assert [e["code"] for e in answer["errors"]] == ["PERMISSION_DENIED"]
    record.refresh_from_db()
    assert (record.status, record.attempts) == (CodeStatus.ACTIVE, 0)


def test_a_token_saleor_does_not_know_cannot_verify(shipped):
    shop = shipped
    record = codes(shop)[0]

    answer = verify(shop, code_of(record), "Unkn0wnT0kenOfNobody0123456789")

    assert answer["accepted"] is False
    assert [e["code"] for e in answer["errors"]] == ["PERMISSION_DENIED"]
    record.refresh_from_db()
    assert record.attempts == 0


# --- 6. what the webhook route refuses --------------------------------------------


def nothing_changed(shop: Shop) -> None:
    assert DeliveryCode.objects.count() == 0
    assert OrderMail.objects.count() == 0
    assert mail.outbox == []
    assert shop.saleor.notes == shop.saleor.metadata == []


def signed_by(key):
    def sign(body: bytes) -> str:
        return app_keys.Installation(key, None).sign(body)  # type: ignore[arg-type]

    return sign


@pytest.mark.parametrize(
    ("headers", "status", "answer"),
    [
        ({"Saleor-Api-Url": None}, 401, "unknown-installation"),
        ({"Saleor-Api-Url": "not a url"}, 401, "unknown-installation"),
        (
            {"Saleor-Api-Url": "https://elsewhere.example.com/graphql/"},
            401,
            "unknown-installation",
        ),
        ({"Saleor-Signature": None}, 401, "bad-signature"),
        ({"Saleor-Signature": ""}, 401, "bad-signature"),
        ({"Saleor-Signature": "a.b.c"}, 401, "bad-signature"),
    ],
    ids=[
        "no-api-url",
        "api-url-not-one",
        "unknown-installation",
        "no-signature",
        "empty-signature",
        "garbage-signature",
    ],
)
def test_a_delivery_not_proven_is_refused_and_changes_nothing(
    shop, headers, status, answer
):
    event, payload = fixture("order_created_customer")
    shop.know_order(payload)

    response = shop.deliver(payload, event, **headers)

    assert (response.status_code, response.json()) == (status, {"status": answer})
    assert response["Cache-Control"] == "no-store"
    nothing_changed(shop)


def test_a_delivery_of_an_installation_not_registered_fetches_nothing(shop):
    with running() as stranger:
        keys = app_keys.Installation(app_keys.rsa_key(2), stranger)
        keys.publish()
        event, payload = fixture("order_created_customer")

        response = shop.deliver(
            payload, event, sign=keys.sign, **{"Saleor-Api-Url": stranger.api_url}
        )

        assert response.status_code == 401
        assert stranger.requests == []
    assert shop.saleor.requests == []
    nothing_changed(shop)


def test_a_body_changed_by_one_byte_is_refused(shop):
    event, payload = fixture("order_created_customer")
    body = json.dumps(payload).encode()
    signature = shop.keys.sign(body)
    # The phone's price, 349.0 -> 949.0: one byte.
    changed = body.replace(b'"amount": 349.0', b'"amount": 949.0')
    assert len(changed) == len(body) and changed != body

    response = shop.deliver(changed, event, **{"Saleor-Signature": signature})

    assert response.status_code == 401
    nothing_changed(shop)


def test_a_delivery_signed_with_another_key_is_refused(shop):
    event, payload = fixture("order_created_customer")
    other = app_keys.rsa_key(2)

    # Its own kid, unknown to this Saleor's JWKS.
    unknown_kid = shop.deliver(payload, event, sign=signed_by(other))

    # This Saleor's kid, another key's signature.
    body = json.dumps(payload).encode()
    forged = app_keys.raw_jws(
        {"alg": "RS256", "b64": False, "crit": ["b64"], "kid": shop.keys.kid},
        body,
        other,
    )
    wrong_key = shop.deliver(body, event, **{"Saleor-Signature": forged})

    assert unknown_kid.status_code == wrong_key.status_code == 401
    nothing_changed(shop)


def test_a_delivery_signed_by_another_installation_is_refused(two):
    a, b = two
    event, payload = fixture("order_created_customer")

    # B's Saleor signed it, for B's App (also App:1 there); sent as A's.
    response = a.deliver(payload, event, sign=b.keys.sign)

    assert response.status_code == 401
    assert DeliveryCode.objects.count() == 0
    assert mail.outbox == []


def test_a_body_rendered_for_another_app_is_refused(shop):
    event, payload = fixture("order_created_customer")
    payload["recipient"]["id"] = "QXBwOjk="  # App:9 of the same Saleor

    response = shop.deliver(payload, event)

    assert (response.status_code, response.json()) == (
        401,
        {"status": "other-recipient"},
    )
    nothing_changed(shop)


@pytest.mark.parametrize("event", ["PRODUCT_UPDATED", "", "order_created_v2"])
def test_an_event_the_app_does_not_run_on_is_ignored(shop, event):
    _, payload = fixture("order_created_customer")

    response = shop.deliver(payload, event)

    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    nothing_changed(shop)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"recipient": {"id": "QXBwOjE="}}',
        "other-event",
    ],
)
def test_a_payload_the_app_cannot_read_is_refused_with_400(shop, body):
    event, payload = fixture("order_created_customer")
    if body == "other-event":
        # A signed body of another event, under ORDER_CREATED's name.
        body = json.dumps(fixture("order_cancelled")[1]).encode()

    response = shop.deliver(body, event)

    assert (response.status_code, response.json()) == (400, {"status": "bad-payload"})
    nothing_changed(shop)


@pytest.mark.parametrize("configured", ["not-configured", "inactive", "invalid"])
def test_an_order_in_a_channel_where_codes_are_off_changes_nothing(shop, configured):
    if configured == "not-configured":
        ChannelConfiguration.objects.all().delete()
    elif configured == "inactive":
        shop.configure(active=False)
    else:
        shop.configure(threshold="three hundred")
    event, payload = fixture("order_created_customer")
    shop.know_order(payload)

    response = shop.deliver(payload, event)

    assert (response.status_code, response.json()) == (
        200,
        {"status": "ok"},
    )
    nothing_changed(shop)


def test_the_webhook_route_takes_only_post(shop):
    assert shop.client.get("/api/webhooks").status_code == 405


# --- 7. installations side by side --------------------------------------------------


def b_side(payload: dict) -> dict:
    """The same order in B's Saleor: its own order id (Saleor's are uuid4s), the
    same channel slug, fulfillment id and customer id."""
    text = json.dumps(payload).replace(
        # Order:00000000-0000-4000-a000-000000000002 -> ...-0000000000b2
        "T3JkZXI6MDAwMDAwMDAtMDAwMC00MDAwLWEwMDAtMDAwMDAwMDAwMDAy",
        "T3JkZXI6MDAwMDAwMDAtMDAwMC00MDAwLWEwMDAtMDAwMDAwMDAwMGIy",
    )
    return json.loads(text)


B_ORDER = "T3JkZXI6MDAwMDAwMDAtMDAwMC00MDAwLWEwMDAtMDAwMDAwMDAwMGIy"


@pytest.fixture
def side_by_side(two):
    a, b = two
    a.place("order_created_customer")
    a.ship("fulfillment_created_on_approval", "fulfillment_approved")
    for name in (
        "order_created_customer",
        "fulfillment_created_on_approval",
        "fulfillment_approved",
    ):
        event, payload = fixture(name)
        payload = b_side(payload)
        if event == "ORDER_CREATED":
            b.know_order(payload)
        assert b.deliver(payload, event).status_code == 200
    return a, b


def test_each_installation_gets_its_own_code(side_by_side):
    a, b = side_by_side

    (code_a,) = codes(a)
    (code_b,) = codes(b)

    assert code_a.pk != code_b.pk
    assert (code_a.fulfillment_id, code_b.fulfillment_id) == (PARCEL, PARCEL)
    assert code_a.channel != code_b.channel
    assert sorted(m.to[0] for m in mail.outbox) == ["test@example.com"] * 2
    # Each Saleor heard of its own order only, with its own token.
    assert {(t, o) for t, o, _ in a.saleor.notes} == {(a.app_token, ORDER)}
    assert {(t, o) for t, o, _ in b.saleor.notes} == {(b.app_token, B_ORDER)}
    assert {t for t, *_ in a.saleor.metadata} == {a.app_token}
    assert {t for t, *_ in b.saleor.metadata} == {b.app_token}


def test_a_customer_reads_only_her_installations_code(side_by_side):
    a, b = side_by_side
    (code_a,) = codes(a)
    (code_b,) = codes(b)
    token_a = a.customer_token()  # User:1 of A; B has a User:1 too

    mine = read_codes(a, token_a)
    b_via_a = read_codes(a, token_a, order=B_ORDER)
    b_via_b = read_codes(b, token_a, order=B_ORDER, path=b.graphql_path)

    assert [c["code"] for c in mine["data"]["orderDeliveryCodes"]] == [code_of(code_a)]
    assert refused(b_via_a)
    assert refused(b_via_b)  # A's JWT is no token of B's Saleor
    assert code_of(code_b) not in json.dumps([b_via_a, b_via_b])


def test_a_courier_allowed_in_a_cannot_verify_bs_parcel(side_by_side):
    a, b = side_by_side
    (code_b,) = codes(b)

    # A's courier, B's parcel id (3 in both) and B's code, on A's route and B's.
    via_a = verify(a, code_of(code_b), a.courier_token)
    via_b = verify(b, code_of(code_b), a.courier_token, path=b.graphql_path)

    assert via_a["accepted"] is False
    assert via_b["accepted"] is False
    code_b.refresh_from_db()
    assert (code_b.status, code_b.attempts) == (CodeStatus.ACTIVE, 0)
    # B's Saleor was asked about A's token, and named no app.
    assert [r.token for r in b.saleor.calls("app")] == [a.courier_token]


def test_a_courier_held_to_its_limit_in_b_still_verifies_in_a(side_by_side, settings):
    """Saleor's app ids repeat across installations (App:2 in both): the engine's
    per-caller limit is by the installation's courier, so one installation's
    courier walking through parcels cannot lock another installation's out."""
    a, b = side_by_side
    settings.DELIVERY_OTP_CALLER_FAILED_PARCELS = 2
    (code_a,) = codes(a)
    (code_b,) = codes(b)

    for parcel in (901, 902, 903):
        verify(b, "000000", b.courier_token, parcel=parcel, path=b.graphql_path)
    held = b.graphql(
        VERIFY,
        {"fulfillmentId": parcel_gid(PARCEL), "code": code_of(code_b)},
        b.courier_token,
        path=b.graphql_path,
    )["data"]["deliveryCodeVerify"]
    in_a = verify(a, code_of(code_a), a.courier_token)

    assert held["accepted"] is False
    assert [e["code"] for e in held["errors"]] == ["RATE_LIMITED"]
    assert in_a == {"accepted": True, "attemptsLeft": 0, "errors": []}


def test_staff_of_a_see_nothing_of_b(side_by_side):
    a, b = side_by_side
    staff_a = a.staff_token()

    via_a = read_codes(a, staff_a, order=B_ORDER)
    via_b = read_codes(b, staff_a, order=B_ORDER, path=b.graphql_path)

    assert refused(via_a)
    assert refused(via_b)


# --- 8. idempotency ------------------------------------------------------------------


def test_the_same_order_created_twice_gives_one_code_and_one_email(placed):
    shop = placed
    event, payload = fixture("order_created_customer")

    again = shop.deliver(payload, event)

    assert again.status_code == 200
    assert len(codes(shop)) == 1
    assert len(mail.outbox) == 1
    assert len(shop.saleor.notes) == 1


# --- 9. APP_DELETED ------------------------------------------------------------------


def test_app_deleted_closes_the_installation(shipped):
    shop = shipped
    path = shop.graphql_path
    customer = shop.customer_token()
    event, payload = fixture("app_deleted")
    shop.saleor.uninstall(shop.app_token)  # Saleor removed the App: its token dies

    response = shop.deliver(payload, event)

    assert (response.status_code, response.json()) == (200, {"status": "deleted"})
    installation = Installation.objects.get()
    assert installation.deleted_at is not None
    # Its API route is gone, and its webhooks refused.
    gone = shop.client.post(
        path,
        json.dumps({"query": CODES, "variables": {"orderId": ORDER}}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {customer}"},
    )
    assert gone.status_code == 404
    event, cancel = fixture("order_fully_refunded")
    assert shop.deliver(cancel, event).status_code == 401
    # The codes stay, for a re-installation (docs: Uninstall).
    assert codes(shop)[0].status == CodeStatus.ACTIVE


def test_an_app_deleted_saleor_did_not_do_is_not_believed(shipped):
    """Any app of the shop can have Saleor sign a body of its making: APP_DELETED
    counts only once Saleor refuses the App's token."""
    shop = shipped
    event, payload = fixture("app_deleted")

    response = shop.deliver(payload, event, truth=False)

    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    assert Installation.objects.get().deleted_at is None
    assert read_codes(shop, shop.customer_token())["data"]["orderDeliveryCodes"]


def test_app_deleted_for_another_app_changes_nothing(shop):
    event, payload = fixture("app_deleted")
    payload["app"]["id"] = "QXBwOjI="  # the courier app deleted

    response = shop.deliver(payload, event)

    assert response.json() == {"status": "ignored"}
    assert Installation.objects.active().count() == 1


# --- what Saleor refuses, the App does not count as written -----------------------


def test_a_note_saleor_refuses_is_retried_and_logged(shop, caplog):
    # Saleor does not know the order (e.g. deleted meanwhile): orderNoteAdd
    # answers HTTP 200 with errors [NOT_FOUND].
    event, payload = fixture("order_created_customer")

    response = shop.deliver(payload, event)

    assert response.status_code == 200
    assert len(mail.outbox) == 1  # the e-mail went out, once
    assert shop.saleor.notes == []
    assert len(shop.saleor.calls("orderNoteAdd")) == 1
    # Not taken for written: the follow-up failed, and asked Celery for a retry
    # (eager here: the retry is not run).
    record = codes(shop)[0]
    assert (
        f"code_follow_up failed for {record.pk} (SaleorUnavailable); retry 1 will "
        "follow"
    ) in caplog.text


def test_a_flow_that_fails_answers_500_so_that_saleor_delivers_again(shop, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(service, "issue_for_order", broken)
    event, payload = fixture("order_created_customer")
    shop.know_order(payload)

    failed = shop.deliver(payload, event)
    monkeypatch.undo()
    again = shop.deliver(payload, event)

    assert (failed.status_code, failed.json()) == (500, {"status": "failed"})
    assert again.status_code == 200
    assert len(codes(shop)) == 1
    assert len(mail.outbox) == 1


def test_app_deleted_is_read_only_from_an_app_deleted_body(shop):
    # A signed body of another event, sent under APP_DELETED's name, that
    # happens to name this App as "app".
    event, payload = fixture("order_cancelled")
    payload["app"] = {"id": APP_ID}

    response = shop.deliver(payload, "APP_DELETED")

    assert (response.status_code, response.json()) == (400, {"status": "bad-payload"})
    assert Installation.objects.active().count() == 1


# --- what the App keeps for its e-mails -------------------------------------------


def test_nothing_is_kept_of_an_order_that_needs_no_code(shop):
    shop.configure(threshold="1000")
    event, payload = fixture("order_created_customer")
    shop.know_order(payload)

    response = shop.deliver(payload, event)

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert DeliveryCode.objects.count() == 0
    # Neither her name nor her address: the App writes nothing to this order.
    assert OrderMail.objects.count() == 0


def test_a_parcel_without_code_is_not_kept(shop):
    shop.place("order_created_guest")
    shop.ship("fulfillment_created", "fulfillment_created_with_tracking")

    (kept,) = OrderMail.objects.all()
    assert set(kept.facts["parcels"]) == {"1"}  # the phone's, not the cables'


# --- installations that share an order id ------------------------------------------


@pytest.fixture
def collision(two):
    """A's customer's order shipped; B's Saleor given A's order id (its staff
    control its database) and a User:1 of its own."""
    a, b = two
    a.place("order_created_customer")
    a.ship("fulfillment_created_on_approval", "fulfillment_approved")
    _, payload = fixture("order_created_customer")
    b.know_order(payload)
    return a, b


@pytest.mark.parametrize(
    "name",
    [
        "order_created_customer",
        "fulfillment_created_on_approval",
        "order_cancelled",
        "order_fully_refunded",
    ],
)
def test_bs_webhooks_never_touch_as_order_of_the_same_id(collision, name, caplog):
    a, b = collision
    (record,) = codes(a)
    event, payload = fixture(name)
    payload["order"]["id"] = ORDER
    sent_before = len(mail.outbox)

    response = b.deliver(payload, event)

    assert (response.status_code, response.json()) == (
        409,
        {"status": "order-of-another-installation"},
    )
    assert codes() == [record]
    record.refresh_from_db()
    assert (record.status, record.fulfillment_id) == (CodeStatus.ACTIVE, PARCEL)
    assert len(mail.outbox) == sent_before
    assert b.saleor.notes == b.saleor.metadata == []
    assert not OrderMail.objects.filter(installation=b.installation).exists()
    assert "has codes of another installation" in caplog.text


def test_bs_customer_never_reads_as_code_through_an_order_of_the_same_id(collision):
    a, b = collision
    (record,) = codes(a)

    # B's User:1, with B's JWT, on B's route: B's Saleor knows the order id.
    data = read_codes(b, b.customer_token(), path=b.graphql_path)

    assert refused(data)
    assert code_of(record) not in json.dumps(data)
    # A's customer still reads hers.
    (shown,) = read_codes(a, a.customer_token())["data"]["orderDeliveryCodes"]
    assert shown["code"] == code_of(record)


# --- staff's channels ----------------------------------------------------------------


def test_staff_restricted_to_other_channels_are_refused(shipped):
    shop = shipped
    token = shop.staff_token(
        {
            "userPermissions": [{"code": "MANAGE_ORDERS"}],
            "restrictedAccessToChannels": True,
            "accessibleChannels": [{"slug": "c-usd"}],
        }
    )

    assert refused(read_codes(shop, token))


def test_staff_without_manage_orders_are_refused(shipped):
    shop = shipped
    token = shop.staff_token(
        {
            "userPermissions": [{"code": "MANAGE_PRODUCTS"}],
            "restrictedAccessToChannels": False,
            "accessibleChannels": [{"slug": CHANNEL}],
        }
    )

    assert refused(read_codes(shop, token))


# --- parcels delivered at once ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_parcels_delivered_at_once_both_keep_their_facts(shop, monkeypatch):
    """One orderFulfill with two valuable parcels: Saleor posts both webhooks at
    once. Each e-mail must still name its own parcel."""
    shop.place("order_created_guest")
    event, first = fixture("fulfillment_created")  # Fulfillment:1, the phone
    second = json.loads(json.dumps(first))
    second["fulfillment"]["id"] = parcel_gid(4)
    second["fulfillment"]["fulfillmentOrder"] = 2
    # Both requests read the order's facts before either writes them (without a
    # lock on the row); with it, the second waits for the first.
    barrier = threading.Barrier(2)
    real_save = OrderMail.save

    def save(self, *args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(OrderMail, "save", save)
    answers: list[int] = []

    def post(payload):
        try:
            answers.append(shop.deliver(payload, event, client=Client()).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(p,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200, 200]
    (kept,) = OrderMail.objects.all()
    assert kept.facts["parcels"] == {
        "1": {"number": 1, "items": [["Phone X", 1]]},
        "4": {"number": 2, "items": [["Phone X", 1]]},
    }


# --- the rest of a parcel's life -----------------------------------------------------


def test_single_email_mode_still_emails_the_code(shop, caplog):
    # The App sends no order confirmation: a code left to it would reach nobody,
    # while the timeline says "e-mailed".
    shop.configure(emailMode="single")

    shop.place("order_created_customer")

    (record,) = codes(shop)
    (email,) = mail.outbox
    assert code_of(record) in email.body
    assert "e-mail mode single is the plugin's" in caplog.text


def test_a_parcel_waiting_for_approval_gets_its_code_when_approved(placed):
    shop = placed
    shop.saleor.metadata.clear()

    shop.ship("fulfillment_created_waiting_for_approval")
    assert codes(shop)[0].fulfillment_id is None
    assert shop.saleor.metadata == []

    shop.ship("fulfillment_created_on_approval", "fulfillment_approved")
    (record,) = codes(shop)
    assert record.fulfillment_id == PARCEL
    assert len(mail.outbox) == 1


def test_the_courier_verifies_by_the_tracking_number_saleor_sent(shop):
    shop.place("order_created_guest")
    shop.ship("fulfillment_created", "fulfillment_tracking_number_updated")
    (record,) = codes(shop)
    assert record.tracking_number == "JJD000390007827383"
    data = shop.graphql(
        "mutation($t: String, $c: String!) { deliveryCodeVerify("
        "trackingNumber: $t, code: $c) { accepted errors { code } } }",
        {"t": "JJD000390007827383", "c": code_of(record)},
        shop.courier_token,
    )

    assert data["data"]["deliveryCodeVerify"] == {"accepted": True, "errors": []}


def test_a_canceled_parcel_revokes_its_code_and_says_so(shop):
    shop.place("order_created_guest")
    shop.ship("fulfillment_created")
    shop.saleor.notes.clear()
    shop.saleor.metadata.clear()

    shop.ship("fulfillment_canceled")

    (record,) = codes(shop)
    assert record.status == CodeStatus.REVOKED
    assert [(i, v) for _, i, _, v in shop.saleor.metadata] == [
        (parcel_gid(1), "revoked")
    ]
    ((_, order, message),) = shop.saleor.notes
    assert order == GUEST_ORDER
    assert "#1001-1" in message and "revoked" in message


def test_a_refunded_order_revokes_its_codes(shipped):
    shop = shipped
    shop.saleor.metadata.clear()

    shop.ship("order_fully_refunded")

    (record,) = codes(shop)
    assert record.status == CodeStatus.REVOKED
    assert [(i, v) for _, i, _, v in shop.saleor.metadata] == [
        (parcel_gid(PARCEL), "revoked")
    ]
    assert (
        read_codes(shop, shop.customer_token())["data"]["orderDeliveryCodes"][0]["code"]
        is None
    )

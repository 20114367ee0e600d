"""The App's Dashboard pages, driven as the Dashboard drives them: the order
widget (POSTed by the Dashboard with ``saleorApiUrl``, ``appId``,
``accessToken``, ``orderId``) and its staff actions, the configuration page's
JSON endpoint (App Bridge's token in a header).

Tokens are made as Saleor makes them (tests/app_keys.py) and verified against
the fake Saleor's JWKS over real HTTP (tests/dashboard_saleor.py), which also
answers the pages' questions to Saleor.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from graphql_relay import to_global_id

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import flows, plugin_config, service
from saleor_delivery_otp.app.dashboard import auth
from saleor_delivery_otp.app.host import AppHost
from saleor_delivery_otp.app.models import ChannelConfiguration
from saleor_delivery_otp.models import CodeEvent, CodeStatus, DeliveryCode, EventType
from saleor_delivery_otp.ports import Requestor, RequestorKind
from saleor_delivery_otp.service import Lookup

from .conftest import COURIER, wrong_code
from .dashboard_saleor import APP_ID, APP_TOKEN, CHANNEL, OTHER_CHANNEL, shop

pytestmark = pytest.mark.django_db

WIDGET = "/dashboard/order-widget"
ACTION = "/dashboard/order-widget/action"
CONFIGURATION = "/dashboard/configuration"
CHANNELS_API = "/dashboard/configuration/channels"
TRACKING = "TRK-WIDGET-1"
CUSTOMER = "anna@example.com"


@pytest.fixture
def saleor():
    with shop(1) as one:
        yield one


@pytest.fixture
def other():
    """A second Saleor with the App installed: other keys, other API URL."""
    with shop(2) as two:
        yield two


@pytest.fixture
def timeline(monkeypatch):
    """The order notes the actions queue for Saleor (written by a worker)."""
    notes = []
    monkeypatch.setattr(
        flows,
        "queue_timeline",
        lambda order_id, message, requestor, *, channel: notes.append(
            (order_id, message, requestor.actor, channel)
        ),
    )
    return notes


@pytest.fixture
def parcel(saleor, limits, order_id):
    """A shipped parcel of the first shop's default channel, with its code."""
    saleor.saleor.add_order(order_id, CUSTOMER)
    record = service.issue_for_parcel(
        order_id,
        5001,
        channel=saleor.channel(),
        tracking_number=TRACKING,
        reader=service.Reader(customer_id="7", email=CUSTOMER),
        limits=limits,
    ).record
    return record


def widget_form(saleor, order_id, **overrides):
    form = {
        "saleorApiUrl": saleor.api_url,
        "appId": APP_ID,
        "accessToken": saleor.dashboard_token(),
        "orderId": to_global_id("Order", str(order_id)),
        "theme": "light",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def open_widget(client, saleor, order_id, **overrides):
    return client.post(WIDGET, widget_form(saleor, order_id, **overrides))


def text(response) -> str:
    return response.content.decode()


def secrets_of(record: DeliveryCode) -> list[str]:
    """The code and every form of its secret a page could leak."""
    record.refresh_from_db()
    code = str(service.open_code(record))
    digest = bytes(record.digest)
    sealed = bytes(record.sealed)
    return [
        code,
        digest.hex(),
        base64.b64encode(digest).decode(),
        sealed.hex(),
        base64.b64encode(sealed).decode(),
        base64.urlsafe_b64encode(sealed).decode().rstrip("="),
    ]


def assert_no_secret(page: str, *records: DeliveryCode) -> None:
    for record in records:
        for secret in secrets_of(record):
            assert secret not in page


def form_token(page: str) -> str:
    found = re.search(r'name="form" value="([^"]+)"', page)
    assert found, "the widget has no action form"
    return html.unescape(found.group(1))


def act(client, page, record, action, **fields):
    return client.post(
        ACTION,
        {
            "form": form_token(page),
            "record": str(record.pk),
            "action": action,
            **fields,
        },
    )


def fail_attempts(record, times):
    code = str(service.open_code(record))
    for _ in range(times):
        service.verify(
            Lookup(fulfillment_id=record.fulfillment_id), wrong_code(code), COURIER
        )
    record.refresh_from_db()


def status_of(page: str, record: DeliveryCode) -> str:
    found = re.search(rf'id="parcel-{record.pk}" data-status="(\w+)"', page)
    assert found, "the parcel is not on the page"
    return found.group(1)


# --- the widget shows status and attempts, never a code -------------------------------


def test_the_widget_shows_each_parcel_status_attempts_and_events_never_the_code(
    client, saleor, parcel, order_id
):
    fail_attempts(parcel, 2)
    token = saleor.dashboard_token()

    response = open_widget(client, saleor, order_id, accessToken=token)

    page = text(response)
    assert response.status_code == 200
    assert status_of(page, parcel) == "active"
    assert f"Parcel {TRACKING}" in page
    assert "2 of 5 used, 3 left" in page
    assert "0 of 2 used" in page  # unlocks
    assert "Code issued" in page and "Wrong code" in page  # events and attempts
    assert "Regenerate" in page and "Hand over without code" in page
    assert 'value="unlock"' not in page  # only a locked code is unlocked
    assert_no_secret(page, parcel)
    # The Dashboard's JWT acts on Saleor's whole API: never written into the page.
    assert token not in page
    assert CUSTOMER not in page
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "frame-ancestors" not in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"
    assert "X-Frame-Options" not in response  # the Dashboard frames it
    assert not response.cookies


def test_the_widget_asks_saleor_for_the_staff_members_channels_with_her_token(
    client, saleor, parcel, order_id
):
    token = saleor.dashboard_token()

    open_widget(client, saleor, order_id, accessToken=token)

    (asked,) = [r for r in saleor.saleor.requests if r.method == "POST"]
    assert asked.headers["authorization"] == f"Bearer {token}"
    assert "accessibleChannels" in asked.json()["query"]


def test_a_locked_code_offers_unlock(client, saleor, parcel, order_id):
    fail_attempts(parcel, 5)

    page = text(open_widget(client, saleor, order_id))

    assert status_of(page, parcel) == "locked"
    assert "5 of 5 used, 0 left" in page
    assert 'name="action" value="unlock"' in page
    assert "Locked" in page
    assert_no_secret(page, parcel)


def test_an_order_without_codes_says_so(client, saleor):
    response = open_widget(client, saleor, uuid.uuid4())

    assert response.status_code == 200
    assert "No delivery code for this order" in text(response)
    assert 'name="form"' not in text(response)


def test_codes_of_another_installation_are_not_shown(
    client, saleor, other, parcel, order_id
):
    # The same order id, the other Saleor's staff member: the first shop's codes
    # stay in the first shop.
    response = open_widget(
        client,
        other,
        order_id,
        saleorApiUrl=other.api_url,
        accessToken=other.dashboard_token(),
    )

    assert response.status_code == 200
    assert TRACKING not in text(response)
    assert "No delivery code for this order" in text(response)


def test_staff_see_only_their_channels(client, saleor, parcel, order_id, limits):
    theirs = service.issue_for_parcel(
        order_id,
        5002,
        channel=saleor.channel(OTHER_CHANNEL),
        tracking_number="TRK-WHOLESALE",
        reader=service.Reader(customer_id="7", email=CUSTOMER),
        limits=limits,
    ).record
    saleor.saleor.staff_channels = [OTHER_CHANNEL]

    page = text(open_widget(client, saleor, order_id))

    assert "TRK-WHOLESALE" in page
    assert TRACKING not in page
    assert status_of(page, theirs) == "active"


def test_staff_restricted_to_no_channel_of_the_order_see_nothing(
    client, saleor, parcel, order_id
):
    saleor.saleor.staff_channels = []

    page = text(open_widget(client, saleor, order_id))

    assert TRACKING not in page
    assert "No delivery code for this order in your channels" in page


# --- who may open the widget ----------------------------------------------------------


REFUSALS = [
    pytest.param({"accessToken": None}, 401, id="no token"),
    pytest.param({"accessToken": ""}, 401, id="empty token"),
    pytest.param({"accessToken": "not.a.token"}, 401, id="garbage"),
    pytest.param({"accessToken": APP_TOKEN}, 401, id="the App token"),
    pytest.param({"appId": "QXBwOjI="}, 401, id="another app id in the form"),
    pytest.param({"appId": None}, 401, id="no app id"),
    pytest.param({"saleorApiUrl": None}, 401, id="no api url"),
    pytest.param(
        {"saleorApiUrl": "https://shop.example.com/graphql/"}, 401, id="unknown shop"
    ),
    pytest.param({"orderId": None}, 400, id="no order"),
    pytest.param({"orderId": "VXNlcjo1"}, 400, id="not an order id"),
]


@pytest.mark.parametrize(("overrides", "status"), REFUSALS)
def test_the_widget_is_refused_without_a_valid_dashboard_token(
    client, saleor, parcel, order_id, overrides, status
):
    response = open_widget(client, saleor, order_id, **overrides)

    assert response.status_code == status
    assert TRACKING not in text(response)
    assert 'name="form"' not in text(response)
    assert_no_secret(text(response), parcel)


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        pytest.param({"app": "QXBwOjI="}, 401, id="a token of another app"),
        pytest.param({"type": "access"}, 401, id="a plain access token"),
        pytest.param(
            {"exp": datetime.now(tz=UTC) - timedelta(minutes=5)}, 401, id="expired"
        ),
        pytest.param({"permissions": []}, 403, id="no MANAGE_ORDERS"),
        pytest.param(
            {"permissions": ["MANAGE_PRODUCTS"]}, 403, id="other permissions only"
        ),
        pytest.param({"is_staff": False}, 403, id="not staff"),
        pytest.param({"user_id": "T3JkZXI6MQ=="}, 401, id="not a user"),
    ],
)
def test_the_widget_is_refused_for_tokens_that_do_not_grant_it(
    client, saleor, parcel, order_id, claims, status
):
    response = open_widget(
        client, saleor, order_id, accessToken=saleor.dashboard_token(**claims)
    )

    assert response.status_code == status
    assert TRACKING not in text(response)
    assert 'name="form"' not in text(response)


def test_a_token_of_another_installation_is_refused(
    client, saleor, other, parcel, order_id
):
    # Signed by the other Saleor (its key, its issuer), posted as the first one's.
    response = open_widget(
        client, saleor, order_id, accessToken=other.dashboard_token()
    )
    assert response.status_code == 401
    assert TRACKING not in text(response)
    # Signed with another key under the first Saleor's name.
    forged = saleor.keys.dashboard_token(APP_ID, key=other.keys.key)
    response = open_widget(client, saleor, order_id, accessToken=forged)
    assert response.status_code == 401


def test_an_uninstalled_app_opens_nothing(client, saleor, parcel, order_id):
    saleor.installation.deleted_at = datetime.now(tz=UTC)
    saleor.installation.save()

    assert open_widget(client, saleor, order_id).status_code == 401


def test_a_token_saleor_no_longer_takes_is_refused(client, saleor, parcel, order_id):
    # Offline it verifies; Saleor says nobody (a deactivated staff member).
    saleor.saleor.staff_channels = False

    response = open_widget(client, saleor, order_id)

    assert response.status_code == 401
    assert TRACKING not in text(response)


def test_saleor_out_of_reach_shows_no_codes(client, saleor, parcel, order_id):
    saleor.saleor.down.add("DeliveryOTPDashboardStaff")

    response = open_widget(client, saleor, order_id)

    assert response.status_code == 503
    assert TRACKING not in text(response)


def test_saleors_keys_out_of_reach_show_no_codes(client, saleor, parcel, order_id):
    saleor.saleor.document = "not a key set"

    response = open_widget(client, saleor, order_id)

    assert response.status_code == 503
    assert TRACKING not in text(response)


def test_the_widget_answers_only_post(client, saleor):
    assert client.get(WIDGET).status_code == 405
    assert client.get(ACTION).status_code == 405


# --- staff actions --------------------------------------------------------------------


def test_unlock_gives_the_attempts_back_and_the_status_changes(
    client, saleor, parcel, order_id, timeline
):
    fail_attempts(parcel, 5)
    page = text(open_widget(client, saleor, order_id))
    assert status_of(page, parcel) == "locked"

    response = act(client, page, parcel, "unlock", reason="Customer confirmed by phone")

    after = text(response)
    assert response.status_code == 200
    assert status_of(after, parcel) == "active"
    assert "0 of 5 used, 5 left" in after
    assert "1 of 2 used" in after
    assert "Unlocked: 5 attempts again for parcel TRK-WIDGET-1." in after
    assert "Customer confirmed by phone" in after  # the event's note
    parcel.refresh_from_db()
    assert (parcel.status, parcel.attempts) == (CodeStatus.ACTIVE, 0)
    event = CodeEvent.objects.get(delivery_code=parcel, type=EventType.UNLOCKED)
    # The staff member as the engine names her: scoped to her installation.
    assert (event.actor, event.note) == (
        f"staff:{saleor.installation.public_id}:5",
        "Customer confirmed by phone",
    )
    ((noted_order, message, actor, channel),) = timeline
    assert noted_order == order_id and channel == saleor.channel()
    assert message == "Delivery code unlocked: Customer confirmed by phone"
    assert (actor.kind, actor.identifier) == (
        "staff",
        saleor.installation.scoped_id("5"),
    )
    assert_no_secret(after, parcel)


def test_unlock_without_a_reason_changes_nothing(client, saleor, parcel, order_id):
    fail_attempts(parcel, 5)
    page = text(open_widget(client, saleor, order_id))

    response = act(client, page, parcel, "unlock", reason="  ")

    assert response.status_code == 400
    assert "reason" in text(response).lower()
    assert status_of(text(response), parcel) == "locked"
    parcel.refresh_from_db()
    assert parcel.status == CodeStatus.LOCKED


def test_unlocking_an_active_code_is_refused_with_the_engines_message(
    client, saleor, parcel, order_id
):
    page = text(open_widget(client, saleor, order_id))

    response = act(client, page, parcel, "unlock", reason="why not")

    assert response.status_code == 400
    assert "Only a locked code can be unlocked." in text(response)


def test_regenerate_replaces_the_code_and_shows_the_new_one_without_its_code(
    client, saleor, parcel, order_id, timeline
):
    page = text(open_widget(client, saleor, order_id))

    response = act(client, page, parcel, "regenerate")

    after = text(response)
    assert response.status_code == 200, after
    parcel.refresh_from_db()
    assert parcel.status == CodeStatus.SUPERSEDED
    new = DeliveryCode.objects.current().get(order_id=order_id)
    assert new.pk != parcel.pk and new.fulfillment_id == parcel.fulfillment_id
    assert status_of(after, new) == "active"
    assert f'id="parcel-{parcel.pk}"' not in after
    assert "Replaced by a new code" in after  # the old code's history stays
    assert "on its way to the customer" in after
    assert_no_secret(after, new, parcel)
    # The App asked Saleor for the order with its own token, for the pin check.
    asked = [r for r in saleor.saleor.requests if "DeliveryOTPOrder" in r.body.decode()]
    assert asked and asked[0].headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert [m for _, m, _, _ in timeline] == [
        "Delivery code replaced by a new one, e-mailed to the customer."
    ]


def test_handover_without_code_records_the_reason(
    client, saleor, parcel, order_id, timeline
):
    page = text(open_widget(client, saleor, order_id))

    response = act(
        client, page, parcel, "handover", reason="Customer showed her ID card"
    )

    after = text(response)
    assert response.status_code == 200
    assert status_of(after, parcel) == "verified"
    assert "Customer showed her ID card" in after
    assert 'name="action"' not in after  # nothing left to do
    parcel.refresh_from_db()
    assert parcel.status == CodeStatus.VERIFIED
    assert parcel.status_reason == "Customer showed her ID card"


def _unchanged(parcel):
    """Whether the code is as the test last read it."""
    status, attempts = parcel.status, parcel.attempts
    parcel.refresh_from_db()
    return (parcel.status, parcel.attempts) == (status, attempts)


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({}, id="no form token"),
        pytest.param({"form": "x"}, id="garbage"),
        pytest.param({"form": "tampered"}, id="tampered"),
        pytest.param({"form": "x" * 5000}, id="too long"),
    ],
)
def test_an_action_without_the_widgets_form_token_is_refused(
    client, saleor, parcel, order_id, form
):
    fail_attempts(parcel, 5)
    page = text(open_widget(client, saleor, order_id))
    if form.get("form") == "tampered":
        genuine = form_token(page)
        form = {"form": genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")}

    response = client.post(
        ACTION, {**form, "record": str(parcel.pk), "action": "unlock", "reason": "r"}
    )

    assert response.status_code == 401
    assert TRACKING not in text(response)
    assert _unchanged(parcel)


def test_a_form_token_too_old_is_refused(client, saleor, parcel, order_id, monkeypatch):
    fail_attempts(parcel, 5)
    page = text(open_widget(client, saleor, order_id))
    monkeypatch.setattr(auth, "FORM_TOKEN_MAX_AGE", -1)

    response = act(client, page, parcel, "unlock", reason="late")

    assert response.status_code == 401
    assert "open too long" in text(response)
    assert _unchanged(parcel)


def test_a_form_token_is_bound_to_its_order(client, saleor, parcel, limits):
    # Staff open another order's widget, then aim its form at this order's code.
    other_order = uuid.uuid4()
    service.issue_for_parcel(other_order, 6001, channel=saleor.channel(), limits=limits)
    fail_attempts(parcel, 5)
    page = text(open_widget(client, saleor, other_order))

    response = act(client, page, parcel, "unlock", reason="wrong order")

    assert response.status_code == 400
    assert "No such delivery code." in text(response)
    assert _unchanged(parcel)


def test_a_form_token_is_bound_to_its_installation(
    client, saleor, other, parcel, order_id
):
    # A genuine form token of the other shop (its staff, the same order id).
    fail_attempts(parcel, 5)
    staff = Requestor(
        RequestorKind.STAFF, "5", "staff@example.com", can_manage_orders=True
    )
    token = auth.WidgetSession(other.installation, order_id, staff).form_token()

    response = client.post(
        ACTION,
        {"form": token, "record": str(parcel.pk), "action": "unlock", "reason": "r"},
    )

    assert response.status_code == 400
    assert "No such delivery code." in text(response)
    assert _unchanged(parcel)


def test_a_form_token_of_a_reinstalled_app_is_refused(client, saleor, parcel, order_id):
    fail_attempts(parcel, 5)
    page = text(open_widget(client, saleor, order_id))
    saleor.installation.saleor_app_id = "QXBwOjk="  # installed again: App:9
    saleor.installation.save()

    response = act(client, page, parcel, "unlock", reason="after reinstall")

    assert response.status_code == 401
    assert _unchanged(parcel)


def test_staff_restricted_to_a_channel_act_in_it(client, saleor, parcel, order_id):
    fail_attempts(parcel, 5)
    saleor.saleor.staff_channels = [CHANNEL]
    page = text(open_widget(client, saleor, order_id))

    response = act(client, page, parcel, "unlock", reason="in my channel")

    assert response.status_code == 200
    assert status_of(text(response), parcel) == "active"


def test_staff_cannot_act_outside_their_channels(client, saleor, parcel, order_id):
    fail_attempts(parcel, 5)
    saleor.saleor.staff_channels = [OTHER_CHANNEL]
    # The session Saleor's answer gives her: the other channel only.
    session = auth.widget_session(widget_form(saleor, order_id))
    assert session.requestor.channels == frozenset({saleor.channel(OTHER_CHANNEL)})

    response = client.post(
        ACTION,
        {
            "form": session.form_token(),
            "record": str(parcel.pk),
            "action": "unlock",
            "reason": "not mine",
        },
    )

    assert response.status_code == 400
    assert "No such delivery code." in text(response)
    assert _unchanged(parcel)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "revoke"}, "Choose unlock, regenerate or hand over."),
        ({"action": ""}, "Choose unlock, regenerate or hand over."),
        ({"record": "not-a-uuid"}, "No such delivery code."),
        ({"record": str(uuid.uuid4())}, "No such delivery code."),
    ],
)
def test_malformed_actions_change_nothing(
    client, saleor, parcel, order_id, fields, message
):
    fail_attempts(parcel, 5)
    page = text(open_widget(client, saleor, order_id))

    response = client.post(
        ACTION,
        {
            "form": form_token(page),
            "record": str(parcel.pk),
            "action": "unlock",
            "reason": "r",
            **fields,
        },
    )

    assert response.status_code == 400
    assert message in text(response)
    assert _unchanged(parcel)


# --- the configuration page -----------------------------------------------------------


def config_headers(saleor, token=None, api_url=None):
    headers = {"Saleor-Api-Url": api_url if api_url is not None else saleor.api_url}
    token = (
        token
        if token is not None
        else saleor.dashboard_token(
            permissions=["MANAGE_ORDERS"],
            user_permissions=["MANAGE_APPS", "MANAGE_ORDERS"],
        )
    )
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def get_channels(client, saleor, **kwargs):
    return client.get(CHANNELS_API, headers=config_headers(saleor, **kwargs))


def save(client, saleor, values, *, channel=CHANNEL, active=True, **kwargs):
    return client.post(
        CHANNELS_API,
        json.dumps({"channel": channel, "active": active, "values": values}),
        content_type="application/json",
        headers=config_headers(saleor, **kwargs),
    )


def settings_of(saleor, slug=CHANNEL):
    return AppHost(saleor.installation).channel_settings(saleor.channel(slug))


def test_the_configuration_page_is_a_shell_until_the_dashboard_signs_in(client, saleor):
    response = client.get(CONFIGURATION)

    page = text(response)
    assert response.status_code == 200
    assert 'data-api="/dashboard/configuration/channels"' in page
    assert '<script src="/dashboard/assets/configuration.js">' in page
    assert "Default channel" not in page  # nothing before the token
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    assert client.get("/dashboard/assets/configuration.js").status_code == 200
    assert client.get("/dashboard/assets/../settings.py").status_code == 404
    assert client.get("/dashboard/assets/auth.py").status_code == 404


def test_the_configuration_lists_the_shops_channels_with_the_plugins_form(
    client, saleor
):
    response = get_channels(client, saleor)

    assert response.status_code == 200
    data = response.json()
    assert [field["name"] for field in data["fields"]] == list(plugin_config.FIELDS)
    threshold = data["fields"][0]
    spec = plugin_config.FIELDS[c.THRESHOLD]
    assert (threshold["label"], threshold["help"]) == (spec.label, spec.help_text)
    assert [(ch["slug"], ch["currency"], ch["active"]) for ch in data["channels"]] == [
        (CHANNEL, "EUR", False),
        (OTHER_CHANNEL, "USD", False),
    ]
    assert data["channels"][0]["values"] == plugin_config.DEFAULTS
    # Where the shop's storefront and couriers call the App: its own route.
    assert data["api_url"] == (
        f"https://otp.example.com/api/graphql/{saleor.installation.public_id}/"
    )
    # The channels came from Saleor, asked with the App token.
    (asked,) = [r for r in saleor.saleor.requests if r.method == "POST"]
    assert asked.headers["authorization"] == f"Bearer {APP_TOKEN}"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        pytest.param({"token": ""}, 401, id="no token"),
        pytest.param({"token": "garbage"}, 401, id="garbage"),
        pytest.param({"token": APP_TOKEN}, 401, id="the App token"),
        pytest.param({"api_url": ""}, 401, id="no api url"),
        pytest.param(
            {"api_url": "https://shop.example.com/graphql/"}, 401, id="unknown shop"
        ),
    ],
)
def test_the_configuration_is_refused_without_a_valid_token(
    client, saleor, kwargs, status
):
    response = get_channels(client, saleor, **kwargs)

    assert response.status_code == status
    assert "channels" not in response.json()
    assert ChannelConfiguration.objects.count() == 0
    assert save(client, saleor, {c.THRESHOLD: "1"}, **kwargs).status_code == status
    assert ChannelConfiguration.objects.count() == 0


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"app": "QXBwOjI="}, id="another app's token"),
        pytest.param({"type": "access"}, id="a plain access token"),
        pytest.param(
            {"exp": datetime.now(tz=UTC) - timedelta(minutes=5)}, id="expired"
        ),
    ],
)
def test_the_configuration_refuses_tokens_that_are_not_this_apps(
    client, saleor, claims
):
    token = saleor.dashboard_token(
        user_permissions=["MANAGE_APPS"], permissions=[], **claims
    )
    assert get_channels(client, saleor, token=token).status_code == 401
    assert save(client, saleor, {}, token=token).status_code == 401
    assert ChannelConfiguration.objects.count() == 0


def test_a_token_of_another_installation_configures_nothing(client, saleor, other):
    token = other.dashboard_token(user_permissions=["MANAGE_APPS"])

    assert get_channels(client, saleor, token=token).status_code == 401
    assert save(client, saleor, {}, token=token).status_code == 401
    assert ChannelConfiguration.objects.count() == 0


def test_configuring_needs_manage_apps_among_the_users_own_permissions(client, saleor):
    # The App holds MANAGE_ORDERS only: ``permissions`` (the App's and the user's
    # in common) never lists MANAGE_APPS; the user's own list does.
    without = saleor.dashboard_token(
        permissions=["MANAGE_ORDERS"], user_permissions=["MANAGE_ORDERS"]
    )
    no_claim = saleor.dashboard_token(drop=("user_permissions",))

    for token in (without, no_claim):
        response = get_channels(client, saleor, token=token)
        assert response.status_code == 403
        assert "Manage apps" in response.json()["error"]
        assert save(client, saleor, {}, token=token).status_code == 403
    assert ChannelConfiguration.objects.count() == 0
    with_it = saleor.dashboard_token(permissions=[], user_permissions=["MANAGE_APPS"])
    assert get_channels(client, saleor, token=with_it).status_code == 200


def test_a_token_that_names_no_user_configures_nothing(client, saleor):
    token = saleor.dashboard_token(
        user_id="T3JkZXI6MQ==", user_permissions=["MANAGE_APPS"]
    )

    assert get_channels(client, saleor, token=token).status_code == 401
    assert save(client, saleor, {}, token=token).status_code == 401


def test_a_bad_field_shows_its_error_and_saves_nothing(client, saleor):
    response = save(
        client,
        saleor,
        {**plugin_config.DEFAULTS, c.THRESHOLD: "a lot", c.MAX_ATTEMPTS: "0"},
    )

    assert response.status_code == 400
    data = response.json()
    assert data["saved"] is False
    assert set(data["errors"]) == {c.THRESHOLD, c.MAX_ATTEMPTS}
    assert (
        data["errors"][c.THRESHOLD]
        == plugin_config.validate({c.THRESHOLD: "a lot"})[c.THRESHOLD]
    )
    assert ChannelConfiguration.objects.count() == 0
    assert settings_of(saleor) is None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({c.CATEGORY_SLUGS: "phones, tablets"}, c.CATEGORY_SLUGS, "tablets"),
        ({c.PRODUCT_TYPE_SLUGS: "watch"}, c.PRODUCT_TYPE_SLUGS, "watch"),
        ({c.ALLOWED_APPS: "17, 99"}, c.ALLOWED_APPS, "No app has the ID 99."),
        ({c.ALLOWED_APPS: "DHL courier"}, c.ALLOWED_APPS, "not by name"),
        ({c.EMAIL_MODE: "single"}, c.EMAIL_MODE, "choose separate"),
    ],
)
def test_what_saleor_does_not_know_is_refused_field_by_field(
    client, saleor, values, field, message
):
    response = save(client, saleor, {**plugin_config.DEFAULTS, **values})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert message in errors[field]
    assert ChannelConfiguration.objects.count() == 0


def test_a_good_save_changes_the_channels_settings(client, saleor):
    assert settings_of(saleor) is None
    values = {
        **plugin_config.DEFAULTS,
        c.THRESHOLD: "500",
        c.CATEGORY_SLUGS: "phones",
        c.PRODUCT_TYPE_SLUGS: "smartphone",
        c.MAX_ATTEMPTS: "3",
        c.ALLOWED_APPS: "QXBwOjE3",  # App:17, entered by its global ID
    }

    response = save(client, saleor, values)

    assert response.status_code == 200, response.content
    assert response.json()["saved"] is True
    assert response.json()["channel"]["active"] is True
    assert response.json()["channel"]["values"][c.ALLOWED_APPS] == "17"
    settings = settings_of(saleor)
    assert settings is not None
    assert settings.policy.thresholds == {"EUR": 500}
    assert settings.policy.category_slugs == frozenset({"phones"})
    assert settings.limits.max_attempts == 3
    # The engine's name of App 17 of this installation (Installation.scoped_id).
    assert settings.verifying_apps == frozenset({f"{saleor.installation.public_id}:17"})
    row = ChannelConfiguration.objects.get()
    assert (row.slug, row.currency, row.active) == (CHANNEL, "EUR", True)
    assert [item["name"] for item in row.items] == list(plugin_config.FIELDS)
    # The other channel is untouched; the apps were checked with the staff
    # member's token (the App's cannot read other apps).
    assert settings_of(saleor, OTHER_CHANNEL) is None
    apps_asked = [
        r for r in saleor.saleor.requests if "DeliveryOTPApps" in r.body.decode()
    ]
    assert apps_asked[0].headers["authorization"] != f"Bearer {APP_TOKEN}"
    # Read back: the page shows what was saved.
    listed = get_channels(client, saleor).json()["channels"][0]
    assert listed["active"] is True and listed["values"][c.THRESHOLD] == "500"

    # Switched off: the channel has no settings any more, its form is kept.
    assert save(client, saleor, values, active=False).status_code == 200
    assert settings_of(saleor) is None
    assert ChannelConfiguration.objects.get().items == row.items


def test_a_save_for_a_channel_saleor_does_not_have_is_refused(client, saleor):
    response = save(client, saleor, plugin_config.DEFAULTS, channel="gone")

    assert response.status_code == 400
    assert ChannelConfiguration.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"channel": CHANNEL, "active": "yes", "values": {}}).encode(),
        json.dumps({"channel": CHANNEL, "active": True, "values": []}).encode(),
        json.dumps({"active": True, "values": {}}).encode(),
    ],
)
def test_a_malformed_save_is_refused(client, saleor, body):
    response = client.post(
        CHANNELS_API,
        body,
        content_type="application/json",
        headers=config_headers(saleor),
    )

    assert response.status_code == 400
    assert ChannelConfiguration.objects.count() == 0


def test_a_value_that_is_not_text_is_a_field_error(client, saleor):
    response = save(client, saleor, {**plugin_config.DEFAULTS, c.THRESHOLD: 300})

    assert response.status_code == 400
    assert response.json()["errors"] == {c.THRESHOLD: "Enter text."}


@pytest.mark.parametrize(
    "operation",
    ["DeliveryOTPChannels", "DeliveryOTPCategories", "DeliveryOTPApps"],
)
def test_saleor_out_of_reach_saves_nothing(client, saleor, operation):
    saleor.saleor.down.add(operation)

    response = save(
        client,
        saleor,
        {**plugin_config.DEFAULTS, c.CATEGORY_SLUGS: "phones", c.ALLOWED_APPS: "17"},
    )

    assert response.status_code == 503
    assert ChannelConfiguration.objects.count() == 0


def test_a_secret_field_is_never_sent_back_and_kept_when_left_empty(
    client, saleor, settings, monkeypatch
):
    # No field of today's form is secret; the page treats any that becomes one so.
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"north-2031": ["k" * 40]}
    secret = dataclasses.replace(
        plugin_config.FIELDS[c.KEY_SET], kind=plugin_config.FieldKind.SECRET
    )
    monkeypatch.setattr(
        plugin_config, "FIELDS", {**plugin_config.FIELDS, c.KEY_SET: secret}
    )
    monkeypatch.setattr(plugin_config, "SECRET_FIELDS", frozenset({c.KEY_SET}))
    values = {**plugin_config.DEFAULTS, c.KEY_SET: "north-2031"}
    assert save(client, saleor, values).status_code == 200

    listed = get_channels(client, saleor).json()
    channel = listed["channels"][0]
    assert channel["values"][c.KEY_SET] == ""
    assert channel["secretsSet"] == [c.KEY_SET]
    assert "north-2031" not in json.dumps(listed)
    assert next(f for f in listed["fields"] if f["name"] == c.KEY_SET)["secret"]

    response = save(client, saleor, {**values, c.KEY_SET: "", c.THRESHOLD: "400"})
    assert response.status_code == 200
    assert "north-2031" not in response.content.decode()
    stored = {i["name"]: i["value"] for i in ChannelConfiguration.objects.get().items}
    assert (stored[c.KEY_SET], stored[c.THRESHOLD]) == ("north-2031", "400")

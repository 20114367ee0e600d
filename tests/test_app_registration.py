"""The Saleor App's installation: its manifest, its register endpoint and the
installations it keeps, against a fake Saleor on 127.0.0.1 (tests/fake_saleor.py).

What Saleor does at ``appInstall`` (saleor/app/installation_utils.py
send_app_token): POST ``{"auth_token": ...}`` to the manifest's tokenTargetUrl with
``Saleor-Domain`` and ``Saleor-Api-Url``. What an attacker may do: the same POST,
from anywhere, with any header and body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.db import connection
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from saleor_delivery_otp import __version__
from saleor_delivery_otp.app import checks, manifest, saleor_api, tokens
from saleor_delivery_otp.app.models import Installation
from saleor_delivery_otp.app.saleor_api import InvalidAPIURL, normalize_api_url
from saleor_delivery_otp.app.views import register_view

from .fake_saleor import FakeSaleor, running

pytestmark = pytest.mark.django_db

TOKEN = "Tkn0pen5esame0123456789abcdef"  # Saleor's App tokens: 30 characters
OTHER_TOKEN = "SecondT0kenOfThe5ameApp0123456"
APP_ID = "QXBwOjE3"  # App:17
NEW_APP_ID = "QXBwOjE4"  # App:18
OLD_KEY = "9PuQJ4wFzY27naU41I1Xu3h7O1BQTmyuLml48aVu-XA="  # tests.settings' key
NEW_KEY = "od8tyQGZ6VDmf1UQfV8FDaYijHVM_gXq4aMEpvQgbJ8="


@pytest.fixture
def saleor(settings) -> Iterator[FakeSaleor]:
    """A running fake Saleor with the App installed (app 17, TOKEN), allowed."""
    with running() as fake:
        fake.install(TOKEN, APP_ID)
        settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = [fake.api_url]
        yield fake


def register(
    client: Client,
    api_url: str | None,
    body: bytes | str | dict | None = None,
    *,
    domain: str | None = "shop.example.com",
    **headers: str,
):
    if body is None:
        body = {"auth_token": TOKEN}
    if isinstance(body, dict):
        body = json.dumps(body)
    if api_url is not None:
        headers["Saleor-Api-Url"] = api_url
    if domain is not None:
        headers["Saleor-Domain"] = domain
    return client.post(
        "/api/register", body, content_type="application/json", headers=headers
    )


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    # Never echoed, whatever was posted.
    assert TOKEN not in response.content.decode()
    assert OTHER_TOKEN not in response.content.decode()


def stored_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {Installation._meta.db_table}"  # noqa: S608 (our table)
        )
        return cursor.fetchall()


# --- the happy path -----------------------------------------------------------------


def test_registration_stores_the_installation_with_the_token_sealed(
    client, saleor, caplog
):
    caplog.set_level(logging.DEBUG)

    response = register(client, saleor.api_url)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert TOKEN not in response.content.decode()
    installation = Installation.objects.get()
    assert installation.saleor_api_url == saleor.api_url
    assert installation.saleor_app_id == APP_ID
    assert installation.domain == "shop.example.com"
    assert installation.deleted_at is None
    assert installation.token() == TOKEN
    # At rest: no column of the row holds the token, in any form we can spot.
    (row,) = stored_rows()
    assert all(TOKEN not in str(value) for value in row)
    assert installation.sealed_token != TOKEN
    # Nothing logged it either.
    assert TOKEN not in caplog.text
    # Saleor was asked who the token is, with the token, once.
    (asked,) = saleor.requests
    assert asked.method == "POST"
    assert asked.headers["authorization"] == f"Bearer {TOKEN}"
    assert "app" in asked.json()["query"]


def test_the_register_endpoint_needs_no_csrf_token(saleor, settings):
    settings.MIDDLEWARE = ["django.middleware.csrf.CsrfViewMiddleware"]
    client = Client(enforce_csrf_checks=True)
    # The control: the middleware refuses a POST elsewhere without a token.
    assert client.post("/api/manifest").status_code == 403

    response = register(client, saleor.api_url)

    assert response.status_code == 200
    assert Installation.objects.count() == 1


def test_the_api_url_matches_the_allow_list_after_normalization(client, saleor):
    # Scheme and host in capitals, the default port spelled out: the same URL.
    shouted = saleor.api_url.replace("http://", "HTTP://")

    response = register(client, shouted)

    assert response.status_code == 200
    assert Installation.objects.get().saleor_api_url == saleor.api_url


# --- refused before Saleor is asked -------------------------------------------------


def test_a_saleor_not_allowed_is_refused_and_never_sent_the_token(
    client, saleor, settings, caplog
):
    with running() as stranger:
        stranger.install(TOKEN, APP_ID)

        response = register(client, stranger.api_url)

        refused(response, 403, "SALEOR_NOT_ALLOWED")
        # The App never called the URL a stranger named (no token, no SSRF).
        assert stranger.requests == []
    assert saleor.requests == []
    assert Installation.objects.count() == 0
    assert "not in DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS" in caplog.text


def test_an_api_url_is_matched_exactly_not_by_prefix(client, saleor):
    response = register(client, saleor.api_url.rstrip("/"))  # .../graphql

    refused(response, 403, "SALEOR_NOT_ALLOWED")
    assert saleor.requests == []


def test_an_empty_allow_list_refuses_every_saleor_with_a_log_line(
    client, saleor, settings, caplog
):
    settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = []

    response = register(client, saleor.api_url)

    refused(response, 403, "SALEOR_NOT_ALLOWED")
    assert saleor.requests == []
    assert Installation.objects.count() == 0
    assert "DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS is empty" in caplog.text


def test_a_missing_api_url_header_is_refused(client, saleor):
    refused(register(client, None), 400, "MISSING_API_URL")
    refused(register(client, "  "), 400, "MISSING_API_URL")
    assert saleor.requests == []
    assert Installation.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    [
        "shop.example.com",
        "ftp://shop.example.com/graphql/",
        "http://shop.example.com/graphql/",  # a token in clear to a remote host
        "https://user:pw@shop.example.com/graphql/",
        "https://shop.example.com/graphql/?next=/",
        "https://shop.example.com/graphql/#x",
        "https://shop.example.com:99999/graphql/",
        "https://",
        "https://shop.example.com/gra phql/",
        "https://shöp.example.com/graphql/",
        "https://shop.example.com/" + "a" * 3000,
    ],
)
def test_an_api_url_that_is_not_one_is_refused(client, saleor, header):
    refused(register(client, header), 400, "INVALID_API_URL")
    assert saleor.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"auth_token=abc",
        b"\xff\xfe",
        b"[]",
        b'"a token"',
        b"{}",
        {"token": TOKEN},
        {"auth_token": None},
        {"auth_token": 12345},
        {"auth_token": [TOKEN]},
        {"auth_token": ""},
        {"auth_token": "two words"},
        {"auth_token": "line\r\nX-Injected: 1"},
        {"auth_token": "tökén"},
        {"auth_token": "a" * 513},
    ],
)
def test_a_body_that_is_not_a_token_is_refused(client, saleor, body):
    refused(register(client, saleor.api_url, body), 400, "INVALID_BODY")
    assert saleor.requests == []
    assert Installation.objects.count() == 0


def test_a_body_too_large_is_refused_unread(client, saleor):
    body = json.dumps({"auth_token": TOKEN, "padding": "x" * 5000})

    refused(register(client, saleor.api_url, body), 413, "BODY_TOO_LARGE")
    assert saleor.requests == []


def test_register_takes_only_post(client, saleor):
    response = client.get("/api/register", headers={"Saleor-Api-Url": saleor.api_url})

    assert response.status_code == 405
    assert Installation.objects.count() == 0


def test_without_token_keys_nothing_is_asked_nor_stored(
    client, saleor, settings, caplog
):
    settings.DELIVERY_OTP_APP_TOKEN_KEYS = []

    refused(register(client, saleor.api_url), 503, "NOT_CONFIGURED")
    assert saleor.requests == []
    assert Installation.objects.count() == 0
    assert "DELIVERY_OTP_APP_TOKEN_KEYS is empty" in caplog.text


# --- refused by what Saleor answers -------------------------------------------------


def test_a_token_saleor_refuses_is_refused(client, saleor, caplog):
    caplog.set_level(logging.DEBUG)

    response = register(client, saleor.api_url, {"auth_token": OTHER_TOKEN})

    refused(response, 403, "TOKEN_REFUSED")
    assert len(saleor.requests) == 1
    assert Installation.objects.count() == 0
    assert OTHER_TOKEN not in caplog.text


@pytest.mark.parametrize("status", [401, 403])
def test_an_http_refusal_of_the_token_is_refused(client, saleor, status):
    saleor.answer = (status, {}, b"")

    refused(register(client, saleor.api_url), 403, "TOKEN_REFUSED")
    assert Installation.objects.count() == 0


def test_another_apps_token_is_refused(client, saleor):
    # A token Saleor knows, of an app not installed from this App's manifest
    # (another app of the shop, a local app someone made).
    saleor.install(OTHER_TOKEN, "QXBwOjk5", identifier="someone-elses-app")

    response = register(client, saleor.api_url, {"auth_token": OTHER_TOKEN})

    refused(response, 403, "WRONG_APP")
    assert Installation.objects.count() == 0


def test_a_staff_token_names_no_app_and_is_refused(client, saleor):
    saleor.answer = (
        200,
        {"Content-Type": "application/json"},
        json.dumps({"data": {"app": None}}).encode(),
    )

    refused(register(client, saleor.api_url), 403, "TOKEN_REFUSED")
    assert Installation.objects.count() == 0


@pytest.mark.parametrize(
    "answer",
    [
        (500, {}, b"Internal Server Error"),
        (502, {}, b""),
        (200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"),
        (200, {"Content-Type": "application/json"}, b"[1, 2]"),
        (200, {"Content-Type": "application/json"}, b'{"data": null}'),
        (200, {"Content-Type": "application/json"}, b'{"data": {"app": {}}}'),
        (
            200,
            {"Content-Type": "application/json"},
            b'{"data": {"app": {"id": 17, "identifier": "saleor-delivery-otp"}}}',
        ),
        (200, {"Content-Type": "application/json"}, b'{"x": "' + b"y" * 2_000_000),
    ],
    ids=[
        "500",
        "502",
        "html",
        "json-array",
        "no-data",
        "no-id",
        "id-not-a-string",
        "too-large",
    ],
)
def test_an_answer_that_confirms_nothing_is_refused(client, saleor, answer):
    saleor.answer = answer

    refused(register(client, saleor.api_url), 502, "SALEOR_UNAVAILABLE")
    assert Installation.objects.count() == 0


def test_a_redirect_is_not_followed_with_the_token(client, saleor):
    with running() as elsewhere:
        elsewhere.install(TOKEN, APP_ID)
        saleor.answer = (307, {"Location": elsewhere.api_url}, b"")

        refused(register(client, saleor.api_url), 502, "SALEOR_UNAVAILABLE")
        assert elsewhere.requests == []
    assert Installation.objects.count() == 0


def test_a_saleor_too_slow_is_given_up(client, saleor, monkeypatch):
    monkeypatch.setattr(saleor_api, "TIMEOUT", (1.0, 0.2))
    saleor.delay = 1.0

    refused(register(client, saleor.api_url), 502, "SALEOR_UNAVAILABLE")
    assert Installation.objects.count() == 0


def test_a_saleor_that_is_down_is_refused(client, settings):
    with running() as gone:
        api_url = gone.api_url
    settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = [api_url]

    refused(register(client, api_url), 502, "SALEOR_UNAVAILABLE")
    assert Installation.objects.count() == 0


# --- registering again --------------------------------------------------------------


def test_registering_again_with_the_same_app_replaces_the_token(client, saleor):
    assert register(client, saleor.api_url).status_code == 200
    first = Installation.objects.get()
    saleor.install(OTHER_TOKEN, APP_ID)

    response = register(
        client, saleor.api_url, {"auth_token": OTHER_TOKEN}, domain="new.example.com"
    )

    assert response.status_code == 200
    installation = Installation.objects.get()
    assert installation.pk == first.pk
    assert installation.token() == OTHER_TOKEN
    assert installation.domain == "new.example.com"
    assert installation.updated_at > first.updated_at


def test_a_reinstallation_takes_over_once_the_old_app_is_gone(client, saleor):
    assert register(client, saleor.api_url).status_code == 200
    first = Installation.objects.get()
    # Saleor uninstalled app 17 (its token dies) and installed the App again.
    saleor.uninstall(TOKEN)
    saleor.install(OTHER_TOKEN, NEW_APP_ID)

    response = register(client, saleor.api_url, {"auth_token": OTHER_TOKEN})

    assert response.status_code == 200
    installation = Installation.objects.get()
    # The same installation: its configuration and codes stay with the shop.
    assert installation.pk == first.pk
    assert installation.saleor_app_id == NEW_APP_ID
    assert installation.token() == OTHER_TOKEN
    # The old token was asked about, with the old token.
    assert [r.headers["authorization"] for r in saleor.requests[1:]] == [
        f"Bearer {OTHER_TOKEN}",
        f"Bearer {TOKEN}",
    ]


def test_a_second_app_claiming_the_app_while_the_first_lives_is_refused(client, saleor):
    assert register(client, saleor.api_url).status_code == 200
    saleor.install(OTHER_TOKEN, NEW_APP_ID)  # app 17 still installed

    response = register(client, saleor.api_url, {"auth_token": OTHER_TOKEN})

    refused(response, 409, "ALREADY_INSTALLED")
    installation = Installation.objects.get()
    assert installation.saleor_app_id == APP_ID
    assert installation.token() == TOKEN


def test_a_takeover_is_refused_when_saleor_cannot_say_about_the_old_app(client, saleor):
    assert register(client, saleor.api_url).status_code == 200
    saleor.install(OTHER_TOKEN, NEW_APP_ID)
    real_respond = saleor.respond

    def old_token_unanswered(received):
        if received.headers["authorization"] == f"Bearer {TOKEN}":
            return 503, {}, b""
        return real_respond(received)

    saleor.respond = old_token_unanswered  # type: ignore[method-assign]

    response = register(client, saleor.api_url, {"auth_token": OTHER_TOKEN})

    refused(response, 502, "SALEOR_UNAVAILABLE")
    assert Installation.objects.get().token() == TOKEN


def test_a_deleted_installation_is_live_again_after_a_reinstallation(client, saleor):
    assert register(client, saleor.api_url).status_code == 200
    Installation.objects.update(deleted_at=timezone.now())  # APP_DELETED
    saleor.uninstall(TOKEN)
    saleor.install(OTHER_TOKEN, NEW_APP_ID)

    response = register(client, saleor.api_url, {"auth_token": OTHER_TOKEN})

    assert response.status_code == 200
    installation = Installation.objects.get()
    assert installation.deleted_at is None
    assert installation.saleor_app_id == NEW_APP_ID
    assert Installation.objects.active().get() == installation
    # Known deleted: the old token was not asked about.
    assert len(saleor.requests) == 2


def test_two_installations_side_by_side(client, saleor, settings):
    with running() as second:
        second.install(OTHER_TOKEN, APP_ID)  # Saleor's ids are per Saleor
        settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = [
            saleor.api_url,
            second.api_url,
        ]

        assert register(client, saleor.api_url).status_code == 200
        second_response = register(
            client,
            second.api_url,
            {"auth_token": OTHER_TOKEN},
            domain="second.example.com",
        )
        assert second_response.status_code == 200

        # Each Saleor was sent its own token only.
        assert {r.headers["authorization"] for r in saleor.requests} == {
            f"Bearer {TOKEN}"
        }
        assert {r.headers["authorization"] for r in second.requests} == {
            f"Bearer {OTHER_TOKEN}"
        }
        one = Installation.objects.get(saleor_api_url=saleor.api_url)
        two = Installation.objects.get(saleor_api_url=second.api_url)
        assert one.pk != two.pk
        assert (one.token(), two.token()) == (TOKEN, OTHER_TOKEN)
        assert two.domain == "second.example.com"

        # A token of the first Saleor posted as the second's is refused there,
        # and changes neither.
        refused(register(client, second.api_url), 403, "TOKEN_REFUSED")
        one.refresh_from_db()
        two.refresh_from_db()
        assert (one.token(), two.token()) == (TOKEN, OTHER_TOKEN)


# --- the keys -----------------------------------------------------------------------


def test_a_token_sealed_under_the_old_key_opens_after_a_new_key_is_prepended(
    client, saleor, settings
):
    assert register(client, saleor.api_url).status_code == 200
    settings.DELIVERY_OTP_APP_TOKEN_KEYS = [NEW_KEY, OLD_KEY]

    installation = Installation.objects.get()
    assert installation.token() == TOKEN
    # Not under the new key yet: dropping the old one now would lose it.
    assert Fernet(OLD_KEY).decrypt(installation.sealed_token.encode()) == (
        TOKEN.encode()
    )

    installation.reseal_token()

    settings.DELIVERY_OTP_APP_TOKEN_KEYS = [NEW_KEY]
    installation.refresh_from_db()
    assert installation.token() == TOKEN


def test_a_token_whose_key_was_dropped_is_unreadable_not_wrong(saleor, settings):
    installation = Installation(saleor_api_url=saleor.api_url, saleor_app_id=APP_ID)
    installation.set_token(TOKEN)
    installation.save()
    settings.DELIVERY_OTP_APP_TOKEN_KEYS = [NEW_KEY]

    with pytest.raises(tokens.TokenUnreadable) as raised:
        installation.token()
    assert TOKEN not in str(raised.value)
    assert NEW_KEY not in str(raised.value)


def test_a_registration_after_rotation_seals_under_the_newest_key(
    client, saleor, settings
):
    settings.DELIVERY_OTP_APP_TOKEN_KEYS = [NEW_KEY, OLD_KEY]

    assert register(client, saleor.api_url).status_code == 200

    sealed = Installation.objects.get().sealed_token.encode()
    assert Fernet(NEW_KEY).decrypt(sealed) == TOKEN.encode()


def test_the_keys_may_come_as_one_comma_separated_string(saleor, settings):
    settings.DELIVERY_OTP_APP_TOKEN_KEYS = f"{NEW_KEY}, {OLD_KEY}"
    installation = Installation(saleor_api_url=saleor.api_url, saleor_app_id=APP_ID)

    installation.set_token(TOKEN)

    assert Fernet(NEW_KEY).decrypt(installation.sealed_token.encode()) == (
        TOKEN.encode()
    )


def test_a_takeover_is_refused_when_the_old_token_cannot_be_read(
    client, saleor, settings
):
    assert register(client, saleor.api_url).status_code == 200
    settings.DELIVERY_OTP_APP_TOKEN_KEYS = [NEW_KEY]  # the old key dropped
    saleor.install(OTHER_TOKEN, NEW_APP_ID)

    response = register(client, saleor.api_url, {"auth_token": OTHER_TOKEN})

    refused(response, 503, "NOT_CONFIGURED")
    assert Installation.objects.get().saleor_app_id == APP_ID


# --- the API URL's normal form ------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://shop.example.com/graphql/", "https://shop.example.com/graphql/"),
        (" HTTPS://Shop.Example.COM/graphql/ ", "https://shop.example.com/graphql/"),
        ("https://shop.example.com:443/graphql/", "https://shop.example.com/graphql/"),
        (
            "https://shop.example.com:8443/graphql/",
            "https://shop.example.com:8443/graphql/",
        ),
        ("https://shop.example.com", "https://shop.example.com/"),
        ("https://shop.example.com/GraphQL/", "https://shop.example.com/GraphQL/"),
        ("http://127.0.0.1:8000/graphql/", "http://127.0.0.1:8000/graphql/"),
        ("http://localhost/graphql/", "http://localhost/graphql/"),
        ("http://[::1]:8000/graphql/", "http://[::1]:8000/graphql/"),
    ],
)
def test_normal_form_of_an_api_url(given, normal):
    assert normalize_api_url(given) == normal


@pytest.mark.parametrize(
    "given",
    [
        None,
        17,
        "",
        "http://10.0.0.5/graphql/",
        "http://shop.example.com/graphql/",
        "javascript:alert(1)",
        "https://shop.example.com/graphql/?",
        "https://@shop.example.com/",
        "https://shop.example.com/\x00",
    ],
)
def test_not_an_api_url(given):
    with pytest.raises(InvalidAPIURL):
        normalize_api_url(given)


# --- the manifest -------------------------------------------------------------------

SAMPLE_WEBHOOKS = [
    {
        "name": "Delivery codes: orders",
        "asyncEvents": ["ORDER_CREATED"],
        "query": "subscription { event { ... on OrderCreated { order { id } } } }",
        "targetUrl": "https://otp.example.com/api/webhooks/orders",
    },
    {
        "name": "Delivery codes: uninstall",
        "asyncEvents": ["APP_DELETED"],
        "query": "subscription { event { ... on AppDeleted { app { id } } } }",
        "targetUrl": "https://otp.example.com/api/webhooks/app-deleted",
    },
]


def test_the_manifest_endpoint_serves_the_manifest(client):
    response = client.get("/api/manifest")

    assert response.status_code == 200
    document = response.json()
    assert document["id"] == "saleor-delivery-otp"
    assert document["version"] == __version__
    assert document["permissions"] == ["MANAGE_ORDERS"]
    assert document["tokenTargetUrl"] == "https://otp.example.com/api/register"
    assert document["appUrl"] == "https://otp.example.com/dashboard/configuration"
    assert document["requiredSaleorVersion"] == ">=3.23.5 <4"
    (widget,) = document["extensions"]
    assert widget["mount"] == "ORDER_DETAILS_WIDGETS"
    assert widget["target"] == "WIDGET"
    assert widget["url"] == "https://otp.example.com/dashboard/order-widget"
    assert widget["permissions"] == ["MANAGE_ORDERS"]
    assert widget["options"] == {"widgetTarget": {"method": "POST"}}
    # Extension permissions must be among the App's (Saleor refuses otherwise).
    assert set(widget["permissions"]) <= set(document["permissions"])
    assert isinstance(document["webhooks"], list)


def test_the_manifest_names_the_register_endpoint_it_serves(client):
    document = client.get("/api/manifest").json()
    path = document["tokenTargetUrl"].removeprefix("https://otp.example.com")

    assert resolve(path).func is register_view


def test_the_manifest_follows_the_apps_url(client, settings):
    settings.DELIVERY_OTP_APP_URL = "https://apps.example.com/otp/"

    document = client.get("/api/manifest").json()

    assert document["tokenTargetUrl"] == "https://apps.example.com/otp/api/register"
    assert document["appUrl"] == "https://apps.example.com/otp/dashboard/configuration"


def test_the_manifest_carries_the_webhooks_it_is_given():
    document = manifest.build_manifest(SAMPLE_WEBHOOKS)

    assert document["webhooks"] == SAMPLE_WEBHOOKS
    assert document["webhooks"] is not SAMPLE_WEBHOOKS


@pytest.mark.parametrize(
    "webhook",
    [
        {**SAMPLE_WEBHOOKS[0], "syncEvents": ["CHECKOUT_CALCULATE_TAXES"]},
        {key: v for key, v in SAMPLE_WEBHOOKS[0].items() if key != "query"},
        {**SAMPLE_WEBHOOKS[0], "asyncEvents": []},
        {**SAMPLE_WEBHOOKS[0], "asyncEvents": "ORDER_CREATED"},
        {**SAMPLE_WEBHOOKS[0], "targetUrl": None},
    ],
)
def test_a_malformed_webhook_is_not_put_in_the_manifest(webhook):
    with pytest.raises(ValueError, match="webhook"):
        manifest.build_manifest([webhook])


@pytest.mark.parametrize(
    "app_url", [None, "", "otp.example.com", "http://otp.example.com"]
)
def test_without_a_usable_app_url_the_manifest_is_not_served(
    client, settings, caplog, app_url
):
    settings.DELIVERY_OTP_APP_URL = app_url

    refused(client.get("/api/manifest"), 503, "NOT_CONFIGURED")
    assert "DELIVERY_OTP_APP_URL" in caplog.text


def test_the_manifest_takes_only_get(client):
    assert client.post("/api/manifest").status_code == 405


# --- the system checks --------------------------------------------------------------


def _ids(messages) -> set[str]:
    return {message.id for message in messages}


def test_the_settings_checks_pass_with_usable_settings():
    assert checks.check_token_keys() == []
    assert checks.check_app_url() == []
    assert checks.check_allowed_saleor_urls() == []


@pytest.mark.parametrize(
    "keys", [[], None, ["not-a-fernet-key"], [NEW_KEY, "short"], "a,b"]
)
def test_e001_unusable_token_keys(settings, keys):
    settings.DELIVERY_OTP_APP_TOKEN_KEYS = keys

    found = checks.check_token_keys()

    assert _ids(found) == {"delivery_otp_app.E001"}
    assert all(NEW_KEY not in message.msg for message in found)


@pytest.mark.parametrize("app_url", [None, "otp.example.com", "http://otp.example.com"])
def test_e002_unusable_app_url(settings, app_url):
    settings.DELIVERY_OTP_APP_URL = app_url

    assert _ids(checks.check_app_url()) == {"delivery_otp_app.E002"}


def test_e003_an_allow_list_entry_that_is_no_api_url(settings):
    settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = [
        "https://shop.example.com/graphql/",
        "http://shop.example.com/graphql/",
    ]

    assert _ids(checks.check_allowed_saleor_urls()) == {"delivery_otp_app.E003"}


def test_w001_an_empty_allow_list(settings):
    settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = []

    assert _ids(checks.check_allowed_saleor_urls()) == {"delivery_otp_app.W001"}


def test_the_settings_checks_are_registered(settings):
    ours = {"delivery_otp_app.E001", "delivery_otp_app.E002", "delivery_otp_app.W001"}
    assert not ours & _ids(run_checks())

    settings.DELIVERY_OTP_APP_TOKEN_KEYS = []
    settings.DELIVERY_OTP_APP_URL = None
    settings.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = []

    assert ours <= _ids(run_checks())

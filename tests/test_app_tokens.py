"""Saleor's JWTs, verified offline by the App against the installation's JWKS.

A customer's access token identifies her to the App's API; the Dashboard's token
identifies a staff member on the App's pages. Tokens are made as Saleor 3.23
makes them (tests/app_keys.py), each Saleor a key served over real HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from saleor_delivery_otp.app.saleor_tokens import (
    SaleorToken,
    TokenInvalid,
    issuer_of,
    verify_dashboard_token,
    verify_user_token,
)

from .app_keys import b64url, installation, raw_jws, rsa_key

APP_ID = "QXBwOjE="  # App:1, this App in the first installation
BODY = b'{"order": {"id": "T3JkZXI6MQ=="}}'


@pytest.fixture
def saleor():
    with installation(1) as one:
        yield one


@pytest.fixture
def other():
    with installation(2) as two:
        yield two


def refused(reason: str | None = None):
    return pytest.raises(TokenInvalid, match=reason)


def ago(seconds: float) -> datetime:
    return datetime.now(tz=UTC) - timedelta(seconds=seconds)


# Customer and staff access tokens


def test_a_customers_access_token_names_her(saleor):
    token = saleor.token()

    verified = verify_user_token(token, saleor.api_url)

    assert verified == SaleorToken(
        user_id="VXNlcjo3",
        email="anna@example.com",
        is_staff=False,
        permissions=None,  # not in the token: Saleor knows them
        expires_at=verified.expires_at,
        app_id=None,
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert verified.expires_at == datetime.fromtimestamp(claims["exp"], tz=UTC)
    with pytest.raises(AttributeError):
        verified.email = "mallory@example.com"  # type: ignore[misc]
    # Verified offline: one JWKS fetch, then none.
    verify_user_token(saleor.token(), saleor.api_url)
    assert saleor.server.fetches == 1


def test_a_staff_members_access_token_says_staff(saleor):
    verified = verify_user_token(
        saleor.token(email="staff@example.com", user_id="VXNlcjo1", is_staff=True),
        saleor.api_url,
    )
    assert (verified.user_id, verified.is_staff) == ("VXNlcjo1", True)


def test_the_issuer_is_the_installations_api_url(saleor):
    # JWTManager.get_issuer(): build_absolute_uri(reverse("api")), the same
    # string Saleor sends in Saleor-Api-Url.
    assert issuer_of(saleor.api_url) == saleor.api_url
    assert issuer_of("https://shop.saleor.cloud/graphql/") == (
        "https://shop.saleor.cloud/graphql/"
    )


@pytest.mark.parametrize(
    "issuer",
    [
        pytest.param(lambda s, o: o.api_url, id="the other installation"),
        pytest.param(lambda s, o: "https://shop.saleor.cloud/graphql/", id="another"),
        pytest.param(lambda s, o: s.api_url.rstrip("/"), id="no trailing slash"),
        pytest.param(lambda s, o: s.api_url.upper(), id="other case"),
        pytest.param(lambda s, o: "", id="empty"),
    ],
)
def test_another_issuer_is_refused(saleor, other, issuer):
    with refused("issuer"):
        verify_user_token(saleor.token(iss=issuer(saleor, other)), saleor.api_url)


def _hand_signed(saleor, **claims) -> str:
    """A token PyJWT would not encode, signed with the installation's key."""
    payload = jwt.decode(saleor.token(), options={"verify_signature": False})
    body = b64url(json.dumps({**payload, **claims}).encode())
    header = {"alg": "RS256", "kid": saleor.kid, "typ": "JWT"}
    return raw_jws(header, body.encode(), saleor.key, payload_segment=body)


@pytest.mark.parametrize("issuer", [7, None, ["ISSUER"]])
def test_an_issuer_that_is_not_text_is_refused(saleor, issuer):
    assert verify_user_token(_hand_signed(saleor), saleor.api_url)
    if issuer == ["ISSUER"]:
        issuer = [saleor.api_url]

    with refused():
        verify_user_token(_hand_signed(saleor, iss=issuer), saleor.api_url)


def test_an_expired_token_is_refused_with_a_small_leeway(saleor):
    verify_user_token(saleor.token(exp=ago(5)), saleor.api_url)

    with refused("expired"):
        verify_user_token(saleor.token(exp=ago(30)), saleor.api_url)
    with refused("expired"):
        verify_user_token(saleor.token(exp=ago(3600)), saleor.api_url)


@pytest.mark.parametrize("claim", ["exp", "iat", "iss"])
def test_a_token_without_exp_iat_or_iss_is_refused(saleor, claim):
    with refused():
        verify_user_token(saleor.token(drop=(claim,)), saleor.api_url)


def test_a_token_issued_in_the_future_is_refused(saleor):
    with refused():
        verify_user_token(saleor.token(iat=ago(-120)), saleor.api_url)


@pytest.mark.parametrize(
    "token_type", ["refresh", "confirm-email-change", "thirdparty", "", None]
)
def test_only_an_access_token_identifies_a_user(saleor, token_type):
    with refused("type"):
        verify_user_token(saleor.token(type=token_type), saleor.api_url)


def test_a_dashboard_token_handed_to_an_app_is_no_user_token(saleor):
    # Another App gets one for the staff member who opens it: it must not act as
    # that user towards this App.
    with refused("type"):
        verify_user_token(saleor.dashboard_token(), saleor.api_url)
    with refused("type"):
        verify_user_token(saleor.token(app="QXBwOjI="), saleor.api_url)


def test_a_token_saleor_signed_for_a_plugin_is_refused(saleor):
    # OpenID Connect's tokens: only the plugin decides whether they still hold.
    with refused("owner"):
        verify_user_token(
            saleor.token(owner="mirumee.authentication.openidconnect"),
            saleor.api_url,
        )
    with refused("owner"):
        verify_user_token(saleor.token(drop=("owner",)), saleor.api_url)


@pytest.mark.parametrize(
    ("claims", "drop"),
    [
        ({}, ("user_id",)),
        ({}, ("email",)),
        ({}, ("is_staff",)),
        ({}, ("token",)),
        ({"user_id": 7}, ()),
        ({"user_id": ""}, ()),
        ({"email": ["anna@example.com"]}, ()),
        ({"is_staff": "true"}, ()),
        ({"is_staff": 1}, ()),
        ({"permissions": "MANAGE_ORDERS"}, ()),
        ({"permissions": [1]}, ()),
        ({"permissions": ["P"] * 201}, ()),
        ({"exp": "tomorrow"}, ()),
    ],
)
def test_claims_of_the_wrong_shape_are_refused(saleor, claims, drop):
    with refused():
        verify_user_token(saleor.token(drop=drop, **claims), saleor.api_url)


def test_permissions_in_a_token_are_returned(saleor):
    verified = verify_user_token(
        saleor.token(permissions=["MANAGE_ORDERS", "MANAGE_ORDERS"]), saleor.api_url
    )
    assert verified.permissions == frozenset({"MANAGE_ORDERS"})


def test_an_audience_must_be_the_one_expected(saleor):
    # tokenCreate(audience: "storefront") puts aud "custom:storefront".
    token = saleor.token(aud="custom:storefront")

    with refused("audience"):
        verify_user_token(token, saleor.api_url)
    with refused("audience"):
        verify_user_token(token, saleor.api_url, audience="custom:pos")
    assert verify_user_token(token, saleor.api_url, audience="custom:storefront")
    with refused():
        verify_user_token(saleor.token(), saleor.api_url, audience="custom:storefront")


# Forged and foreign tokens


def _hs256_with_the_public_key(saleor) -> str:
    header = {"alg": "HS256", "kid": saleor.kid, "typ": "JWT"}
    claims = jwt.decode(saleor.token(), options={"verify_signature": False})
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    secret = saleor.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def _unsigned(saleor) -> str:
    head = b64url(json.dumps({"alg": "none", "kid": saleor.kid}).encode())
    _, body, _ = saleor.token().split(".")
    return f"{head}.{body}."


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(_unsigned, id="alg none"),
        pytest.param(_hs256_with_the_public_key, id="HS256 keyed with the public key"),
        pytest.param(lambda s: s.token(headers={"alg": "RS512"}), id="RS512"),
        pytest.param(lambda s: s.token(headers={"alg": "PS256"}), id="PS256"),
    ],
)
def test_an_algorithm_other_than_rs256_is_refused(saleor, forge):
    with refused():
        verify_user_token(forge(saleor), saleor.api_url)
    assert saleor.server.fetches == 0


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "é.b.c",
        "a" * 20_000 + ".b.c",
        b64url(b"[]") + ".e30.c2ln",
    ],
    ids=lambda t: repr(t)[:20],
)
def test_a_malformed_token_is_refused_without_a_fetch(saleor, token):
    with refused():
        verify_user_token(token, saleor.api_url)
    assert saleor.server.fetches == 0


def test_a_token_without_a_kid_is_refused(saleor):
    token = jwt.encode(
        jwt.decode(saleor.token(), options={"verify_signature": False}),
        saleor.key,
        algorithm="RS256",
    )
    with refused("kid"):
        verify_user_token(token, saleor.api_url)


def test_a_tampered_token_is_refused(saleor):
    head, body, sig = saleor.token().split(".")
    claims = json.loads(jwt.utils.base64url_decode(body))
    claims["email"] = "mallory@example.com"

    with refused("bad-token"):
        verify_user_token(
            f"{head}.{b64url(json.dumps(claims).encode())}.{sig}", saleor.api_url
        )


def test_a_webhook_signature_is_no_token(saleor):
    # Same key, but a detached JWS over a body is not a JWT.
    signature = saleor.sign(BODY)
    head, _, sig = signature.split(".")
    with refused():
        verify_user_token(signature, saleor.api_url)
    with refused():
        verify_user_token(f"{head}.{b64url(BODY)}.{sig}", saleor.api_url)
    # Even one whose body is a token's claims, and signed by the right key.
    claims = jwt.decode(saleor.token(), options={"verify_signature": False})
    body = b64url(json.dumps(claims).encode()).encode()
    forged = raw_jws(
        {"alg": "RS256", "kid": saleor.kid, "b64": False, "crit": ["b64"]},
        body,
        saleor.key,
        payload_segment=body.decode(),
    )
    with refused():
        verify_user_token(forged, saleor.api_url)


def test_a_token_signed_by_a_stranger_is_refused(saleor):
    with refused("unknown-kid"):
        verify_user_token(saleor.token(key=rsa_key(3)), saleor.api_url)
    # With the installation's kid in the header.
    with refused("bad-token"):
        verify_user_token(
            saleor.token(key=rsa_key(3), headers={"kid": saleor.kid}), saleor.api_url
        )


def test_two_installations_never_accept_each_others_tokens(saleor, other):
    mine, theirs = saleor.token(), other.token()
    assert verify_user_token(mine, saleor.api_url).email == "anna@example.com"
    assert verify_user_token(theirs, other.api_url).email == "anna@example.com"

    # The other installation's genuine token, sent to this one, and back.
    with refused():
        verify_user_token(theirs, saleor.api_url)
    with refused():
        verify_user_token(mine, other.api_url)
    # Claiming this installation's issuer, signed by the other's key (with
    # either installation's kid).
    with refused("unknown-kid"):
        verify_user_token(other.token(iss=saleor.api_url), saleor.api_url)
    with refused("bad-token"):
        verify_user_token(
            other.token(iss=saleor.api_url, headers={"kid": saleor.kid}),
            saleor.api_url,
        )
    # Signed by this installation's key, naming the other as issuer.
    with refused("issuer"):
        verify_user_token(saleor.token(iss=other.api_url), saleor.api_url)
    # Dashboard tokens likewise, even for the same app id.
    with refused():
        verify_dashboard_token(other.dashboard_token(APP_ID), saleor.api_url, APP_ID)


def test_an_unreachable_jwks_refuses(saleor):
    api_url = saleor.api_url
    saleor.server.close()
    with refused("jwks-unavailable"):
        verify_user_token(saleor.token(), api_url)


def test_an_api_url_saleor_would_not_send_is_refused(saleor):
    with refused("api-url"):
        verify_user_token(saleor.token(), "http://shop.example.com/graphql/")
    assert saleor.server.fetches == 0


# The Dashboard's token for the App's pages


def test_a_dashboard_token_names_the_staff_member_and_her_permissions(saleor):
    verified = verify_dashboard_token(
        saleor.dashboard_token(app_extension="QXBwRXh0ZW5zaW9uOjM="),
        saleor.api_url,
        APP_ID,
    )

    assert verified == SaleorToken(
        user_id="VXNlcjo1",
        email="staff@example.com",
        is_staff=True,
        # The App's and the user's in common, not user_permissions.
        permissions=frozenset({"MANAGE_ORDERS"}),
        expires_at=verified.expires_at,
        app_id=APP_ID,
        app_extension_id="QXBwRXh0ZW5zaW9uOjM=",
        # Every permission the user holds, also those the App lacks.
        user_permissions=frozenset({"MANAGE_ORDERS", "MANAGE_PRODUCTS"}),
    )


@pytest.mark.parametrize("value", ["MANAGE_APPS", [7], ["P"] * 201])
def test_a_dashboard_token_with_a_malformed_user_permission_list_is_refused(
    saleor, value
):
    with refused("claim-user_permissions"):
        verify_dashboard_token(
            saleor.dashboard_token(user_permissions=value), saleor.api_url, APP_ID
        )


def test_a_dashboard_token_without_user_permissions_says_none(saleor):
    verified = verify_dashboard_token(
        saleor.dashboard_token(drop=("user_permissions",)), saleor.api_url, APP_ID
    )
    assert verified.user_permissions is None


def test_a_dashboard_token_with_no_permission_in_common_says_so(saleor):
    verified = verify_dashboard_token(
        saleor.dashboard_token(permissions=[]), saleor.api_url, APP_ID
    )
    assert verified.permissions == frozenset()


def test_a_dashboard_token_for_another_app_is_refused(saleor):
    # Another App of the same Saleor: its pages' token must not open ours.
    with refused("app"):
        verify_dashboard_token(
            saleor.dashboard_token("QXBwOjI="), saleor.api_url, APP_ID
        )
    with refused("app"):
        verify_dashboard_token(
            saleor.dashboard_token(drop=("app",)), saleor.api_url, APP_ID
        )


@pytest.mark.parametrize("token_type", ["access", "refresh", None])
def test_only_a_thirdparty_token_opens_the_apps_pages(saleor, token_type):
    with refused("type"):
        verify_dashboard_token(
            saleor.dashboard_token(type=token_type), saleor.api_url, APP_ID
        )
    with refused("type"):
        verify_dashboard_token(saleor.token(), saleor.api_url, APP_ID)


@pytest.mark.parametrize("permissions", [None, "MANAGE_ORDERS", [None]])
def test_a_dashboard_token_without_a_permission_list_is_refused(saleor, permissions):
    token = (
        saleor.dashboard_token(drop=("permissions",))
        if permissions is None
        else saleor.dashboard_token(permissions=permissions)
    )
    with refused("claim-permissions"):
        verify_dashboard_token(token, saleor.api_url, APP_ID)


def test_a_dashboard_token_is_checked_like_any_token(saleor):
    with refused("expired"):
        verify_dashboard_token(
            saleor.dashboard_token(exp=ago(60)), saleor.api_url, APP_ID
        )
    with refused("owner"):
        verify_dashboard_token(
            saleor.dashboard_token(owner="plugin"), saleor.api_url, APP_ID
        )
    with refused("unknown-kid"):
        verify_dashboard_token(
            saleor.dashboard_token(key=rsa_key(3)), saleor.api_url, APP_ID
        )
    with refused("claim-app_extension"):
        verify_dashboard_token(
            saleor.dashboard_token(app_extension=5), saleor.api_url, APP_ID
        )


def test_a_dashboard_token_carries_the_apps_audience_when_it_declares_one(saleor):
    # app.audience from the manifest goes into aud.
    token = saleor.dashboard_token(aud="https://otp.example.com")

    assert verify_dashboard_token(
        token, saleor.api_url, APP_ID, audience="https://otp.example.com"
    )
    with refused("audience"):
        verify_dashboard_token(token, saleor.api_url, APP_ID)
    with refused("audience"):
        verify_dashboard_token(
            saleor.dashboard_token(aud="https://other-app.example.com"),
            saleor.api_url,
            APP_ID,
            audience="https://otp.example.com",
        )


def test_an_app_id_is_required(saleor):
    with pytest.raises(ValueError):
        verify_dashboard_token(saleor.dashboard_token(), saleor.api_url, "")

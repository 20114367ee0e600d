"""The App reads a webhook only if its installation signed that very body.

Each Saleor here is an RSA key served as a JWKS by a real HTTP server on
127.0.0.1 (tests/app_keys.py), its deliveries signed as Saleor 3.23 signs them.
Every refusal is a ``SignatureInvalid``; where the refusal must come before any
look-up, the JWKS server's request count says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from saleor_delivery_otp.app import jwks
from saleor_delivery_otp.app.jwks import JwksPolicy
from saleor_delivery_otp.app.signatures import SignatureInvalid, verify_webhook

from .app_keys import (
    JWKS_PATH,
    b64url,
    installation,
    raw_jws,
    rsa_key,
    saleor_jwk,
    send,
    thumbprint,
    wait_past,
)

BODY = json.dumps(
    {
        "__typename": "FulfillmentCreated",
        "fulfillment": {"id": "RnVsZmlsbG1lbnQ6MQ==", "trackingNumber": ""},
        "order": {"id": "T3JkZXI6MQ==", "userEmail": "anna@example.com"},
    }
).encode()

# The refetch interval at its least, for the tests that wait it out.
QUICK = JwksPolicy(ttl=60, refetch_interval=1)


@pytest.fixture
def saleor():
    with installation(1) as one:
        yield one


@pytest.fixture
def other():
    with installation(2) as two:
        yield two


def refused(reason: str | None = None):
    return pytest.raises(SignatureInvalid, match=reason)


# The happy path, as Saleor signs


def test_a_delivery_signed_as_saleor_signs_it_is_read(saleor):
    signature = saleor.sign(BODY)
    header = jwt.get_unverified_header(signature)

    # What JWTManager.jws_encode puts in the header, and the detached payload.
    assert header == {
        "alg": "RS256",
        "b64": False,
        "crit": ["b64"],
        "kid": saleor.kid,
        "typ": "JWT",
    }
    assert signature.split(".")[1] == ""
    verify_webhook(BODY, signature, saleor.api_url)
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)

    # The second delivery was checked against the cached keys.
    assert saleor.server.fetches == 1


def test_the_jwks_is_where_saleor_serves_it():
    # saleor/urls.py: ^graphql/$ and ^\.well-known/jwks.json$ side by side.
    assert (
        jwks.jwks_url("https://shop.saleor.cloud/graphql/")
        == "https://shop.saleor.cloud/.well-known/jwks.json"
    )
    assert (
        jwks.jwks_url("https://example.com/saleor/graphql/")
        == "https://example.com/saleor/.well-known/jwks.json"
    )
    assert (
        jwks.jwks_url("http://localhost:8000/graphql/")
        == "http://localhost:8000/.well-known/jwks.json"
    )
    assert jwks.jwks_url(
        "http://api:8000/graphql/", policy=JwksPolicy(insecure_http=True)
    ) == ("http://api:8000/.well-known/jwks.json")


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example.com/graphql/",  # plain http to a remote host
        "https://shop.example.com/graphql",  # not Saleor-Api-Url's form
        "https://shop.example.com/",
        "https://shop.example.com/graphql/?x=1",
        "https://shop.example.com/graphql/#x",
        "https://user:pw@shop.example.com/graphql/",
        "https://shop.example.com:99999/graphql/",
        "ftp://shop.example.com/graphql/",
        "file:///graphql/",
        "",
        "https://" + "a" * 3000 + ".com/graphql/",
    ],
)
def test_a_url_saleor_would_not_send_is_refused_before_any_request(url):
    with pytest.raises(jwks.UntrustedApiUrl):
        jwks.jwks_url(url)
    with refused("api-url"):
        verify_webhook(
            BODY,
            raw_jws(
                {"alg": "RS256", "b64": False, "crit": ["b64"], "kid": "k"},
                BODY,
                rsa_key(1),
            ),
            url,
        )


# Refusals before any key is looked up


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "!!!..!!!",
        b64url(b"not json") + "..c2ln",
        b64url(b"[1, 2]") + "..c2ln",
        "é" + "..c2ln",
        "a" * (1024 * 1024) + "..c2ln",
    ],
    ids=lambda s: repr(s)[:20],
)
def test_a_missing_or_malformed_header_is_refused(saleor, signature):
    with refused():
        verify_webhook(BODY, signature, saleor.api_url)
    assert saleor.server.fetches == 0


def test_an_attached_payload_is_not_the_body(saleor):
    # A standard JWS over the body, payload inside: the payload segment is set.
    attached = jwt.api_jws.encode(
        BODY, saleor.key, algorithm="RS256", headers={"kid": saleor.kid}
    )

    with refused("not-detached"):
        verify_webhook(BODY, attached, saleor.api_url)
    assert saleor.server.fetches == 0


def _hs256_with_the_public_key(saleor) -> str:
    """The classic confusion: HMAC keyed with the (public) RSA key's PEM."""
    header = {"alg": "HS256", "b64": False, "crit": ["b64"], "kid": saleor.kid}
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    secret = saleor.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mac = hmac.new(secret, head.encode() + b"." + BODY, hashlib.sha256).digest()
    return f"{head}..{b64url(mac)}"


def _signed_with(saleor, algorithm: str, key) -> str:
    return jwt.api_jws.encode(
        BODY,
        key,
        algorithm=algorithm,
        headers={"kid": saleor.kid, "crit": ["b64"]},
        is_payload_detached=True,
    )


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda s: raw_jws(
                {"alg": "none", "b64": False, "crit": ["b64"], "kid": s.kid},
                BODY,
                None,
                signature=b"\0",
            ),
            id="none",
        ),
        pytest.param(_hs256_with_the_public_key, id="HS256 keyed with the public key"),
        pytest.param(lambda s: _signed_with(s, "RS512", s.key), id="RS512"),
        pytest.param(lambda s: _signed_with(s, "PS256", s.key), id="PS256"),
        pytest.param(
            lambda s: _signed_with(s, "ES256", ec.generate_private_key(ec.SECP256R1())),
            id="ES256",
        ),
    ],
)
def test_an_algorithm_other_than_rs256_is_refused(saleor, forge):
    with refused("algorithm"):
        verify_webhook(BODY, forge(saleor), saleor.api_url)
    assert saleor.server.fetches == 0


def _rs256(saleor, header_extra: dict, signed_payload: bytes = BODY) -> str:
    """Properly signed by the installation's own key: only the header is off."""
    header = {"alg": "RS256", "kid": saleor.kid, **header_extra}
    return raw_jws(header, signed_payload, saleor.key)


@pytest.mark.parametrize(
    ("header", "signed_payload"),
    [
        pytest.param({}, b64url(BODY).encode(), id="no b64: base64url payload"),
        pytest.param({}, BODY, id="no b64: raw payload"),
        pytest.param({"b64": True, "crit": ["b64"]}, b64url(BODY).encode(), id="true"),
        pytest.param({"b64": "false", "crit": ["b64"]}, BODY, id="the string false"),
        pytest.param({"b64": 0, "crit": ["b64"]}, BODY, id="zero"),
        pytest.param({"b64": False}, BODY, id="b64 false, no crit"),
        pytest.param({"b64": False, "crit": "b64"}, BODY, id="crit a string"),
        pytest.param({"b64": False, "crit": []}, BODY, id="crit empty"),
        pytest.param(
            {"b64": False, "crit": ["b64", "exp"], "exp": 1}, BODY, id="crit +exp"
        ),
        pytest.param({"b64": False, "crit": ["b64", "b64"]}, BODY, id="crit twice"),
    ],
)
def test_b64_must_be_false_and_crit_exactly_b64(saleor, header, signed_payload):
    with refused():
        verify_webhook(BODY, _rs256(saleor, header, signed_payload), saleor.api_url)
    assert saleor.server.fetches == 0


@pytest.mark.parametrize("kid", [None, 7, "", ["k"], "k" * 300])
def test_a_kid_that_is_no_key_name_is_refused(saleor, kid):
    header = {"alg": "RS256", "b64": False, "crit": ["b64"]}
    if kid is not None:
        header["kid"] = kid

    with refused():
        verify_webhook(BODY, raw_jws(header, BODY, saleor.key), saleor.api_url)
    assert saleor.server.fetches == 0


def test_the_body_must_be_the_raw_bytes(saleor):
    with pytest.raises(TypeError):
        verify_webhook(BODY.decode(), saleor.sign(BODY), saleor.api_url)


# The signature itself


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b: bytes([b[0] ^ 1]) + b[1:], id="first byte"),
        pytest.param(
            lambda b: b[:40] + bytes([b[40] ^ 0x20]) + b[41:], id="a middle byte"
        ),
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 1]), id="last byte"),
        pytest.param(lambda b: b + b" ", id="one byte added"),
        pytest.param(lambda b: b[:-1], id="one byte cut"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(
            lambda b: json.dumps(json.loads(b), indent=1).encode(), id="re-serialised"
        ),
    ],
)
def test_a_body_changed_by_one_byte_is_refused(saleor, tamper):
    signature = saleor.sign(BODY)
    verify_webhook(BODY, signature, saleor.api_url)

    with refused("bad-signature"):
        verify_webhook(tamper(BODY), signature, saleor.api_url)


def test_a_tampered_signature_is_refused(saleor):
    head, _, sig = saleor.sign(BODY).split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]

    with refused("bad-signature"):
        verify_webhook(BODY, f"{head}..{flipped}", saleor.api_url)


def test_a_stranger_using_the_installations_kid_is_refused(saleor):
    # The kid is only a name: the key behind it is the installation's.
    stranger = raw_jws(
        {"alg": "RS256", "b64": False, "crit": ["b64"], "kid": saleor.kid},
        BODY,
        rsa_key(3),
    )

    with refused("bad-signature"):
        verify_webhook(BODY, stranger, saleor.api_url)


def test_a_token_of_the_installation_is_no_webhook_signature(saleor):
    # Saleor signs its JWTs with the same key; a JWT signs no webhook body.
    token = saleor.token()
    head, payload, sig = token.split(".")

    with refused("not-detached"):
        verify_webhook(BODY, token, saleor.api_url)
    with refused("b64"):
        verify_webhook(payload.encode(), f"{head}..{sig}", saleor.api_url)
    assert saleor.server.fetches == 0


# Unknown kids, rotation, refetch once, and no hammering


def test_an_unknown_kid_is_refused_after_one_refetch(saleor):
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    wait_past(QUICK.refetch_interval)

    with refused("unknown-kid"):
        verify_webhook(
            BODY, saleor.sign(BODY, key=rsa_key(3)), saleor.api_url, policy=QUICK
        )
    assert saleor.server.fetches == 2
    with refused("unknown-kid"):
        verify_webhook(
            BODY, saleor.sign(BODY, key=rsa_key(3)), saleor.api_url, policy=QUICK
        )
    assert saleor.server.fetches == 2


def test_a_rotated_key_is_fetched_once_and_the_removed_one_refused(saleor):
    old_key = saleor.key
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    wait_past(QUICK.refetch_interval)

    saleor.rotate(rsa_key(3))
    for _ in range(3):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    assert saleor.server.fetches == 2

    with refused("unknown-kid"):
        verify_webhook(BODY, saleor.sign(BODY, key=old_key), saleor.api_url)
    assert saleor.server.fetches == 2


def test_a_rotation_right_after_a_fetch_is_picked_up_after_the_interval(saleor):
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)

    saleor.rotate(rsa_key(3))
    # Fetched a moment ago: the new key waits for the interval to pass.
    with refused("unknown-kid"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    assert saleor.server.fetches == 1
    wait_past(QUICK.refetch_interval)
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    assert saleor.server.fetches == 2


def test_random_kids_from_a_stranger_make_one_fetch_per_interval(saleor):
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    stranger = rsa_key(3)

    def random_kid() -> str:
        header = {
            "alg": "RS256",
            "b64": False,
            "crit": ["b64"],
            "kid": secrets.token_urlsafe(16),
        }
        return raw_jws(header, BODY, stranger)

    wait_past(QUICK.refetch_interval)
    for _ in range(50):
        with refused("unknown-kid"):
            verify_webhook(BODY, random_kid(), saleor.api_url, policy=QUICK)
    assert saleor.server.fetches == 2
    # The installation's own deliveries still pass meanwhile, from the cache.
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)

    wait_past(QUICK.refetch_interval)
    for _ in range(20):
        with refused("unknown-kid"):
            verify_webhook(BODY, random_kid(), saleor.api_url, policy=QUICK)
    assert saleor.server.fetches == 3


@pytest.fixture
def redis_caches(settings, saleor):
    """Two replicas' caches on one Redis, as in production (the tests' own
    database, a prefix of this test's)."""
    from django.core.cache.backends.redis import RedisCache

    options = {"KEY_PREFIX": f"appsig-{secrets.token_hex(4)}"}
    replicas = [RedisCache(settings.REDIS_URL, options) for _ in range(2)]
    yield replicas
    # Not clear(): that flushes the whole Redis database.
    replicas[0].delete_many(list(jwks._cache_keys(saleor.api_url)))


def test_replicas_sharing_redis_share_the_keys_and_the_refetch_limit(
    saleor, redis_caches
):
    one, two = redis_caches
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, cache=one, policy=QUICK)
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, cache=two, policy=QUICK)
    assert saleor.server.fetches == 1

    wait_past(QUICK.refetch_interval)
    for cache in (one, two, one, two):
        with refused("unknown-kid"):
            verify_webhook(
                BODY,
                saleor.sign(BODY, key=rsa_key(3)),
                saleor.api_url,
                cache=cache,
                policy=QUICK,
            )
    assert saleor.server.fetches == 2


def test_cached_keys_are_trusted_no_longer_than_the_ttl(saleor):
    policy = JwksPolicy(ttl=1, refetch_interval=1)
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=policy)
    compromised = saleor.key

    # Saleor drops the key and signs with a new one; the old kid is cached.
    saleor.rotate(rsa_key(3))
    verify_webhook(
        BODY, saleor.sign(BODY, key=compromised), saleor.api_url, policy=policy
    )
    wait_past(policy.ttl)

    with refused("unknown-kid"):
        verify_webhook(
            BODY, saleor.sign(BODY, key=compromised), saleor.api_url, policy=policy
        )
    assert saleor.server.fetches == 2


# A JWKS that cannot be had is no JWKS, and is not hammered either


def test_an_unreachable_jwks_refuses_and_is_asked_once_per_interval(saleor):
    saleor.server.respond = lambda handler: send(handler, 500, b"oops")

    for _ in range(20):
        with refused("jwks-unavailable"):
            verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)
    assert saleor.server.fetches == 1


def test_a_failed_refetch_keeps_the_keys_cached_before_it(saleor):
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    saleor.server.respond = lambda handler: send(handler, 503, b"down")
    wait_past(QUICK.refetch_interval)

    with refused("unknown-kid"):
        verify_webhook(
            BODY, saleor.sign(BODY, key=rsa_key(3)), saleor.api_url, policy=QUICK
        )
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=QUICK)
    assert saleor.server.fetches == 2


def test_while_saleor_is_unreachable_its_keys_last_one_interval_past_the_ttl(saleor):
    policy = JwksPolicy(ttl=1, refetch_interval=1)
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=policy)
    saleor.server.respond = lambda handler: send(handler, 503, b"down")

    wait_past(policy.ttl)
    # Stale: the refresh fails, the keys still serve.
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=policy)
    assert saleor.server.fetches == 2
    wait_past(policy.refetch_interval)

    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=policy)
    assert saleor.server.fetches == 3


def test_concurrent_deliveries_on_a_cold_cache_make_one_fetch(saleor):
    document = json.dumps({"keys": [saleor_jwk(saleor.key)]}).encode()

    def slow(handler):
        time.sleep(0.3)
        send(handler, 200, document, "application/json")

    saleor.server.respond = slow
    signature = saleor.sign(BODY)
    results: list[str] = []
    start = threading.Barrier(20)

    def deliver():
        start.wait()
        try:
            verify_webhook(BODY, signature, saleor.api_url)
            results.append("read")
        except SignatureInvalid as exc:
            results.append(exc.reason)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert saleor.server.fetches == 1
    # The one that fetched reads it; the others were refused without waiting
    # (Saleor retries), and the next delivery is read from the cache.
    assert results.count("read") >= 1
    assert set(results) <= {"read", "jwks-unavailable"}
    verify_webhook(BODY, signature, saleor.api_url)
    assert saleor.server.fetches == 1


def test_a_closed_port_refuses(saleor):
    api_url = saleor.api_url
    saleor.server.close()

    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), api_url)


def _good_and(saleor, *extra: dict) -> dict:
    return {"keys": [*extra, saleor_jwk(saleor.key)]}


def _ec_jwk() -> dict:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": "ec", "alg": "ES256", "use": "sig"}


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(lambda s: b"<html>502 Bad Gateway</html>", id="not JSON"),
        pytest.param(lambda s: b"\xff\xfe", id="not UTF-8"),
        pytest.param(lambda s: [saleor_jwk(s.key)], id="a list"),
        pytest.param(lambda s: {"keys": saleor_jwk(s.key)}, id="keys not a list"),
        pytest.param(lambda s: {"keys": [5]}, id="a key not an object"),
        pytest.param(
            lambda s: {"keys": [{**saleor_jwk(s.key), "kid": 5}]}, id="kid not text"
        ),
        pytest.param(
            lambda s: _good_and(s, {**saleor_jwk(rsa_key(3)), "kid": s.kid}),
            id="two keys under one kid",
        ),
        pytest.param(
            lambda s: _good_and(
                s, *[saleor_jwk(rsa_key(3), f"k{i}") for i in range(20)]
            ),
            id="21 keys",
        ),
        pytest.param(
            lambda s: {"keys": [saleor_jwk(s.key)], "pad": "x" * 70_000},
            id="larger than 64 KiB",
        ),
    ],
)
def test_a_jwks_that_is_not_a_saleor_key_set_is_refused(saleor, document):
    saleor.server.document = document(saleor)

    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)


@pytest.mark.parametrize(
    "unusable",
    [
        pytest.param(lambda s: _ec_jwk(), id="EC key"),
        pytest.param(
            lambda s: {"kty": "oct", "k": b64url(b"secret"), "kid": s.kid},
            id="a shared secret (oct)",
        ),
        pytest.param(
            lambda s: {**saleor_jwk(s.key), "alg": "RS512"}, id="RSA for RS512"
        ),
        pytest.param(lambda s: {**saleor_jwk(s.key), "use": "enc"}, id="RSA for enc"),
        pytest.param(
            lambda s: saleor_jwk(rsa_key(4, bits=1024), s.kid), id="RSA 1024 bits"
        ),
        pytest.param(
            lambda s: {**saleor_jwk(s.key), "d": b64url(b"private")},
            id="with a private member",
        ),
        pytest.param(lambda s: {**saleor_jwk(s.key), "n": "!!"}, id="modulus garbage"),
    ],
)
def test_only_rsa_keys_for_rs256_are_kept(saleor, unusable):
    key = unusable(saleor)
    saleor.server.document = {"keys": [key]}
    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)


def test_unusable_keys_beside_the_installations_key_are_skipped(saleor):
    saleor.server.document = _good_and(
        saleor,
        _ec_jwk(),
        {"kty": "oct", "k": b64url(b"secret"), "kid": "hs"},
        {**saleor_jwk(rsa_key(3)), "alg": "RS512"},
    )

    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)
    # A key the document listed for another algorithm is not a signing key here.
    with refused("unknown-kid"):
        verify_webhook(BODY, saleor.sign(BODY, key=rsa_key(3)), saleor.api_url)


def test_a_large_jwks_without_a_length_is_cut_off(saleor):
    # A valid key set: only its size is wrong.
    document = {"keys": [saleor_jwk(saleor.key)], "pad": "x" * 200_000}

    def stream(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()  # HTTP/1.0, no length: read until the server closes
        handler.wfile.write(json.dumps(document).encode())

    saleor.server.respond = stream
    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)


def test_a_compressed_jwks_is_refused(saleor):
    saleor.server.respond = lambda handler: send(
        handler, 200, b"\x1f\x8b...", "application/json", {"Content-Encoding": "gzip"}
    )
    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)


@pytest.mark.parametrize("status", [404, 401, 500, 204])
def test_an_answer_other_than_200_is_refused(saleor, status):
    saleor.server.respond = lambda handler: send(handler, status, b"")
    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)


def test_a_silent_jwks_server_is_given_up_on(saleor):
    policy = JwksPolicy(read_timeout=0.3, deadline=1.0)

    def silent(handler):
        time.sleep(3)

    saleor.server.respond = silent
    started = time.monotonic()
    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=policy)
    assert time.monotonic() - started < 2


def test_a_jwks_server_trickling_bytes_is_given_up_on_at_the_deadline(saleor):
    policy = JwksPolicy(read_timeout=1.0, deadline=0.5)

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "60000")
        handler.end_headers()
        for _ in range(100):
            try:
                handler.wfile.write(b" ")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.05)

    saleor.server.respond = trickle
    started = time.monotonic()
    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url, policy=policy)
    assert time.monotonic() - started < 2


# Redirects


def test_a_redirect_within_the_installation_is_followed(saleor):
    document = json.dumps({"keys": [saleor_jwk(saleor.key)]}).encode()

    def moved(handler):
        if handler.path == JWKS_PATH:
            send(handler, 301, b"", headers={"Location": "/keys/jwks.json"})
        else:
            send(handler, 200, document, "application/json")

    saleor.server.respond = moved
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)
    assert saleor.server.requests == [JWKS_PATH, "/keys/jwks.json"]


def test_a_redirect_to_another_host_is_not_followed(saleor, other):
    # The other server publishes the stranger's key: following would trust it.
    saleor.server.respond = lambda handler: send(
        handler, 302, b"", headers={"Location": other.server.origin + JWKS_PATH}
    )

    with refused("jwks-unavailable"):
        verify_webhook(BODY, other.sign(BODY), saleor.api_url)
    assert other.server.requests == []


def test_endless_redirects_are_given_up(saleor):
    saleor.server.respond = lambda handler: send(
        handler, 302, b"", headers={"Location": JWKS_PATH}
    )
    with refused("jwks-unavailable"):
        verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)
    assert saleor.server.fetches == jwks.MAX_REDIRECTS + 1


# Two installations


def test_two_installations_never_accept_each_others_signatures(saleor, other):
    # A delivery of one replayed to the other's endpoint, either way.
    with refused("unknown-kid"):
        verify_webhook(BODY, other.sign(BODY), saleor.api_url)
    # Only the installation's own JWKS was asked.
    assert (saleor.server.fetches, other.server.fetches) == (1, 0)
    verify_webhook(BODY, saleor.sign(BODY), saleor.api_url)

    with refused("unknown-kid"):
        verify_webhook(BODY, saleor.sign(BODY), other.api_url)
    verify_webhook(BODY, other.sign(BODY), other.api_url)

    # The other's key under this one's kid.
    forged = raw_jws(
        {"alg": "RS256", "b64": False, "crit": ["b64"], "kid": saleor.kid},
        BODY,
        other.key,
    )
    with refused("bad-signature"):
        verify_webhook(BODY, forged, saleor.api_url)
    assert (saleor.server.fetches, other.server.fetches) == (1, 1)
    assert saleor.kid != other.kid == thumbprint(other.key)

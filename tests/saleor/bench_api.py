"""The courier's verify through the plugin's route, next to Saleor's own ``me``.

Not a test (its name keeps it out of every default collection); run it through
``benchmarks/saleor_api.py`` or directly::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saleor \\
      /work/saleor-venv/bin/pytest -c tests/saleor/saleor-tier.ini \\
      tests/saleor/bench_api.py -s

Both requests go through Django's full stack on the same Saleor, one after the
other in each round (the order alternates): ``deliveryCodeVerify`` with the right
code, as a courier App (its token), at ``/plugins/channel/<slug>/<plugin>/graphql/``;
and ``{ me { email } }`` as the customer (her JWT) at ``/graphql/``. Every verify
takes a fresh code of the same real order, so each one is accepted and queues its
timeline entry for a worker, as at a real door.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

import pytest
from django.test import Client
from saleor.graphql.tests.fixtures import ApiClient

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import flows, service

from .fixtures import global_id

ROUNDS = int(os.environ.get("DELIVERY_OTP_BENCH_ROUNDS", "60"))
WARMUP = int(os.environ.get("DELIVERY_OTP_BENCH_WARMUP", "5"))
MAX_RATIO = 1.5
VERIFY = """
mutation verify($fulfillment: ID, $code: String!) {
  deliveryCodeVerify(fulfillmentId: $fulfillment, code: $code) { accepted }
}
"""
ME = "{ me { email } }"


def _timed(client: ApiClient, query: str, variables: dict | None = None) -> float:
    started = time.perf_counter()
    response = client.post_graphql(query, variables)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content
    assert "errors" not in response.json(), response.content
    return elapsed


@pytest.mark.django_db
def test_verify_against_me(
    channel_USD, configure_otp, app, customer_user, order_with_lines, monkeypatch
):
    # The timeline entry is a Celery task a worker runs after the response; Saleor's
    # test settings run tasks inline, so it is set aside here, as in production.
    deferred: list[tuple] = []
    monkeypatch.setattr(
        flows.api_timeline_task,
        "apply_async",
        lambda args=(), **kwargs: deferred.append(tuple(args)),
    )
    config = configure_otp(channel_USD, threshold="300", allowed_apps=str(app.pk))
    assert config.active
    courier = ApiClient(
        app=app, api_path=f"/plugins/channel/{channel_USD.slug}/{c.PLUGIN_ID}/graphql/"
    )
    customer = ApiClient(user=customer_user)
    first_parcel = 10**9 + uuid.uuid4().int % 10**6
    parcels = []
    for number in range(WARMUP + ROUNDS):
        record = service.issue_for_parcel(
            order_with_lines.pk, first_parcel + number, channel=channel_USD.slug
        ).record
        parcels.append((global_id("Fulfillment", record.fulfillment_id), record))

    empty_route = f"/plugins/channel/{channel_USD.slug}/{c.PLUGIN_ID}/nothing/"
    plain = Client()
    verify_s, me_s, route_s = [], [], []
    for round_, (parcel_id, record) in enumerate(parcels):
        code = service.open_code(record)

        def verify(parcel_id=parcel_id, code=code) -> float:
            return _timed(courier, VERIFY, {"fulfillment": parcel_id, "code": code})

        def me() -> float:
            return _timed(customer, ME)

        def route() -> float:
            # Saleor's plugin route alone: the manager loads the channel's plugins,
            # then the plugin declines the path (404).
            started = time.perf_counter()
            response = plain.post(empty_route, "{}", content_type="application/json")
            assert response.status_code == 404
            return time.perf_counter() - started

        order = (verify, me, route) if round_ % 2 else (route, me, verify)
        timings = {call: call() for call in order}
        if round_ >= WARMUP:
            verify_s.append(timings[verify])
            me_s.append(timings[me])
            route_s.append(timings[route])

    verify_ms = statistics.median(verify_s) * 1000
    me_ms = statistics.median(me_s) * 1000
    route_ms = statistics.median(route_s) * 1000
    ratio = statistics.median(v / m for v, m in zip(verify_s, me_s, strict=True))
    print(
        "\n".join(
            [
                "",
                f"Courier's verify against Saleor's me {{ email }}: {ROUNDS} rounds "
                f"(+{WARMUP} warm-up), interleaved, same Saleor, Django test client",
                f"  deliveryCodeVerify (App token)  median {verify_ms:7.2f} ms",
                f"  me {{ email }} (customer JWT)    median {me_ms:7.2f} ms",
                f"  Saleor's plugin route, 404      median {route_ms:7.2f} ms "
                "(what any plugin endpoint costs before its own work)",
                f"  ratio (median per round)        {ratio:7.2f}x  "
                f"target <= {MAX_RATIO}x  {'PASS' if ratio <= MAX_RATIO else 'OVER'}",
            ]
        )
    )
    # A benchmark reports; the figures are read, not asserted. Only sanity:
    assert len(verify_s) == len(me_s) == ROUNDS
    assert len(deferred) == WARMUP + ROUNDS  # every verify was accepted

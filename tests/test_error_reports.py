"""The API's requests stay out of Sentry (issue 9): with Sentry's Django integration
on, an error while a courier's verify or a customer's query is served sends an
event without the request's body, query string or frame variables. The Saleor tier
does the same through Saleor's own SENTRY_INIT and plugin route."""

import json

import pytest
import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.transport import Transport

from saleor_delivery_otp import service
from saleor_delivery_otp.graphql import reporting

from .graphql_host import HOST
from .test_graphql_api import GLOBAL, VERIFY, parcel_gid

pytestmark = pytest.mark.django_db


class _Capturing(Transport):
    """Keeps the events instead of sending them."""

    events: list[dict] = []

    def capture_envelope(self, envelope):
        self.events.extend(
            item.payload.json or {} for item in envelope.items if item.type == "event"
        )


@pytest.fixture
def sentry_events():
    _Capturing.events = []
    sentry_sdk.init(
        "https://public@sentry.example.com/1",
        integrations=[DjangoIntegration()],
        transport=_Capturing,
        send_default_pii=False,
    )
    try:
        yield _Capturing.events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


@pytest.fixture
def shipped(parcels):
    HOST.orders.clear()
    order = HOST.add_order()
    record = parcels.ship(order.id, channel="eu")
    yield order, record, parcels.code_of(record)
    HOST.orders.clear()
    HOST.notes.clear()


def frames(event):
    return [
        frame
        for kind in ("exception", "threads")
        for value in event.get(kind, {}).get("values", [])
        for frame in value.get("stacktrace", {}).get("frames", [])
    ]


def test_a_failing_verify_sends_neither_body_nor_code(
    client, shipped, sentry_events, monkeypatch
):
    _, record, code = shipped

    def failing_verify(*args, **kwargs):
        # Reported as an exception event: this frame's variables hold the code.
        try:
            raise RuntimeError("database unavailable")
        except RuntimeError:
            sentry_sdk.capture_exception()
            raise

    monkeypatch.setattr(service, "verify", failing_verify)

    response = client.post(
        GLOBAL,
        data=json.dumps(
            {
                "query": VERIFY,
                "variables": {"fulfillmentId": parcel_gid(record), "code": code},
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer courier-token",
    )
    sentry_sdk.flush()

    assert response.json()["errors"][0]["message"] == "Internal server error."
    # graphql-core logs the opaque error too (Saleor's SENTRY_INIT ignores it).
    logged = [
        e
        for e in sentry_events
        if e.get("logger") == "saleor_delivery_otp.graphql.view"
    ]
    reported = [e for e in sentry_events if "exception" in e]
    assert len(logged) == len(reported) == 1
    assert all("data" not in e.get("request", {}) for e in sentry_events)
    assert frames(reported[0])[-1]["function"] == "failing_verify"
    assert all("vars" not in frame for frame in frames(reported[0]))
    assert code not in json.dumps(sentry_events)


def test_a_get_query_string_is_dropped_too():
    """Behind WSGI (not the test client) Sentry also records the query string, where
    a GET's variables are."""
    event = {
        "request": {
            "url": "https://shop.example.com/plugins/saleor.delivery-otp/graphql/",
            "method": "GET",
            "query_string": "query=...&variables=%7B%22code%22%3A%22724555%22%7D",
        }
    }

    scrubbed = reporting.scrub_event(event, {})

    assert scrubbed["request"] == {
        "url": "https://shop.example.com/plugins/saleor.delivery-otp/graphql/",
        "method": "GET",
    }

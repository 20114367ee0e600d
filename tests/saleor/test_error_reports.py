"""A courier's typed code never reaches Sentry (issue 9): with Saleor's own Sentry
set-up, an error during a verify on the plugin's route sends an event without the
request body and without frame variables."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from django.conf import settings
from saleor.graphql.tests.fixtures import ApiClient
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from saleor_delivery_otp import service
from saleor_delivery_otp.graphql import view

from .fixtures import codes_of, global_id
from .test_api import VERIFY, channel_route, shipped  # noqa: F401 (fixture)


class _Capturing(Transport):
    """Keeps the events instead of sending them."""

    events: list[dict] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type in ("event", "transaction"):
                self.events.append(item.payload.json or {})


@pytest.fixture
def sentry_events():
    _Capturing.events = []
    # Saleor's own initialisation (settings.SENTRY_INIT), events kept here.
    settings.SENTRY_INIT(
        "https://public@sentry.example.com/1",
        {**settings.SENTRY_OPTS, "transport": _Capturing},
    )
    try:
        yield _Capturing.events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def test_a_failing_verify_sends_neither_body_nor_code_to_sentry(
    shipped,  # noqa: F811
    app,
    channel_USD,
    sentry_events,
    monkeypatch,
):
    order, parcel = shipped
    code = str(service.open_code(codes_of(order)[0]))

    def failing_verify(*args, **kwargs):
        # Reported as an exception event: its frame's variables hold the code.
        try:
            raise RuntimeError("database unavailable")
        except RuntimeError:
            sentry_sdk.capture_exception()
            raise

    monkeypatch.setattr(service, "verify", failing_verify)
    courier = ApiClient(app=app, api_path=channel_route(channel_USD))

    response = courier.post_graphql(
        VERIFY, {"fulfillment": global_id("Fulfillment", parcel.pk), "code": code}
    )
    sentry_sdk.flush()

    assert response.json()["errors"][0]["message"] == "Internal server error."
    assert response["Cache-Control"] == "no-store"
    logged, reported = (
        [e for e in sentry_events if "logentry" in e],
        [e for e in sentry_events if "exception" in e],
    )
    assert len(logged) == len(reported) == 1
    assert "Delivery-code API error" in json.dumps(logged[0]["logentry"])
    for event in sentry_events:
        assert "data" not in event.get("request", {})  # Sentry put the body there
    frames = reported[0]["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "failing_verify"
    assert all("vars" not in frame for frame in frames)
    assert code not in json.dumps(sentry_events)


def test_a_crashing_api_sends_no_body_either(
    shipped,  # noqa: F811
    app,
    channel_USD,
    sentry_events,
    monkeypatch,
):
    """The plugin answers a 500 and logs it after the API gave up: that event
    carries no body either."""
    order, parcel = shipped
    code = str(service.open_code(codes_of(order)[0]))

    def crash(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(view, "_handle", crash)
    courier = ApiClient(app=app, api_path=channel_route(channel_USD))

    response = courier.post_graphql(
        VERIFY, {"fulfillment": global_id("Fulfillment", parcel.pk), "code": code}
    )
    sentry_sdk.flush()

    assert response.status_code == 500
    assert response["Cache-Control"] == "no-store"
    assert "saleor_delivery_otp.plugin" in [e.get("logger") for e in sentry_events]
    assert all("data" not in e.get("request", {}) for e in sentry_events)
    assert code not in json.dumps(sentry_events)

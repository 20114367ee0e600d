"""A failing plugin never breaks Saleor: checkout and fulfilment carry on, the
failure is logged without secrets and retried."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.core import mail
from saleor.order import FulfillmentStatus, OrderStatus

from saleor_delivery_otp import flows, service
from saleor_delivery_otp.models import DeliveryCode

from .fixtures import codes_of

SECRET_LOOKALIKE = "918273"


@pytest.fixture
def shop(channel_USD, configure_otp):
    configure_otp(channel_USD, threshold="300")
    return channel_USD


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def _failing(times: int, real):
    """A stand-in that raises ``times`` times, with a code-like message, then
    behaves like ``real``."""
    calls = {"n": 0}

    def call(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise RuntimeError("database said: value " + SECRET_LOOKALIKE)
        return real(*args, **kwargs)

    call.calls = calls  # type: ignore[attr-defined]
    return call


def test_failing_order_hook_leaves_checkout_working_and_is_retried(
    shop, catalog, make_checkout, complete_checkout, monkeypatch, debug_logs
):
    failing = _failing(1, service.issue_for_order)
    monkeypatch.setattr(service, "issue_for_order", failing)

    with mock.patch(
        "saleor.checkout.complete_checkout.send_order_confirmation"
    ) as confirmation:
        order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))

    # Saleor's own flow carried on, including the confirmation queued after us.
    assert order.status in (OrderStatus.UNFULFILLED, OrderStatus.UNCONFIRMED)
    confirmation.assert_called_once()
    # The retry task issued the code and its e-mail.
    assert failing.calls["n"] == 2
    (record,) = codes_of(order)
    code = service.open_code(record)
    assert len([m for m in mail.outbox if code in m.body]) == 1
    assert (
        f"Delivery-code hook order_created failed for {order.pk} (RuntimeError); "
        "a retry is queued." in debug_logs.messages
    )
    assert f"Delivery-code hook order_created for {order.pk} succeeded on retry." in (
        debug_logs.messages
    )
    assert SECRET_LOOKALIKE not in debug_logs.text
    assert code not in debug_logs.text


def test_hook_failing_for_good_never_raises_and_gives_up_after_retries(
    shop, catalog, make_checkout, complete_checkout, monkeypatch, debug_logs
):
    failing = _failing(10**6, service.issue_for_order)
    monkeypatch.setattr(service, "issue_for_order", failing)

    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))

    assert type(order).objects.filter(pk=order.pk).exists()
    assert codes_of(order) == []
    assert failing.calls["n"] > 1
    assert SECRET_LOOKALIKE not in debug_logs.text
    failures = [m for m in debug_logs.messages if "order_created failed for" in m]
    assert failures and all("(RuntimeError)" in m for m in failures)


def test_failing_parcel_hook_leaves_order_fulfill_working(
    shop, catalog, make_checkout, complete_checkout, fulfill, monkeypatch, debug_logs
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 2)]))
    failing = _failing(1, service.issue_for_parcel)
    monkeypatch.setattr(service, "issue_for_parcel", failing)

    fulfill(order, {catalog.phone: 1})
    (second,) = fulfill(order, {catalog.phone: 1})

    assert second.status == FulfillmentStatus.FULFILLED
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert {record.fulfillment_id for record in codes_of(order)} >= {second.pk}
    assert any(
        "fulfillment_created failed" in m and "(RuntimeError)" in m
        for m in debug_logs.messages
    )
    assert SECRET_LOOKALIKE not in debug_logs.text


def test_failing_email_server_leaves_checkout_working(
    shop, catalog, make_checkout, complete_checkout, settings, debug_logs
):
    settings.DELIVERY_OTP_EMAIL_SENDER = "tests.saleor.test_failures.broken_sender"

    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))

    (record,) = codes_of(order)
    assert record.status == "active"
    assert mail.outbox == []
    assert service.open_code(record) not in debug_logs.text


def broken_sender(record: DeliveryCode, code: str) -> None:
    raise ConnectionRefusedError(f"SMTP refused message with {code}")


def test_unusable_stored_configuration_switches_codes_off_with_a_logged_reason(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout, debug_logs
):
    # Written around the Dashboard's validation (e.g. straight into the database).
    configure_otp(channel_USD, threshold="300", code_length="99")

    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))

    assert order.status in (OrderStatus.UNFULFILLED, OrderStatus.UNCONFIRMED)
    assert codes_of(order) == []
    assert (
        "Delivery codes are off in channel main: invalid configuration of "
        "codeLength." in debug_logs.messages
    )


def test_retry_task_skips_a_channel_switched_off_meanwhile(
    shop, catalog, make_checkout, complete_checkout, configure_otp
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))
    configure_otp(shop, active=False)

    ran = flows.retry_event_task.apply(
        args=(flows.ORDER_CANCELLED, str(order.pk))
    ).get()

    assert ran is False
    assert {record.status for record in codes_of(order)} == {"active"}


def test_plugin_tasks_pass_saleors_writer_guard(
    shop, catalog, make_checkout, complete_checkout, settings
):
    # Saleor's test settings make any query a Celery task sends to the writer
    # outside allow_writer() raise; the plugin's own tasks must not trip it.
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))
    (record,) = codes_of(order)
    settings.CELERY_RESTRICT_WRITER_METHOD = "saleor.core.db.connection.restrict_writer"

    followed_up = flows.code_follow_up_task.apply(
        args=(str(record.pk), "issued", False)
    )
    retried = flows.retry_event_task.apply(args=(flows.ORDER_CANCELLED, str(order.pk)))

    assert followed_up.get() is True
    assert retried.get() is True
    record.refresh_from_db()
    assert record.status == "revoked"

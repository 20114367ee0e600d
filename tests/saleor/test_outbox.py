"""A broker that refuses the plugin's tasks during checkoutComplete and orderFulfill:
Saleor's flow carries on, and the e-mail outbox sends the code once afterwards."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db.models import F
from kombu.exceptions import OperationalError
from saleor.order import FulfillmentStatus, OrderStatus

from saleor_delivery_otp import flows, service, tasks
from saleor_delivery_otp.models import CodeScope, DeliveryCode

from .fixtures import codes_of


@pytest.fixture
def shop(channel_USD, configure_otp):
    configure_otp(channel_USD, threshold="300")
    return channel_USD


@pytest.fixture
def warning_logs(caplog):
    caplog.set_level(logging.WARNING)
    return caplog


def _refuse(*args: object, **kwargs: object) -> None:
    raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")


@contextmanager
def broker_refusing_the_plugin() -> Iterator[None]:
    """Every task the plugin queues fails to publish, as with Redis down."""
    with (
        mock.patch.object(flows.code_follow_up_task, "apply_async", _refuse),
        mock.patch.object(flows.retry_event_task, "apply_async", _refuse),
        mock.patch.object(tasks.send_code_email_task, "apply_async", _refuse),
    ):
        yield


def emails_with(code: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if code in message.body]


def outbox_runs_three_minutes_later() -> int:
    DeliveryCode.objects.filter(email_due_at__isnull=False).update(
        email_due_at=F("email_due_at") - timedelta(minutes=3)
    )
    return tasks.send_due_emails_task.apply().get()


def test_broker_down_at_checkout_the_outbox_emails_the_code_once(
    shop, catalog, make_checkout, complete_checkout, warning_logs
):
    with broker_refusing_the_plugin():
        order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))

    assert order.status in (OrderStatus.UNFULFILLED, OrderStatus.UNCONFIRMED)
    (record,) = codes_of(order)
    code = service.open_code(record)
    assert emails_with(code) == []
    assert record.email_due_at is not None
    assert any(
        "Could not queue saleor_delivery_otp.code_follow_up" in m
        for m in warning_logs.messages
    )

    assert outbox_runs_three_minutes_later() == 1
    assert outbox_runs_three_minutes_later() == 0

    assert len(emails_with(code)) == 1
    record.refresh_from_db()
    assert record.email_due_at is None and record.sends_that_day == 1
    assert "6379" not in warning_logs.text and code not in warning_logs.text


def test_broker_down_at_order_fulfill_the_outbox_emails_the_new_code_once(
    shop, catalog, make_checkout, complete_checkout, fulfill
):
    order = complete_checkout(make_checkout(shop, [(catalog.phone, 2)]))
    fulfill(order, {catalog.phone: 1})

    with broker_refusing_the_plugin():
        (second,) = fulfill(order, {catalog.phone: 1})

    assert second.status == FulfillmentStatus.FULFILLED
    parcel_code = DeliveryCode.objects.get(
        fulfillment_id=second.pk, scope=CodeScope.PARCEL
    )
    code = service.open_code(parcel_code)
    assert emails_with(code) == []

    assert outbox_runs_three_minutes_later() == 1
    assert outbox_runs_three_minutes_later() == 0

    assert len(emails_with(code)) == 1


def test_failing_hook_whose_retry_the_broker_refuses_leaves_checkout_working(
    shop, catalog, make_checkout, complete_checkout, monkeypatch, warning_logs
):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(service, "issue_for_order", broken)

    with broker_refusing_the_plugin():
        order = complete_checkout(make_checkout(shop, [(catalog.phone, 1)]))

    assert type(order).objects.filter(pk=order.pk).exists()
    assert (
        "Could not queue saleor_delivery_otp.retry_hook for order_created, "
        f"{order.pk} (OperationalError)." in warning_logs.messages
    )

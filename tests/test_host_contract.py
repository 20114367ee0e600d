"""The host contract (tests/host_contract.py) in the CI tier: the shop in memory
(:class:`tests.hosts.MemoryShopHost`) and the sandbox's host
(:class:`saleor_delivery_otp.sandbox.host.SandboxHost`, with its shop in a
temporary data folder), both in this tier's Django and database.

Celery runs eagerly while a harness acts (``tests.celery_app``), and the tasks'
``ports.get_host()`` returns the harness's own host instance
(``DELIVERY_OTP_HOST`` pointed at :func:`serving_host`). Each action's on-commit
callbacks (the follow-up tasks) are held back until ``run_follow_ups``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings

from saleor_delivery_otp import flows
from saleor_delivery_otp.ports import Host
from saleor_delivery_otp.sandbox.host import SandboxHost
from saleor_delivery_otp.sandbox.shop import CHANNEL as SANDBOX_CHANNEL
from saleor_delivery_otp.sandbox.shop import Order, OrderLine, Parcel, Shop

from .celery_app import app
from .host_contract import (
    CUSTOMER_EMAIL,
    HostContract,
    Item,
    PlacedOrder,
    ShippedParcel,
)
from .hosts import MEMORY_CHANNEL, MemoryLine, MemoryOrder, MemoryShopHost

pytestmark = pytest.mark.django_db

_serving: list[Host] = []


def serving_host() -> Host:
    """``DELIVERY_OTP_HOST`` while a harness runs: its own host instance."""
    return _serving[-1]


@contextmanager
def serving(host: Host) -> Iterator[None]:
    _serving.append(host)
    try:
        with override_settings(DELIVERY_OTP_HOST=f"{__name__}.{serving_host.__name__}"):
            yield
    finally:
        _serving.remove(host)


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """The CI tier's Celery app reads Django's CELERY_* settings."""
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=True, CELERY_TASK_EAGER_PROPAGATES=True
    ):
        assert app.conf.task_always_eager and app.conf.task_eager_propagates
        yield


class InProcess:
    """A harness's requests in this process: each action's on-commit callbacks
    are kept, and run (with the callbacks they add) by ``run_follow_ups``."""

    def __init__(self, capture: Callable[..., Any]):
        self._capture = capture
        self._pending: list[Callable[[], Any]] = []

    def _request[R](self, action: Callable[[], R]) -> R:
        with self._capture(execute=False) as callbacks:
            result = action()
        self._pending.extend(callbacks)
        return result

    def run_follow_ups(self) -> None:
        while self._pending:
            pending, self._pending = self._pending, []
            with self._capture(execute=True):
                for callback in pending:
                    callback()

    def sent_mail(self) -> list[Any]:
        return list(mail.outbox)


# --- the shop in memory ----------------------------------------------------------


class MemoryHarness(InProcess):
    channel = MEMORY_CHANNEL

    def __init__(self, capture: Callable[..., Any]):
        super().__init__(capture)
        self.host = MemoryShopHost()
        self._numbers = itertools.count(1001)

    def place_order(self, items: Sequence[Item]) -> PlacedOrder:
        number = str(next(self._numbers))
        order = MemoryOrder(
            uuid.uuid4(),
            number,
            CUSTOMER_EMAIL,
            [
                MemoryLine(f"{number}-{i}", item.name, item.unit_price, item.quantity)
                for i, item in enumerate(items, 1)
            ],
            customer_id="anna",
            customer_name="Anna",
        )
        self._request(lambda: self.host.place_order(order))
        return PlacedOrder(order.id, number, order)

    def ship(
        self,
        order: PlacedOrder,
        quantities: Mapping[str, int],
        *,
        tracking_number: str = "",
        waiting_for_approval: bool = False,
    ) -> ShippedParcel:
        lines = {line.product: line.id for line in order.handle.lines}
        parcel = self._request(
            lambda: self.host.ship(
                order.handle,
                {lines[name]: quantity for name, quantity in quantities.items()},
                tracking_number=tracking_number,
                approved=not waiting_for_approval,
            )
        )
        return ShippedParcel(parcel.id, order, parcel)

    def approve(self, parcel: ShippedParcel) -> None:
        self._request(lambda: self.host.approve(parcel.handle))

    def set_tracking(self, parcel: ShippedParcel, tracking_number: str) -> None:
        self._request(lambda: self.host.update_tracking(parcel.handle, tracking_number))

    def cancel_parcel(self, parcel: ShippedParcel) -> None:
        self._request(lambda: self.host.cancel_parcel(parcel.handle))

    def refund(self, order: PlacedOrder) -> None:
        self._request(lambda: self.host.refund(order.handle))

    def cancel_order(self, order: PlacedOrder) -> None:
        self._request(lambda: self.host.cancel_order(order.handle))

    def timeline(self, order: PlacedOrder) -> list[str]:
        return list(order.handle.timeline)

    def shown_status(self, parcel: ShippedParcel) -> str | None:
        return parcel.handle.shown_status

    def parcel_name(self, parcel: ShippedParcel) -> str:
        return f"#{parcel.order.number}-{parcel.handle.number}"


class TestMemoryShopHost(HostContract):
    @pytest.fixture
    def harness(self, django_capture_on_commit_callbacks, eager_celery):
        harness = MemoryHarness(django_capture_on_commit_callbacks)
        with serving(harness.host):
            yield harness


# --- the sandbox -----------------------------------------------------------------


class SandboxHarness(InProcess):
    """The sandbox's shop plays two of Saleor's events itself (``place_order``,
    ``ship``). The others have no action in the sandbox; the harness plays them
    through the host's own event runner with what the host's readers
    (``load_order``, ``load_parcel``) say, after changing the shop as that action
    would. Real differences of the sandbox's shop, kept here:

    * a parcel ships whole order lines: an item of quantity 2 is placed as two
      lines, so that its units can ship in two parcels;
    * a parcel has no approval step: one waiting for approval is added to the
      shop and announced as Saleor announces it (not shipped), then approved.
    """

    channel = SANDBOX_CHANNEL

    def __init__(self, capture: Callable[..., Any], data_dir: Path):
        super().__init__(capture)
        self.data_dir = data_dir
        self.host = SandboxHost(Shop(), data_dir)
        self._numbers = itertools.count(1001)

    @property
    def shop(self) -> Shop:
        return self.host.shop

    def _event(self, event: str, object_id: object, data: Any) -> None:
        self._request(lambda: self.host._event(event, object_id, data))

    def place_order(self, items: Sequence[Item]) -> PlacedOrder:
        number = str(next(self._numbers))
        units = [(item, unit) for item in items for unit in range(1, item.quantity + 1)]
        order = Order(
            str(uuid.uuid4()),
            number,
            CUSTOMER_EMAIL,
            [
                OrderLine(f"{number}-{i}", item.name, str(item.unit_price), 1)
                for i, (item, _) in enumerate(units, 1)
            ],
            customer_id="anna",
            customer_name="Anna",
        )
        self._request(lambda: self.host.place_order(order))
        return PlacedOrder(order.uuid, number, order)

    def _unshipped(self, order: Order, quantities: Mapping[str, int]) -> list[str]:
        shipped = {line_id for parcel in order.parcels for line_id in parcel.line_ids}
        picked = []
        for name, quantity in quantities.items():
            free = [
                line.id
                for line in order.lines
                if line.product == name and line.id not in shipped
            ]
            assert len(free) >= quantity, f"not {quantity} x {name} left to ship"
            picked += free[:quantity]
        return picked

    def ship(
        self,
        order: PlacedOrder,
        quantities: Mapping[str, int],
        *,
        tracking_number: str = "",
        waiting_for_approval: bool = False,
    ) -> ShippedParcel:
        line_ids = self._unshipped(order.handle, quantities)
        if not waiting_for_approval:
            parcel, _ = self._request(
                lambda: self.host.ship(order.handle, line_ids, tracking_number)
            )
            return ShippedParcel(parcel.id, order, parcel)
        parcel = Parcel(
            self.shop.next_parcel_id,
            len(order.handle.parcels) + 1,
            line_ids,
            tracking_number,
        )
        self.shop.next_parcel_id += 1
        order.handle.parcels.append(parcel)
        self.shop.save(self.data_dir)
        waiting = replace(self.host.load_parcel(str(parcel.id)), is_shipped=False)
        self._event(flows.FULFILLMENT_CREATED, parcel.id, waiting)
        return ShippedParcel(parcel.id, order, parcel)

    def _parcel_event(self, event: str, parcel: ShippedParcel) -> None:
        self._event(event, parcel.id, self.host.load_parcel(str(parcel.id)))

    def approve(self, parcel: ShippedParcel) -> None:
        self._parcel_event(flows.FULFILLMENT_APPROVED, parcel)

    def set_tracking(self, parcel: ShippedParcel, tracking_number: str) -> None:
        parcel.handle.tracking_number = tracking_number
        self.shop.save(self.data_dir)
        self._parcel_event(flows.TRACKING_NUMBER_UPDATED, parcel)

    def cancel_parcel(self, parcel: ShippedParcel) -> None:
        self._parcel_event(flows.FULFILLMENT_CANCELED, parcel)

    def _order_event(self, event: str, order: PlacedOrder) -> None:
        self._event(event, order.id, self.host.load_order(str(order.id)))

    def refund(self, order: PlacedOrder) -> None:
        self._order_event(flows.ORDER_FULLY_REFUNDED, order)

    def cancel_order(self, order: PlacedOrder) -> None:
        self._order_event(flows.ORDER_CANCELLED, order)

    def _saved(self) -> Shop:
        """The shop as its file (``shop.json``) shows it."""
        saved = Shop.load(self.data_dir)
        assert saved is not None
        return saved

    def timeline(self, order: PlacedOrder) -> list[str]:
        saved = self._saved().order(order.id)
        return list(saved.timeline) if saved is not None else []

    def shown_status(self, parcel: ShippedParcel) -> str | None:
        # The parcel's status as shop.json keeps it (Parcel.status).
        found = self._saved().parcel(parcel.id)
        assert found is not None
        return found[1].status or None

    def parcel_name(self, parcel: ShippedParcel) -> str:
        return f"#{parcel.order.number}-{parcel.handle.number}"


class TestSandboxHost(HostContract):
    @pytest.fixture
    def harness(self, django_capture_on_commit_callbacks, eager_celery, tmp_path):
        harness = SandboxHarness(django_capture_on_commit_callbacks, tmp_path)
        with serving(harness.host):
            yield harness

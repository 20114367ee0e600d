"""The host contract (tests/host_contract.py) against the real Saleor plugin.

The delivery goes through Saleor's own API with its test clients: checkoutComplete,
orderFulfill, orderFulfillmentApprove, orderFulfillmentUpdateTracking,
orderFulfillmentCancel and orderCancel; a full refund calls the plugin manager's
``order_fully_refunded``, as Saleor's payment flows do. Each request runs its
on-commit hooks, and Saleor's test settings run Celery eagerly, so nothing is left
for ``run_follow_ups``. The timeline is the order's "Notification from external
service" events; a parcel shows its status in the fulfillment's public metadata.

The order is sold in a EUR channel (Saleor's test channels sell in USD, PLN and
JPY): the plugin's default configuration, a code above 300 in the channel's
currency per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from django.core import mail
from prices import Money
from saleor.channel import AllocationStrategy
from saleor.channel.models import Channel
from saleor.order import OrderEvents
from saleor.order.models import Fulfillment, Order
from saleor.plugins.manager import get_plugins_manager
from saleor.product.models import Category, ProductVariant
from saleor.shipping.models import ShippingMethodChannelListing
from saleor.tax.tests.fixtures.utils import create_channel_tax_configuration

from saleor_delivery_otp.constants import FULFILLMENT_STATUS_METADATA_KEY

from ..host_contract import (
    CUSTOMER_EMAIL,
    HostContract,
    Item,
    PlacedOrder,
    ShippedParcel,
)
from .fixtures import _variant, global_id

APPROVE = """
mutation approve($id: ID!) {
  orderFulfillmentApprove(id: $id, notifyCustomer: true) {
    errors { field code message }
  }
}
"""
UPDATE_TRACKING = """
mutation track($id: ID!, $tracking: String) {
  orderFulfillmentUpdateTracking(id: $id, input: {trackingNumber: $tracking}) {
    errors { field code message }
  }
}
"""
CANCEL_FULFILLMENT = """
mutation cancelFulfillment($id: ID!, $warehouseId: ID) {
  orderFulfillmentCancel(id: $id, input: {warehouseId: $warehouseId}) {
    errors { field code message }
  }
}
"""
CANCEL_ORDER = """
mutation cancelOrder($id: ID!) {
  orderCancel(id: $id) {
    errors { field code message }
  }
}
"""


@pytest.fixture
def channel_EUR(db):
    """A channel selling in EUR, as Saleor's ``channel_JPY`` fixture makes its."""
    channel = Channel.objects.create(
        name="Channel EUR",
        slug="c-eur",
        currency_code="EUR",
        default_country="DE",
        is_active=True,
        allocation_strategy=AllocationStrategy.PRIORITIZE_HIGH_STOCK,
        allow_unpaid_orders=True,
    )
    create_channel_tax_configuration(channel)
    return channel


@pytest.fixture
def eur_shop(channel_EUR, shipping_zone, warehouse, configure_otp):
    """The EUR channel ships from Saleor's test warehouse and zone; the plugin is
    on in it with its default configuration."""
    shipping_zone.channels.add(channel_EUR)
    ShippingMethodChannelListing.objects.create(
        channel=channel_EUR,
        currency=channel_EUR.currency_code,
        shipping_method=shipping_zone.shipping_methods.get(),
        minimum_order_price=Money(0, channel_EUR.currency_code),
        price=Money(10, channel_EUR.currency_code),
    )
    warehouse.channels.add(channel_EUR)
    configure_otp(channel_EUR)
    return channel_EUR


class SaleorHarness:
    def __init__(
        self,
        *,
        channel: Channel,
        warehouse: Any,
        product_type: Any,
        tax_class: Any,
        site_settings: Any,
        make_checkout: Any,
        complete_checkout: Any,
        fulfill: Any,
        staff_mutation: Any,
        capture: Any,
    ):
        self.channel = channel.slug
        self._channel = channel
        self._warehouse = warehouse
        self._product_type = product_type
        self._tax_class = tax_class
        self._site_settings = site_settings
        self._make_checkout = make_checkout
        self._complete_checkout = complete_checkout
        self._fulfill = fulfill
        self._staff_mutation = staff_mutation
        self._capture = capture
        self._category = Category.objects.create(name="Phones", slug="phones")
        self._variants: dict[str, ProductVariant] = {}

    def _variant(self, item: Item) -> ProductVariant:
        if item.name not in self._variants:
            self._variants[item.name] = _variant(
                item.name,
                self._category,
                item.unit_price,
                product_type=self._product_type,
                channel=self._channel,
                warehouses=[self._warehouse],
                tax_class=self._tax_class,
            )
        return self._variants[item.name]

    def _mutation(self, query: str, variables: dict[str, Any]) -> None:
        data = self._staff_mutation(query, variables)
        (result,) = data.values()
        assert result["errors"] == []

    def place_order(self, items: Sequence[Item]) -> PlacedOrder:
        checkout = self._make_checkout(
            self._channel,
            [(self._variant(item), item.quantity) for item in items],
            email=CUSTOMER_EMAIL,
        )
        order = self._complete_checkout(checkout)
        return PlacedOrder(order.pk, str(order.number), order)

    def ship(
        self,
        order: PlacedOrder,
        quantities: Mapping[str, int],
        *,
        tracking_number: str = "",
        waiting_for_approval: bool = False,
    ) -> ShippedParcel:
        site_settings = self._site_settings
        site_settings.fulfillment_auto_approve = not waiting_for_approval
        site_settings.save(update_fields=["fulfillment_auto_approve"])
        try:
            (fulfillment,) = self._fulfill(
                order.handle,
                {self._variants[name]: qty for name, qty in quantities.items()},
                tracking_number=tracking_number or None,
            )
        finally:
            site_settings.fulfillment_auto_approve = True
            site_settings.save(update_fields=["fulfillment_auto_approve"])
        return ShippedParcel(fulfillment.pk, order, fulfillment)

    def approve(self, parcel: ShippedParcel) -> None:
        self._mutation(APPROVE, {"id": global_id("Fulfillment", parcel.id)})

    def set_tracking(self, parcel: ShippedParcel, tracking_number: str) -> None:
        self._mutation(
            UPDATE_TRACKING,
            {"id": global_id("Fulfillment", parcel.id), "tracking": tracking_number},
        )

    def cancel_parcel(self, parcel: ShippedParcel) -> None:
        self._mutation(
            CANCEL_FULFILLMENT,
            {
                "id": global_id("Fulfillment", parcel.id),
                "warehouseId": global_id("Warehouse", self._warehouse.pk),
            },
        )

    def refund(self, order: PlacedOrder) -> None:
        manager = get_plugins_manager(allow_replica=False)
        with self._capture(execute=True):
            manager.order_fully_refunded(Order.objects.get(pk=order.id))

    def cancel_order(self, order: PlacedOrder) -> None:
        self._mutation(CANCEL_ORDER, {"id": global_id("Order", order.id)})

    def run_follow_ups(self) -> None:
        # Each request ran its on-commit callbacks, and Celery is eager in
        # Saleor's test settings: the follow-ups ran with the request.
        pass

    def timeline(self, order: PlacedOrder) -> list[str]:
        return list(
            Order.objects.get(pk=order.id)
            .events.filter(type=OrderEvents.EXTERNAL_SERVICE_NOTIFICATION)
            .order_by("date", "pk")
            .values_list("parameters__message", flat=True)
        )

    def shown_status(self, parcel: ShippedParcel) -> str | None:
        metadata = Fulfillment.objects.get(pk=parcel.id).metadata or {}
        return metadata.get(FULFILLMENT_STATUS_METADATA_KEY)

    def parcel_name(self, parcel: ShippedParcel) -> str:
        # As the Dashboard names a fulfillment: "#<order number>-<n>".
        return f"#{Fulfillment.objects.get(pk=parcel.id).composed_id}"

    def sent_mail(self) -> list[Any]:
        return list(mail.outbox)


class TestSaleorPlugin(HostContract):
    @pytest.fixture
    def harness(
        self,
        eur_shop,
        warehouse,
        product_type,
        default_tax_class,
        site_settings,
        make_checkout,
        complete_checkout,
        fulfill,
        staff_mutation,
        django_capture_on_commit_callbacks,
    ):
        return SaleorHarness(
            channel=eur_shop,
            warehouse=warehouse,
            product_type=product_type,
            tax_class=default_tax_class,
            site_settings=site_settings,
            make_checkout=make_checkout,
            complete_checkout=complete_checkout,
            fulfill=fulfill,
            staff_mutation=staff_mutation,
            capture=django_capture_on_commit_callbacks,
        )

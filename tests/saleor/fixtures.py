"""Fixtures of the Saleor tier, on top of Saleor's own (listed in conftest.py).

Everything goes through Saleor's public surface: its GraphQL API with its test
clients, its plugin manager and its models. Hooks fire in ``on_commit`` callbacks;
Saleor 3.23's test ``ApiClient.post_graphql`` already runs every request inside
``TestCase.captureOnCommitCallbacks(execute=True)`` (saleor/graphql/tests/
fixtures.py:117), so a GraphQL call here runs its hooks, and wrapping it in
``django_capture_on_commit_callbacks(execute=True)`` again would run them twice.
Direct calls of the plugin manager do need that wrapper.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import graphene
import pytest
from django.utils import timezone
from saleor.checkout.fetch import fetch_checkout_info
from saleor.checkout.models import Checkout, CheckoutMetadata
from saleor.checkout.tests.utils import add_variant_to_checkout
from saleor.graphql.tests.utils import get_graphql_content
from saleor.order.models import Fulfillment, Order, OrderLine
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration
from saleor.product.models import (
    Category,
    Product,
    ProductChannelListing,
    ProductVariant,
    ProductVariantChannelListing,
)
from saleor.warehouse.models import Stock, Warehouse

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import plugin_config as pc
from saleor_delivery_otp.models import DeliveryCode

PLUGIN_PATH = "saleor_delivery_otp.plugin.DeliveryOTPPlugin"
USER_EMAIL_PLUGIN = "saleor.plugins.user_email.plugin.UserEmailPlugin"
TEST_KEY = "saleor-tier-test-key-0123456789abcdef0123"
CUSTOMER_EMAIL = "customer@example.com"

CHECKOUT_COMPLETE = """
mutation checkoutComplete($id: ID) {
  checkoutComplete(id: $id) {
    order { id number status }
    errors { field code message }
  }
}
"""

ORDER_FULFILL = """
mutation orderFulfill($order: ID!, $input: OrderFulfillInput!) {
  orderFulfill(order: $order, input: $input) {
    fulfillments { id status trackingNumber }
    errors { field code message }
  }
}
"""


@pytest.fixture(autouse=True)
def delivery_otp_installed(setup_dummy_gateways, settings):
    """The plugin in ``settings.PLUGINS``, after Saleor's autouse fixture that
    resets the list to the dummy gateways (requested first, so it runs first)."""
    settings.PLUGINS = [*settings.PLUGINS, PLUGIN_PATH]
    settings.DELIVERY_OTP_KEYS = [TEST_KEY]
    # Saleor's test settings make Celery tasks raise on any query outside
    # ``allow_writer()`` (production only logs it): the tier keeps that strictness,
    # so a plugin task that forgot it fails here.
    return settings


@pytest.fixture
def configure_otp(db) -> Callable[..., PluginConfiguration]:
    """Store the plugin's configuration for a channel, as pluginUpdate would."""

    def configure(channel: Any, *, active: bool = True, **values: object):
        """``values`` by snake_case name (``code_length="8"``)."""
        merged = {**pc.DEFAULTS, **{_camel(k): str(v) for k, v in values.items()}}
        assert set(merged) == set(pc.DEFAULTS), "unknown configuration field"
        config, _ = PluginConfiguration.objects.update_or_create(
            identifier=c.PLUGIN_ID,
            channel=channel,
            defaults={
                "active": active,
                "configuration": [
                    {"name": name, "value": value} for name, value in merged.items()
                ],
            },
        )
        return config

    return configure


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


@dataclass
class Catalog:
    electronics: Category
    phones: Category
    books: Category
    # 350 USD, category phones (child of electronics)
    phone: ProductVariant
    # 50 USD, category phones
    case: ProductVariant
    # 400 USD, category books
    book: ProductVariant


def _variant(
    name: str,
    category: Category,
    price: int,
    *,
    product_type: Any,
    channel: Any,
    warehouses: Iterable[Any],
    tax_class: Any,
) -> ProductVariant:
    product = Product.objects.create(
        name=name,
        slug=name.lower().replace(" ", "-"),
        product_type=product_type,
        category=category,
        tax_class=tax_class,
    )
    ProductChannelListing.objects.create(
        product=product,
        channel=channel,
        is_published=True,
        visible_in_listings=True,
        currency=channel.currency_code,
        available_for_purchase_at=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
    )
    variant = ProductVariant.objects.create(
        product=product, sku=name.upper().replace(" ", "-"), name=name
    )
    ProductVariantChannelListing.objects.create(
        variant=variant,
        channel=channel,
        price_amount=Decimal(price),
        discounted_price_amount=Decimal(price),
        cost_price_amount=Decimal(1),
        currency=channel.currency_code,
    )
    for warehouse in warehouses:
        Stock.objects.create(
            warehouse=warehouse, product_variant=variant, quantity=10_000
        )
    return variant


@pytest.fixture
def second_warehouse(address, shipping_zone, channel_USD) -> Warehouse:
    second = Warehouse.objects.create(
        address=address.get_copy(),
        name="Second Warehouse",
        slug="second-warehouse",
        email="second@example.com",
    )
    second.shipping_zones.add(shipping_zone)
    second.channels.add(channel_USD)
    return second


@pytest.fixture
def catalog(
    product_type, warehouse, second_warehouse, channel_USD, default_tax_class
) -> Catalog:
    """Products in a small category tree, in stock in two warehouses."""
    electronics = Category.objects.create(name="Electronics", slug="electronics")
    phones = Category.objects.create(name="Phones", slug="phones", parent=electronics)
    books = Category.objects.create(name="Books", slug="books")
    kwargs = {
        "product_type": product_type,
        "channel": channel_USD,
        "warehouses": [warehouse, second_warehouse],
        "tax_class": default_tax_class,
    }
    return Catalog(
        electronics=electronics,
        phones=phones,
        books=books,
        phone=_variant("Phone X", phones, 350, **kwargs),
        case=_variant("Phone case", phones, 50, **kwargs),
        book=_variant("Art book", books, 400, **kwargs),
    )


@pytest.fixture
def make_checkout(address, checkout_delivery, settings):
    """A checkout ready to complete without payment (the channel allows unpaid
    orders), holding the given variants."""

    def make(
        channel: Any,
        items: Iterable[tuple[ProductVariant, int]],
        *,
        email: str = CUSTOMER_EMAIL,
        user: Any = None,
    ) -> Checkout:
        if not channel.allow_unpaid_orders:
            channel.allow_unpaid_orders = True
            channel.save(update_fields=["allow_unpaid_orders"])
        checkout = Checkout.objects.create(
            currency=channel.currency_code,
            channel=channel,
            price_expiration=timezone.now() + settings.CHECKOUT_PRICES_TTL,
            email=email,
            user=user,
        )
        checkout.set_country("US", commit=True)
        CheckoutMetadata.objects.create(checkout=checkout)
        info = fetch_checkout_info(
            checkout, [], get_plugins_manager(allow_replica=False)
        )
        for variant, quantity in items:
            add_variant_to_checkout(info, variant, quantity)
        checkout.shipping_address = address
        checkout.billing_address = address
        checkout.assigned_delivery = checkout_delivery(checkout)
        checkout.save()
        return checkout

    return make


def global_id(type_name: str, pk: object) -> str:
    return graphene.Node.to_global_id(type_name, pk)


@pytest.fixture
def complete_checkout(user_api_client):
    """checkoutComplete through the API, on-commit hooks run; returns the order."""

    def complete(checkout: Checkout, *, client: Any = None) -> Order:
        response = (client or user_api_client).post_graphql(
            CHECKOUT_COMPLETE, {"id": global_id("Checkout", checkout.pk)}
        )
        data = get_graphql_content(response)["data"]["checkoutComplete"]
        assert data["errors"] == []
        _, order_id = graphene.Node.from_global_id(data["order"]["id"])
        return Order.objects.get(pk=order_id)

    return complete


@pytest.fixture
def order_staff(staff_api_client, permission_group_manage_orders):
    permission_group_manage_orders.user_set.add(staff_api_client.user)
    return staff_api_client


@pytest.fixture
def fulfill(order_staff, warehouse):
    """orderFulfill through the API; returns the new fulfillments.

    ``lines`` maps an order line (or its variant) to a quantity, or to a list of
    (warehouse, quantity) to ship one line from several warehouses.
    """

    def run(
        order: Order,
        lines: dict[Any, Any],
        *,
        tracking_number: str | None = None,
        notify_customer: bool = True,
    ) -> list[Fulfillment]:
        line_inputs = []
        for key, spec in lines.items():
            line = key if isinstance(key, OrderLine) else order.lines.get(variant=key)
            stocks = spec if isinstance(spec, list) else [(warehouse, spec)]
            line_inputs.append(
                {
                    "orderLineId": global_id("OrderLine", line.pk),
                    "stocks": [
                        {"warehouse": global_id("Warehouse", w.pk), "quantity": q}
                        for w, q in stocks
                    ],
                }
            )
        variables: dict[str, Any] = {
            "order": global_id("Order", order.pk),
            "input": {"lines": line_inputs, "notifyCustomer": notify_customer},
        }
        if tracking_number is not None:
            variables["input"]["trackingNumber"] = tracking_number
        response = order_staff.post_graphql(ORDER_FULFILL, variables)
        data = get_graphql_content(response)["data"]["orderFulfill"]
        assert data["errors"] == []
        return [
            Fulfillment.objects.get(pk=graphene.Node.from_global_id(f["id"])[1])
            for f in data["fulfillments"]
        ]

    return run


@pytest.fixture
def staff_mutation(order_staff):
    """Any order mutation as staff with MANAGE_ORDERS, on-commit hooks run."""

    def run(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = order_staff.post_graphql(query, variables)
        return get_graphql_content(response)["data"]

    return run


def codes_of(order: Order) -> list[DeliveryCode]:
    """The order's current codes (superseded ones excluded), oldest first."""
    return list(
        DeliveryCode.objects.filter(order_id=order.pk)
        .exclude(status="superseded")
        .order_by("created_at")
    )


@pytest.fixture
def plugins_staff(staff_api_client, permission_manage_plugins):
    """Staff allowed to configure plugins (the Dashboard's Configuration → Plugins)."""
    staff_api_client.user.user_permissions.add(permission_manage_plugins)
    return staff_api_client

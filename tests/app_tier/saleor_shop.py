"""The little shop the App tier's story needs, written into a fresh Saleor.

Run by the App tier with Saleor's Python and Saleor's settings
(``DJANGO_SETTINGS_MODULE=saleor.settings``, the tier's ``DATABASE_URL``), before
the story starts; it prints one JSON object with the ids and credentials the story
uses. Only what the story needs, much less than ``populatedb``: a EUR channel that
confirms paid orders itself, a warehouse and a shipping method for Germany, two
shippable products (349 EUR and 20 EUR) in stock, a customer, and a staff member
who may manage apps and orders and handle payments (to create the story's payment
app). Everything after this goes through Saleor's public API.

The products and users are written with Saleor's models, as its own
``populatedb`` does; the channel's tax configuration as ``channelCreate`` makes it.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from graphql_relay import to_global_id  # noqa: E402
from saleor.account.models import Address, Group, User  # noqa: E402
from saleor.channel.models import Channel  # noqa: E402
from saleor.permission.enums import get_permissions  # noqa: E402
from saleor.product.models import (  # noqa: E402
    Category,
    Product,
    ProductChannelListing,
    ProductType,
    ProductVariant,
    ProductVariantChannelListing,
)
from saleor.shipping.models import (  # noqa: E402
    ShippingMethod,
    ShippingMethodChannelListing,
    ShippingZone,
)
from saleor.tax import TaxCalculationStrategy  # noqa: E402
from saleor.tax.models import TaxConfiguration  # noqa: E402
from saleor.warehouse.models import Stock, Warehouse  # noqa: E402

CHANNEL = "eur-shop"
CURRENCY = "EUR"
COUNTRY = "DE"


def address() -> Address:
    return Address.objects.create(
        first_name="Lena",
        last_name="Weber",
        street_address_1="Friedrichstraße 123",
        city="BERLIN",
        postal_code="10117",
        country=COUNTRY,
        phone="+493012345678",
    )


def user(email: str, password: str, *, staff: bool) -> User:
    found = User(
        email=email,
        first_name="Lena" if not staff else "Sam",
        last_name="Weber" if not staff else "Staff",
        is_staff=staff,
        is_active=True,
        is_confirmed=True,
    )
    found.set_password(password)
    found.save()
    return found


@transaction.atomic
def build(passwords: dict[str, str]) -> dict[str, object]:
    channel = Channel.objects.create(
        name="EUR shop",
        slug=CHANNEL,
        currency_code=CURRENCY,
        default_country=COUNTRY,
        is_active=True,
        automatically_confirm_all_new_orders=True,
    )
    # As channelCreate: flat rates, and no rate for Germany, so prices are gross
    # as entered.
    TaxConfiguration.objects.create(
        channel=channel, tax_calculation_strategy=TaxCalculationStrategy.FLAT_RATES
    )
    warehouse = Warehouse.objects.create(
        name="Berlin",
        slug="berlin",
        address=address(),
        email="warehouse@example.com",
    )
    warehouse.channels.add(channel)
    zone = ShippingZone.objects.create(name="Germany", countries=[COUNTRY])
    zone.channels.add(channel)
    zone.warehouses.add(warehouse)
    method = ShippingMethod.objects.create(name="DHL", type="price", shipping_zone=zone)
    ShippingMethodChannelListing.objects.create(
        shipping_method=method,
        channel=channel,
        currency=CURRENCY,
        price_amount=Decimal("5.00"),
        minimum_order_price_amount=Decimal("0.00"),
    )
    product_type = ProductType.objects.create(
        name="Goods", slug="goods", kind="normal", is_shipping_required=True
    )
    category = Category.objects.create(name="Watches", slug="watches")
    variants = {}
    for slug, name, price in (
        ("watch", "Chronograph watch", Decimal("349.00")),
        ("strap", "Leather strap", Decimal("20.00")),
    ):
        product = Product.objects.create(
            name=name,
            slug=slug,
            product_type=product_type,
            category=category,
        )
        ProductChannelListing.objects.create(
            product=product,
            channel=channel,
            currency=CURRENCY,
            is_published=True,
            published_at=timezone.now(),
            visible_in_listings=True,
            available_for_purchase_at=timezone.now(),
            discounted_price_amount=price,
        )
        variant = ProductVariant.objects.create(product=product, sku=slug, name=name)
        ProductVariantChannelListing.objects.create(
            variant=variant,
            channel=channel,
            currency=CURRENCY,
            price_amount=price,
            discounted_price_amount=price,
        )
        # Enough for the App's benchmarks (benchmarks/app.py: 30 orders and a
        # parcel per courier's door).
        Stock.objects.create(
            warehouse=warehouse, product_variant=variant, quantity=1000
        )
        variants[slug] = to_global_id("ProductVariant", variant.pk)
    customer = user("lena@example.com", passwords["customer"], staff=False)
    staff = user("staff@example.com", passwords["staff"], staff=True)
    group = Group.objects.create(name="App tier staff")
    group.permissions.set(
        get_permissions().filter(
            codename__in=["manage_apps", "manage_orders", "handle_payments"]
        )
    )
    group.user_set.add(staff)
    return {
        "channel": CHANNEL,
        "currency": CURRENCY,
        "country": COUNTRY,
        "warehouse": to_global_id("Warehouse", warehouse.pk),
        "shipping_method": to_global_id("ShippingMethod", method.pk),
        "variants": variants,
        "customer": {"email": customer.email, "id": to_global_id("User", customer.pk)},
        "staff": {"email": staff.email},
    }


if __name__ == "__main__":
    print(json.dumps(build(json.loads(sys.stdin.read()))))

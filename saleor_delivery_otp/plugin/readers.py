"""Saleor's orders and fulfillments as the flows' plain data.

The hooks run inside checkoutComplete and orderFulfill, so every reader here costs
at most one query: order and fulfillment lines come with their product type, the
product's ``delivery_otp`` metadata flag and the slugs of their category and all of
its ancestors (what MPTT's ``get_ancestors(include_self=True)`` returns, as an
array subquery instead of one query per category).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef
from django.db.models.fields.json import KeyTextTransform
from saleor.order import FulfillmentStatus, OrderOrigin, OrderStatus
from saleor.order.models import Fulfillment, FulfillmentLine, Order, OrderLine
from saleor.product.models import Category

from .. import constants as c
from ..policy import Line, ProductFlag
from ..ports import OrderData, ParcelData
from ..service import Reader


def _line_columns(prefix: str, with_categories: bool) -> dict[str, Any]:
    """Columns of one (fulfillment or order) line, as ``values()`` arguments."""
    variant = f"{prefix}variant__"
    columns: dict[str, Any] = {
        "otp_flag": KeyTextTransform(
            c.PRODUCT_FLAG_METADATA_KEY, variant + "product__metadata"
        ),
        "otp_product_type": F(variant + "product__product_type__slug"),
    }
    if with_categories:
        category = variant + "product__category__"
        columns["otp_categories"] = ArraySubquery(
            Category.objects.filter(
                tree_id=OuterRef(category + "tree_id"),
                lft__lte=OuterRef(category + "lft"),
                rght__gte=OuterRef(category + "rght"),
            ).values("slug")
        )
    return columns


def _flag(value: object) -> ProductFlag:
    if isinstance(value, str):
        try:
            return ProductFlag(value.strip().lower())
        except ValueError:
            pass
    return ProductFlag.DEFAULT


def _line(row: dict[str, Any], currency: str) -> Line:
    return Line(
        line_id=str(row["otp_line_id"]),
        unit_price_gross=Decimal(row["otp_unit_price"] or 0),
        currency=currency,
        quantity=int(row["otp_quantity"]),
        category_slugs=tuple(row.get("otp_categories") or ()),
        product_type_slug=row["otp_product_type"],
        flag=_flag(row["otp_flag"]),
        is_shipping_required=bool(row["otp_shipping"]),
    )


def order_is_placed(order: Order) -> bool:
    """Drafts get no code: a draft becomes an order through draftOrderComplete,
    which fires ``order_created`` again."""
    return order.status != OrderStatus.DRAFT


def order_data(order: Order, *, with_categories: bool) -> OrderData:
    """The order and its lines, in one query (the order itself is already loaded
    by Saleor, with its channel). A draft comes without lines and without a
    query: it gets no code."""
    if not order_is_placed(order):
        return OrderData(id=order.pk, channel_slug=order.channel.slug, is_placed=False)
    rows = (
        OrderLine.objects.filter(order_id=order.pk)
        .order_by("pk")
        .values(
            otp_quantity=F("quantity"),
            otp_shipping=F("is_shipping_required"),
            otp_line_id=F("id"),
            otp_unit_price=F("unit_price_gross_amount"),
            **_line_columns("", with_categories),
        )
    )
    currency = order.currency
    lines = tuple(_line(row, currency) for row in rows)
    return OrderData(
        id=order.pk,
        number=order.number,
        channel_slug=order.channel.slug,
        currency=currency,
        lines=lines,
        reader=reader_of(order),
        sends_confirmation=sends_order_confirmation(order),
    )


def order_brief(order: Order) -> OrderData:
    """The order without its lines: no query."""
    return OrderData(id=order.pk, channel_slug=order.channel.slug)


def reader_of(order: Order) -> Reader:
    """Who the order's codes are for now: its account and the address its e-mails
    go to (what ``email_context`` sends to). No query: ``user_email`` is on the
    order row Saleor loaded, and checkout always sets it."""
    return Reader(
        customer_id=str(order.user_id) if order.user_id else "",
        email=order.get_customer_email() or "",
    )


def parcel_data(fulfillment: Fulfillment, *, with_categories: bool) -> ParcelData:
    """The parcel and the quantities it ships, in one query; a parcel not on its
    way (waiting for approval, canceled) without lines and without a query."""
    brief = parcel_brief(fulfillment)
    if not brief.is_shipped:
        return brief
    rows = (
        FulfillmentLine.objects.filter(fulfillment_id=fulfillment.pk)
        .order_by("pk")
        .values(
            otp_quantity=F("quantity"),
            otp_line_id=F("order_line_id"),
            otp_unit_price=F("order_line__unit_price_gross_amount"),
            otp_shipping=F("order_line__is_shipping_required"),
            **_line_columns("order_line__", with_categories),
        )
    )
    lines = tuple(_line(row, brief.currency) for row in rows)
    return replace(brief, lines=lines, reader=reader_of(fulfillment.order))


def parcel_brief(fulfillment: Fulfillment) -> ParcelData:
    """The parcel without its lines: no query (Saleor loads the order and channel
    on the fulfillment before calling any hook)."""
    order = fulfillment.order
    return ParcelData(
        id=fulfillment.pk,
        order_id=order.pk,
        channel_slug=order.channel.slug,
        currency=order.currency,
        is_shipped=fulfillment.status == FulfillmentStatus.FULFILLED,
        tracking_number=fulfillment.tracking_number or "",
        sends_confirmation=sends_order_confirmation(order),
    )


def load_order(order_id: str | uuid.UUID) -> Order | None:
    """An order by id (a retry, single-e-mail mode)."""
    return Order.objects.select_related("channel").filter(pk=order_id).first()


def load_fulfillment(fulfillment_id: int | str) -> Fulfillment | None:
    """A fulfillment by id (a retry)."""
    return (
        Fulfillment.objects.select_related("order__channel")
        .filter(pk=fulfillment_id)
        .first()
    )


def sends_order_confirmation(order: Order) -> bool:
    """Whether Saleor sends ORDER_CONFIRMATION for this order: checkout orders yes,
    drafts completed by staff no (saleor/graphql/order/mutations/
    draft_order_complete.py notifies nobody)."""
    return order.origin != OrderOrigin.DRAFT

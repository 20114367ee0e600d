"""What the code e-mail says about a Saleor order, and how it is sent: the
channel's User emails SMTP server, the shop's name, the parcel's items."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings
from django.contrib.sites.models import Site
from saleor.order.models import Fulfillment, FulfillmentLine, Order, OrderLine
from saleor.plugins.models import PluginConfiguration

from .. import constants as c
from ..emails.sending import EmailContext, ParcelItem, SmtpTransport
from ..plugin_config import ChannelConfig
from ..policy import order_decision
from .configuration import config_for_emails
from .readers import order_data

if TYPE_CHECKING:
    from ..models import DeliveryCode

logger = logging.getLogger(__name__)


def _saleor_setting(name: str) -> Any:
    return getattr(django_settings, name, None)


def smtp_transport(channel_slug: str) -> SmtpTransport | None:
    """The channel's User emails SMTP server, with Saleor's own fallbacks to the
    ``USER_EMAIL_*`` settings; None (Django's e-mail settings) if that plugin is
    off in the channel or has no server."""
    row = (
        PluginConfiguration.objects.filter(
            identifier=c.USER_EMAIL_PLUGIN_ID,
            channel__slug=channel_slug,
            active=True,
        )
        .values_list("configuration", flat=True)
        .first()
    )
    if row is None:
        return None
    values = {item.get("name"): item.get("value") for item in row or ()}
    host = values.get("host") or _saleor_setting("USER_EMAIL_HOST")
    sender_address = values.get("sender_address")
    if not host or not sender_address:
        return None
    try:
        return SmtpTransport(
            host=host,
            port=values.get("port") or _saleor_setting("USER_EMAIL_PORT") or 25,
            username=values.get("username")
            or _saleor_setting("USER_EMAIL_HOST_USER")
            or "",
            password=values.get("password")
            or _saleor_setting("USER_EMAIL_HOST_PASSWORD")
            or "",
            use_tls=_truthy(
                values.get("use_tls") or _saleor_setting("USER_EMAIL_USE_TLS")
            ),
            use_ssl=_truthy(
                values.get("use_ssl") or _saleor_setting("USER_EMAIL_USE_SSL")
            ),
            sender_name=values.get("sender_name") or "",
            sender_address=sender_address,
        )
    except (TypeError, ValueError):
        logger.error(
            "User emails SMTP settings of channel %s are unusable; the code e-mail "
            "uses Django's e-mail settings.",
            channel_slug,
        )
        return None


def _truthy(value: object) -> bool:
    # Saleor stores a BOOLEAN field as a bool, older rows as "true"/"false".
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def _order_for_email(order_id: uuid.UUID | str) -> Order:
    return (
        Order.objects.select_related("user", "channel", "billing_address")
        .only(
            "id",
            "number",
            # order_data reads both: a draft gets no lines, a draft's origin no
            # confirmation.
            "status",
            "origin",
            "language_code",
            "user_email",
            "currency",
            "user__email",
            "user__first_name",
            "channel__slug",
            "channel__currency_code",
            "billing_address__first_name",
        )
        .get(pk=order_id)
    )


_ITEM_COLUMNS = (
    "translated_product_name",
    "product_name",
    "translated_variant_name",
    "variant_name",
)


def _items(rows: Iterable[tuple[str, str, str, str, int]]) -> tuple[ParcelItem, ...]:
    return tuple(
        ParcelItem.of(product or product_default, variant or variant_default, qty)
        for product, product_default, variant, variant_default, qty in rows
    )


def shop_name(transport: SmtpTransport | None) -> str:
    """The shop's name as its e-mails give it: the channel's "Sender name" in
    Saleor's User emails plugin, the name the From line shows, else Saleor's site
    name (``Site.name``, Saleor's default "Saleor e-commerce" until it is set)."""
    if transport is not None and transport.sender_name.strip():
        return transport.sender_name.strip()
    return Site.objects.get_current().name


def _context(
    order: Order,
    config: ChannelConfig,
    *,
    items: tuple[ParcelItem, ...] = (),
    parcel_number: int | None = None,
) -> EmailContext:
    customer = order.user.first_name if order.user_id and order.user else ""
    if not customer and order.billing_address:
        customer = order.billing_address.first_name
    email = config.email
    transport = smtp_transport(order.channel.slug)
    return EmailContext(
        recipient=order.get_customer_email() or "",
        order_reference=str(order.number),
        language_code=order.language_code or "",
        channel_language_code=email.language,
        order_url=email.order_page(token=str(order.pk), number=str(order.number)),
        items=items,
        parcel_number=parcel_number,
        validity_days=config.limits.validity.days,
        time_zone=email.time_zone,
        shop_name=shop_name(transport),
        customer_name=customer or "",
        transport=transport,
        code_email=email.code_email,
        confirmation_email=email.confirmation_email,
        brand_color=email.brand_color,
        logo_url=email.logo_url,
    )


def email_context(record: DeliveryCode) -> EmailContext:
    """Who receives a code and what its e-mail says: the parcel's items, or before
    shipment the order's lines that need the code."""
    order = _order_for_email(record.order_id)
    config = config_for_emails(order.channel.slug, order.channel.currency_code)
    if record.fulfillment_id is not None:
        items = _items(
            FulfillmentLine.objects.filter(fulfillment_id=record.fulfillment_id)
            .order_by("pk")
            .values_list(
                *(f"order_line__{column}" for column in _ITEM_COLUMNS), "quantity"
            )
        )
        number = (
            Fulfillment.objects.filter(pk=record.fulfillment_id)
            .values_list("fulfillment_order", flat=True)
            .first()
        )
        return _context(order, config, items=items, parcel_number=number)
    data = order_data(order, with_categories=bool(config.policy.category_slugs))
    qualifying = set(order_decision(config.policy, data.lines).qualifying_line_ids)
    rows = OrderLine.objects.filter(order_id=order.pk, is_shipping_required=True)
    if qualifying:
        rows = rows.filter(pk__in=qualifying)
    items = _items(rows.order_by("pk").values_list(*_ITEM_COLUMNS, "quantity"))
    return _context(order, config, items=items)


def confirmation_context(
    payload: Mapping[str, Any], record: DeliveryCode | None
) -> EmailContext:
    """Single-e-mail mode: the order comes from the ORDER_CONFIRMATION payload's
    ``token`` (the order's id)."""
    if record is not None:
        return email_context(record)
    order = _order_for_email(str(payload["order"]["token"]))
    config = config_for_emails(order.channel.slug, order.channel.currency_code)
    return _context(order, config)

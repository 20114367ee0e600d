"""What the App's code e-mail says about an order: kept from the webhooks
(:class:`.models.OrderMail`), sent with the App's own e-mail settings (Django's
``EMAIL_*``), worded by the channel's configuration as the plugin's is."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import transaction

from .. import plugin_config, policy
from ..emails.context import EmailContext, ParcelItem
from ..exceptions import ConfigurationError
from ..ports import ChannelSettings, OrderData, ParcelData
from . import saleor_api
from .models import ChannelConfiguration, Installation, OrderMail
from .payloads import MailFacts

if TYPE_CHECKING:
    from ..models import DeliveryCode
    from .host import AppHost

logger = logging.getLogger(__name__)

_SHOP_QUERY = "query DeliveryOTPShop { shop { name } }"
SHOP_NAME_CACHE_SECONDS = 600


def remember(
    installation: Installation,
    data: OrderData | ParcelData,
    facts: MailFacts,
    settings: ChannelSettings,
) -> None:
    """Keep what a webhook said for the e-mail: the order's lines that need the
    code (before shipment), or a parcel's items and number.

    Only for an order or a parcel that needs a code: the App keeps no customer's
    name or address for orders it never writes to. The row is locked while it is
    updated: Saleor delivers the parcels of one ``orderFulfill`` at once, and each
    must find the others' facts."""
    if not _needs_code(data, settings):
        return
    order_id = data.id if isinstance(data, OrderData) else data.order_id
    with transaction.atomic():
        row, _ = OrderMail.objects.select_for_update().get_or_create(
            installation=installation, order_id=order_id
        )
        known: dict[str, Any] = dict(row.facts or {})
        known.update(
            number=facts.order_number,
            language=facts.language_code,
            customer_name=facts.customer_name,
            recipient=data.reader.email if data.reader is not None else "",
        )
        if isinstance(data, OrderData):
            qualifying = set(
                policy.order_decision(settings.policy, data.lines).qualifying_line_ids
            )
            known["items"] = [
                [item.name, item.quantity]
                for line_id, item in facts.items
                if not qualifying or line_id in qualifying
            ]
        else:
            parcels = dict(known.get("parcels") or {})
            parcels[str(data.id)] = {
                "number": facts.parcel_number,
                "items": [[item.name, item.quantity] for _, item in facts.items],
            }
            known["parcels"] = parcels
        row.facts = known
        row.save(update_fields=["facts", "updated_at"])


def _needs_code(data: OrderData | ParcelData, settings: ChannelSettings) -> bool:
    """What the flows decide (flows.order_placed, flows.parcel_shipped)."""
    if isinstance(data, OrderData):
        return (
            data.is_placed
            and policy.order_decision(settings.policy, data.lines).required
        )
    return (
        data.is_shipped and policy.parcel_decision(settings.policy, data.lines).required
    )


def _facts(installation: Installation, record: DeliveryCode) -> dict[str, Any]:
    row = OrderMail.objects.filter(
        installation=installation, order_id=record.order_id
    ).first()
    if row is None:
        raise LookupError("The App kept nothing of this order for its e-mail.")
    return dict(row.facts or {})


def email_context(host: AppHost, record: DeliveryCode) -> EmailContext:
    found = Installation.of_channel(record.channel)
    if found is None:
        raise LookupError("The code's installation is gone.")
    installation, slug = found
    facts = _facts(installation, record)
    row = ChannelConfiguration.objects.filter(
        installation=installation, slug=slug
    ).first()
    try:
        config = plugin_config.parse_items(
            row.items if row else None, currency=row.currency if row else "XXX"
        )
    except ConfigurationError:
        config = plugin_config.parse_items(None, currency="XXX")
    parcel = (facts.get("parcels") or {}).get(str(record.fulfillment_id))
    raw_items = parcel["items"] if parcel else facts.get("items") or []
    email = config.email
    number = str(facts.get("number") or "")
    return EmailContext(
        recipient=str(facts.get("recipient") or ""),
        order_reference=number,
        language_code=str(facts.get("language") or ""),
        channel_language_code=email.language,
        order_url=email.order_page(token=str(record.order_id), number=number),
        items=tuple(ParcelItem(str(name), int(qty)) for name, qty in raw_items),
        parcel_number=parcel["number"] if parcel else None,
        validity_days=config.limits.validity.days,
        time_zone=email.time_zone,
        shop_name=shop_name(installation),
        customer_name=str(facts.get("customer_name") or ""),
        code_email=email.code_email,
        confirmation_email=email.confirmation_email,
        brand_color=email.brand_color,
        logo_url=email.logo_url,
    )


def parcel_label(host: AppHost, parcel_id: int | None, *, channel: str) -> str:
    """How staff name a parcel: ``#<order number>-<n>``, from what the webhooks
    said; the fulfillment id if they said nothing."""
    if parcel_id is None:
        return ""
    found = Installation.of_channel(channel)
    if found is not None:
        for row in OrderMail.objects.filter(
            installation=found[0], facts__parcels__has_key=str(parcel_id)
        )[:1]:
            parcel = row.facts["parcels"][str(parcel_id)]
            return f"#{row.facts.get('number')}-{parcel.get('number')}"
    return f"#{parcel_id}"


def shop_name(installation: Installation) -> str:
    """Saleor's shop name (``shop { name }``), kept for a while; its domain if
    Saleor cannot say."""
    key = f"delivery-otp:app:shop-name:{installation.public_id}"
    try:
        known = cache.get(key)
    except Exception:  # the cache is an optimisation
        known = None
    if isinstance(known, str):
        return known
    try:
        document = saleor_api.execute(
            installation.saleor_api_url, installation.token(), _SHOP_QUERY
        )
        name = str(((document.get("data") or {}).get("shop") or {}).get("name") or "")
    except Exception as exc:
        logger.info("Delivery-code App: shop name unknown (%s).", type(exc).__name__)
        return installation.domain
    name = name or installation.domain
    try:
        cache.set(key, name, SHOP_NAME_CACHE_SECONDS)
    except Exception as exc:
        logger.warning("Delivery-code App: cache failed (%s).", type(exc).__name__)
    return name

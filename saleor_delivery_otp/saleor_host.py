"""The only module that reads or writes Saleor's own objects.

Everything else in the package sees plain data: :class:`OrderData`, :class:`ParcelData`,
:class:`~saleor_delivery_otp.policy.Line`, ids. When Saleor moves its fulfillment hooks
into core (they are marked deprecated in 3.23), or the plugin becomes a Saleor App,
this is the file that changes.

The hooks run inside checkoutComplete and orderFulfill, so every reader here costs at
most one query: order and fulfillment lines come with their product type, the
product's ``delivery_otp`` metadata flag and the slugs of their category and all of
its ancestors (what MPTT's ``get_ancestors(include_self=True)`` returns, as an array
subquery instead of one query per category).

Nothing here ever holds or writes a plain code.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.sites.models import Site
from django.core.cache import cache
from django.db.models import F, JSONField, OuterRef, Q, Value
from django.db.models.fields.json import KeyTextTransform
from saleor.account.models import Group, User
from saleor.app.models import App
from saleor.core.auth import get_token_from_request
from saleor.core.auth_backend import load_user_from_request
from saleor.core.db.connection import allow_writer
from saleor.core.db.expressions import PostgresJsonConcatenate
from saleor.core.utils.events import call_event
from saleor.graphql.app.dataloaders.utils import promise_app
from saleor.order import FulfillmentStatus, OrderOrigin, OrderStatus
from saleor.order.events import external_notification_event
from saleor.order.models import Fulfillment, FulfillmentLine, Order, OrderLine
from saleor.permission.enums import OrderPermissions
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import EmailTemplate, PluginConfiguration
from saleor.product.models import Category, ProductType

from . import codes
from . import constants as c
from .codes import Keyring
from .conf import settings as otp_settings
from .emails.sending import EmailContext, ParcelItem, SmtpTransport
from .exceptions import ConfigurationError
from .host import ANONYMOUS, ChannelSettings, OrderFacts, Requestor, RequestorKind
from .models import CodeStatus
from .plugin_config import (
    ChannelConfig,
    all_key_set_keys,
    app_pk,
    legacy_keys,
    legacy_keys_message,
    parse_items,
)
from .policy import Line, ProductFlag, order_decision
from .service import GUEST_WITHOUT_ADDRESS, Reader

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import DeliveryCode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderData:
    id: uuid.UUID
    number: int
    channel_slug: str
    currency: str
    lines: tuple[Line, ...]
    # Who a code issued now is for: the order's account ("" for a guest) and the
    # address its e-mail goes to.
    reader: Reader = GUEST_WITHOUT_ADDRESS


@dataclass(frozen=True)
class ParcelData:
    id: int
    order_id: uuid.UUID
    channel_slug: str
    currency: str
    # ``fulfilled`` for a parcel on its way; anything else (waiting for approval,
    # canceled, a return or refund group) needs no code.
    is_shipped: bool
    tracking_number: str
    lines: tuple[Line, ...]


# --- database access ------------------------------------------------------------


@contextmanager
def writer() -> Iterator[None]:
    """Allow writes to Saleor's default database.

    Saleor's Celery tasks refuse (tests) or log (production) any query on the
    writer that is not inside ``allow_writer``; our hooks and tasks write, on
    purpose, so they say so.
    """
    with allow_writer():
        yield


# --- orders and parcels ---------------------------------------------------------


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
    by Saleor, with its channel)."""
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
    )


def reader_of(order: Order) -> Reader:
    """Who the order's codes are for now: its account and the address its e-mails
    go to (what ``email_context`` sends to). No query: ``user_email`` is on the
    order row Saleor loaded, and checkout always sets it."""
    return Reader(
        customer_id=str(order.user_id) if order.user_id else "",
        email=order.get_customer_email() or "",
    )


def parcel_data(fulfillment: Fulfillment, *, with_categories: bool) -> ParcelData:
    """The parcel and the quantities it ships, in one query."""
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
    brief = parcel_brief(fulfillment)
    lines = tuple(_line(row, brief.currency) for row in rows)
    return ParcelData(**{**brief.__dict__, "lines": lines})


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
        lines=(),
    )


def order_of(fulfillment: Fulfillment) -> Order:
    """The fulfillment's order, already loaded by Saleor before any hook."""
    return fulfillment.order


def order_id_of(order: Order) -> uuid.UUID:
    return order.pk


def fulfillment_id_of(fulfillment: Fulfillment) -> int:
    return fulfillment.pk


_HANDLED_ATTR = "_delivery_otp_handled"


def first_visit(fulfillment: Fulfillment) -> bool:
    """Whether this fulfillment object has not been handled yet.

    Saleor fires ``fulfillment_created`` and then ``fulfillment_approved`` with the
    same object: the second call is answered from memory, without a query.
    """
    return not getattr(fulfillment, _HANDLED_ATTR, False)


def mark_visited(fulfillment: Fulfillment) -> None:
    setattr(fulfillment, _HANDLED_ATTR, True)


def load_order(order_id: str | uuid.UUID) -> Order | None:
    """An order by id, for the retry task."""
    return Order.objects.select_related("channel").filter(pk=order_id).first()


def load_fulfillment(fulfillment_id: int | str) -> Fulfillment | None:
    """A fulfillment by id, for the retry task."""
    return (
        Fulfillment.objects.select_related("order__channel")
        .filter(pk=fulfillment_id)
        .first()
    )


def channel_slug_of(obj: Order | Fulfillment) -> str:
    order = obj.order if isinstance(obj, Fulfillment) else obj
    return order.channel.slug


# --- configuration --------------------------------------------------------------


def _config_row(channel_slug: str, *, active_only: bool) -> tuple[Any, str] | None:
    rows = PluginConfiguration.objects.filter(
        identifier=c.PLUGIN_ID, channel__slug=channel_slug
    )
    if active_only:
        rows = rows.filter(active=True)
    return rows.values_list("configuration", "channel__currency_code").first()


def channel_config(channel_slug: str) -> ChannelConfig | None:
    """The channel's configuration if the plugin is active there, else None.

    For code that runs outside a hook (Celery tasks, the GraphQL API); hooks use
    the configuration Saleor already loaded on the plugin instance.
    """
    row = _config_row(channel_slug, active_only=True)
    if row is None:
        return None
    return _parsed_config(channel_slug, *row)


def _parsed_config(
    channel_slug: str, items: Any, currency: str
) -> ChannelConfig | None:
    log_legacy_keys(channel_slug, items)
    try:
        return parse_items(items, currency=currency)
    except ConfigurationError as exc:
        logger.error(
            "Delivery codes are off in channel %s: invalid configuration of %s.",
            channel_slug,
            ", ".join(sorted(exc.errors)),
        )
        return None


def log_legacy_keys(channel_slug: str, items: Any) -> None:
    """Tell the shop owner, at every use, that the channel's configuration still
    holds keys of an earlier version (never used, never logged themselves)."""
    keys = legacy_keys(items)
    if keys:
        logger.error(legacy_keys_message(channel_slug, keys))


def channel_keys(channel_slug: str) -> tuple[str, ...]:
    """The keys of the channel's key set (newest first), or () to use
    DELIVERY_OTP_KEYS. The configuration holds the set's name only; the keys are
    in DELIVERY_OTP_CHANNEL_KEYS, outside the database.

    Read whether or not the plugin is active: codes issued while it was active
    must still verify and display after it is switched off.
    """
    row = _config_row(channel_slug, active_only=False)
    if row is None:
        return ()
    items, currency = row
    try:
        return parse_items(items, currency=currency or "XXX").keys
    except ConfigurationError:
        return ()


def unknown_slugs(
    category_slugs: Iterable[str], product_type_slugs: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Configured slugs that match no category / product type (typos would
    otherwise silently switch codes off)."""
    categories = set(category_slugs)
    product_types = set(product_type_slugs)
    known_categories = set(
        Category.objects.filter(slug__in=categories).values_list("slug", flat=True)
    )
    known_types = set(
        ProductType.objects.filter(slug__in=product_types).values_list(
            "slug", flat=True
        )
    )
    return (
        sorted(categories - known_categories),
        sorted(product_types - known_types),
    )


# --- what staff and storefronts see ---------------------------------------------


def add_timeline_entry(
    order: Order | uuid.UUID | str, message: str, *, event: str
) -> None:
    """A line in the order's history in the Dashboard ("Notification from external
    service", which the Dashboard renders as the message itself). The message is
    built by the caller and never holds a code."""
    if not isinstance(order, Order):
        found = Order.objects.only("id").filter(pk=order).first()
        if found is None:
            return
        order = found
    external_notification_event(
        order=order,
        user=None,
        app=None,
        message=message,
        parameters={"delivery_otp_event": event},
    )


def set_parcel_status(fulfillment_id: int, status: str) -> None:
    """Public metadata ``delivery_otp_status`` on the fulfillment: the code's status
    for storefronts and apps, never the code.

    Written as Saleor's updateMetadata writes it, one ``metadata || {...}`` UPDATE,
    so keys written meanwhile by apps or staff are kept; no write when the status
    is already the same. A change is announced as Saleor's metadata mutations
    announce theirs: FULFILLMENT_METADATA_UPDATED, so apps that mirror orders need
    not poll.

    Saleor's fulfillmentUpdateTracking saves the whole row with the metadata it
    loaded first, which takes back a status written in between; the
    ``tracking_number_updated`` hook that follows that save writes it again
    (:func:`reassert_parcel_status`). A row lock here would not help: that save
    does not wait for one.
    """
    updated = (
        Fulfillment.objects.filter(pk=fulfillment_id)
        .exclude(metadata__contains={c.FULFILLMENT_STATUS_METADATA_KEY: status})
        .update(
            metadata=PostgresJsonConcatenate(
                F("metadata"),
                Value(
                    {c.FULFILLMENT_STATUS_METADATA_KEY: status},
                    output_field=JSONField(),
                ),
            )
        )
    )
    if updated:
        _announce_metadata_update(fulfillment_id)


def _announce_metadata_update(fulfillment_id: int) -> None:
    """Fire Saleor's FULFILLMENT_METADATA_UPDATED through its plugin manager (after
    commit inside a transaction, as Saleor does). Best effort, like Saleor's own
    webhooks: the status is written whether or not the announcement goes out.
    This plugin has no ``fulfillment_metadata_updated`` hook, so it does not call
    itself back."""
    try:
        fulfillment = (
            Fulfillment.objects.select_related("order__channel")
            .filter(pk=fulfillment_id)
            .first()
        )
        if fulfillment is None:
            return
        manager = get_plugins_manager(allow_replica=False)
        call_event(manager.fulfillment_metadata_updated, fulfillment)
    except Exception as exc:
        logger.error(
            "FULFILLMENT_METADATA_UPDATED for fulfillment %s not fired (%s).",
            fulfillment_id,
            type(exc).__name__,
        )


def reassert_parcel_status(fulfillment: Fulfillment) -> None:
    """Write the parcel code's status again, after a save of Saleor's that may
    have put back the metadata it loaded earlier; the object Saleor holds (and
    hands to the hooks after ours) shows it too."""
    from .models import DeliveryCode

    status = (
        DeliveryCode.objects.filter(fulfillment_id=fulfillment.pk)
        .exclude(status=CodeStatus.SUPERSEDED)
        .order_by("-created_at")
        .values_list("status", flat=True)
        .first()
    )
    if status is None:
        return
    set_parcel_status(fulfillment.pk, status)
    fulfillment.metadata = {
        **(fulfillment.metadata or {}),
        c.FULFILLMENT_STATUS_METADATA_KEY: status,
    }


def parcel_label(fulfillment_id: int | None) -> str:
    """How staff name a parcel: Saleor's ``<order number>-<n>``."""
    if fulfillment_id is None:
        return ""
    row = (
        Fulfillment.objects.filter(pk=fulfillment_id)
        .values_list("order__number", "fulfillment_order")
        .first()
    )
    return f"#{row[0]}-{row[1]}" if row else f"#{fulfillment_id}"


# --- the code e-mail ------------------------------------------------------------


def _config_for_emails(channel_slug: str, currency: str) -> ChannelConfig:
    """The channel's configuration even if the plugin was switched off since the
    code was issued (its e-mail still goes out), else the defaults."""
    row = _config_row(channel_slug, active_only=False)
    try:
        return parse_items(row[0] if row else None, currency=currency or "XXX")
    except ConfigurationError:
        return parse_items(None, currency=currency or "XXX")


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


def user_emails_send_order_confirmation(channel_slug: str) -> bool:
    """Whether Saleor's User emails plugin sends its own order confirmation in
    the channel (active, and its template not emptied)."""
    config = (
        PluginConfiguration.objects.filter(
            identifier=c.USER_EMAIL_PLUGIN_ID, channel__slug=channel_slug, active=True
        )
        .values_list("pk", flat=True)
        .first()
    )
    if config is None:
        return False
    template = (
        EmailTemplate.objects.filter(
            plugin_configuration_id=config,
            name=c.USER_EMAIL_ORDER_CONFIRMATION_TEMPLATE,
        )
        .values_list("value", flat=True)
        .first()
    )
    return template is None or bool(template)


def _order_for_email(order_id: uuid.UUID | str) -> Order:
    return (
        Order.objects.select_related("user", "channel", "billing_address")
        .only(
            "id",
            "number",
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
    """Who receives a code and what its e-mail says (``DELIVERY_OTP_EMAIL_CONTEXT``):
    the parcel's items, or before shipment the order's lines that need the code."""
    order = _order_for_email(record.order_id)
    config = _config_for_emails(order.channel.slug, order.channel.currency_code)
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
    """Single-e-mail mode (``DELIVERY_OTP_CONFIRMATION_CONTEXT``): the order comes
    from the ORDER_CONFIRMATION payload's ``token`` (the order's id)."""
    if record is not None:
        return email_context(record)
    order = _order_for_email(str(payload["order"]["token"]))
    config = _config_for_emails(order.channel.slug, order.channel.currency_code)
    return _context(order, config)


def order_id_from_payload(payload: Mapping[str, Any]) -> str | None:
    order = payload.get("order") if isinstance(payload, Mapping) else None
    token = order.get("token") if isinstance(order, Mapping) else None
    return str(token) if token else None


def sends_order_confirmation(order: Order) -> bool:
    """Whether Saleor sends ORDER_CONFIRMATION for this order: checkout orders yes,
    drafts completed by staff no (saleor/graphql/order/mutations/
    draft_order_complete.py notifies nobody)."""
    return order.origin != OrderOrigin.DRAFT


# --- the GraphQL API's host -----------------------------------------------------


def all_channel_keys() -> tuple[str, ...]:
    """Every key of every set of DELIVERY_OTP_CHANNEL_KEYS, whether a channel
    names it now or not (codes issued under a key must verify and display until
    they expire). From the settings: no query."""
    return all_key_set_keys()


def resolve_apps(entries: Iterable[str]) -> tuple[list[str], list[str]]:
    """The configured apps as App IDs, for saving: ``(ids, problems)``.

    An ID must name an existing app, a name exactly one app (compared as Saleor's
    Dashboard shows them, case-insensitively): two apps may share a name, and the
    courier's must not be confused with another one. Problems are messages for the
    Dashboard; they never hold more than app names and IDs.
    """
    wanted: list[tuple[str, str | None]] = [(entry, app_pk(entry)) for entry in entries]
    pks = {int(pk) for _, pk in wanted if pk is not None}
    names = {entry.casefold() for entry, pk in wanted if pk is None}
    query = Q(pk__in=pks)
    for name in names:
        query |= Q(name__iexact=name)
    found: dict[str, list[str]] = {}
    known: set[str] = set()
    if wanted:
        for pk, name in (
            App.objects.filter(query, removed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "name")
        ):
            known.add(str(pk))
            found.setdefault((name or "").casefold(), []).append(str(pk))
    ids: list[str] = []
    problems: list[str] = []
    for entry, pk in wanted:
        if pk is not None:
            if pk in known:
                ids.append(pk)
            else:
                problems.append(f"No app has the ID {pk}.")
            continue
        matching = found.get(entry.casefold(), [])
        if len(matching) == 1:
            ids.append(matching[0])
        elif not matching:
            problems.append(f"No app is named '{entry}'.")
        else:
            problems.append(
                f"{len(matching)} apps are named '{entry}' (IDs "
                f"{', '.join(matching)}): enter the ID of the one allowed."
            )
    return list(dict.fromkeys(ids)), problems


def sync_parcel_statuses(order_id: uuid.UUID | str) -> None:
    """Mirror each parcel code's status onto its fulfillment's public metadata."""
    from .models import DeliveryCode

    for fulfillment_id, status in (
        DeliveryCode.objects.filter(order_id=order_id, fulfillment_id__isnull=False)
        .exclude(status=CodeStatus.SUPERSEDED)
        .values_list("fulfillment_id", "status")
    ):
        if fulfillment_id is not None:
            set_parcel_status(fulfillment_id, status)


def accessible_channels(user: User) -> frozenset[str] | None:
    """The slugs of the channels a staff member may act in; None for every channel.

    Saleor's rule (``get_user_accessible_channels`` and its data loader in
    saleor/graphql/account): a member of any permission group without
    ``restrictedAccessToChannels`` reaches every channel; otherwise the union of
    the channels of her groups (none without groups). One query here, where
    Saleor's loader runs four or five: this runs on every staff request.
    """
    rows = Group.objects.filter(user=user).values_list(
        "restricted_access_to_channels", "channels__slug"
    )
    slugs: set[str] = set()
    for restricted, slug in rows:
        if not restricted:
            return None
        if slug is not None:
            slugs.add(slug)
    return frozenset(slugs)


def _app_requestor(request: HttpRequest) -> Requestor:
    """The App behind an App token, looked up as Saleor's API does and then kept
    for ``DELIVERY_OTP_APP_TOKEN_CACHE`` under the token's digest. Only tokens
    that name an active app are kept: a stranger's guesses cost a look-up each."""
    token = get_token_from_request(request) or ""
    ttl = otp_settings.DELIVERY_OTP_APP_TOKEN_CACHE.total_seconds()
    key = "delivery-otp:app-token:" + hashlib.sha256(token.encode()).hexdigest()
    if ttl > 0 and token:
        try:
            known = cache.get(key)
        except Exception as exc:  # the cache is an optimisation, never a gate
            logger.warning("Delivery-code API: cache failed (%s).", type(exc).__name__)
            known = None
        if known is not None:
            return Requestor(RequestorKind.APP, known[0], known[1])
    try:
        app = promise_app(request).get()
    except Exception as exc:
        logger.info("Delivery-code API: app token refused (%s).", type(exc).__name__)
        return ANONYMOUS
    if app is None:
        return ANONYMOUS
    if ttl > 0:
        try:
            cache.set(key, (str(app.pk), app.name), ttl)
        except Exception as exc:
            logger.warning("Delivery-code API: cache failed (%s).", type(exc).__name__)
    # An app acts by the channel's list of apps allowed to verify, not by its
    # permissions: no permission query on the courier's hot path.
    return Requestor(RequestorKind.APP, str(app.pk), app.name)


class SaleorHost:
    """:class:`saleor_delivery_otp.host.Host` for a real Saleor: its tokens, orders,
    apps, plugin configuration and order timeline.

    One instance serves one request, so what it reads of the configuration is read
    once per request however often the API asks.
    """

    def __init__(self, loaded: Mapping[str, ChannelConfig | None] | None = None):
        """``loaded``: configurations Saleor already parsed for this request (the
        plugin instance's own channel), so they are not read again."""
        self._configs: dict[str, ChannelConfig | None] = dict(loaded or {})
        self._settings: dict[str, ChannelSettings | None] = {}
        self._keyring: Keyring | None = None

    def requestor(self, request: HttpRequest) -> Requestor:
        """The customer, staff member or App behind ``Authorization: Bearer``.

        JWTs (customers, staff) are checked by Saleor's own backend; App tokens
        are looked up like Saleor's API does. A bad or expired token is anonymous.
        """
        try:
            user = load_user_from_request(request)
        except Exception as exc:
            logger.info("Delivery-code API: token refused (%s).", type(exc).__name__)
            return ANONYMOUS
        if user is not None:
            if user.is_staff:
                can_manage_orders = user.has_perm(OrderPermissions.MANAGE_ORDERS)
                return Requestor(
                    RequestorKind.STAFF,
                    str(user.pk),
                    user.get_full_name() or user.email,
                    user.email,
                    can_manage_orders=can_manage_orders,
                    channels=accessible_channels(user) if can_manage_orders else None,
                )
            return Requestor(
                RequestorKind.CUSTOMER,
                str(user.pk),
                user.get_full_name() or user.email,
                user.email,
            )
        return _app_requestor(request)

    def order(self, order_id: uuid.UUID) -> OrderFacts | None:
        order = (
            Order.objects.select_related("channel", "user")
            .only(
                "id", "number", "status", "user_email", "channel__slug", "user__email"
            )
            .filter(pk=order_id)
            .exclude(status=OrderStatus.DRAFT)
            .first()
        )
        if order is None:
            return None
        return OrderFacts(
            id=order.pk,
            channel=order.channel.slug,
            email=order.get_customer_email() or "",
            user_id=str(order.user_id) if order.user_id else None,
            number=str(order.number),
        )

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        if channel not in self._settings:
            if channel not in self._configs:
                self._configs[channel] = channel_config(channel)
            config = self._configs[channel]
            if config is not None and config.app_names:
                logger.error(
                    "Channel %s lists apps by name (%s); only App IDs allow an app "
                    "to verify. Save the channel's delivery-code configuration to "
                    "turn the names into IDs.",
                    channel,
                    ", ".join(config.app_names),
                )
            self._settings[channel] = (
                None
                if config is None
                else ChannelSettings(
                    limits=config.limits,
                    verifying_apps=config.app_ids,
                    shop_phone=config.driver_phone,
                )
            )
        return self._settings[channel]

    def active_channels(self) -> list[str]:
        """The channels where the plugin is on. Their configurations come in the
        same query and are kept, so the channel-less route asks the database once
        whatever the number of channels."""
        rows = PluginConfiguration.objects.filter(
            identifier=c.PLUGIN_ID, active=True, channel__isnull=False
        ).values_list("channel__slug", "configuration", "channel__currency_code")
        slugs = []
        for slug, items, currency in rows:
            if slug not in self._configs:
                self._configs[slug] = _parsed_config(slug, items, currency)
            slugs.append(slug)
        return slugs

    def keyring(self) -> Keyring:
        if self._keyring is None:
            # The settings' keys, newest (current) first, then every key set's.
            server = [key.secret for key in Keyring.from_settings()._keys.values()]
            # Derived once per set of keys (codes._keyring), not once per request:
            # the key sets come from the settings, so the set rarely changes.
            self._keyring = codes._keyring(
                tuple(dict.fromkeys([*server, *all_channel_keys()]))
            )
        return self._keyring

    def issuing_keyring(self, channel: str) -> Keyring:
        keys = channel_keys(channel)
        return codes._keyring(tuple(keys)) if keys else Keyring.from_settings()

    def timeline(self, order_id: uuid.UUID, message: str, requestor: Requestor) -> None:
        """Queued, not written here: the courier's verify is a hot path, and the
        entry and the parcels' status metadata can follow on a worker."""
        from . import order_events

        order_events.queue_api_timeline(
            order_id, message, str(requestor.kind), requestor.identifier
        )


def write_api_timeline(
    order_id: uuid.UUID | str, message: str, actor_kind: str, actor_id: str
) -> None:
    """The timeline entry of an API action, carrying the staff member or App who
    acted, for the Dashboard; then each parcel's status metadata is brought up to
    date."""
    order = Order.objects.only("id").filter(pk=order_id).first()
    if order is None:
        return
    user = app = None
    if actor_kind == RequestorKind.STAFF and actor_id.isdigit():
        user = User.objects.filter(pk=int(actor_id)).first()
    elif actor_kind == RequestorKind.APP and actor_id.isdigit():
        app = App.objects.filter(pk=int(actor_id)).first()
    external_notification_event(
        order=order,
        user=user,
        app=app,
        message=message,
        parameters={"delivery_otp_event": "api"},
    )
    sync_parcel_statuses(order_id)


def keyring() -> Keyring:
    """Every key any code of this shop may be under: ``DELIVERY_OTP_KEYS`` (its
    first one current) plus every channel's own keys. For code that opens or checks
    an existing code outside the API (the e-mail tasks)."""
    return SaleorHost().keyring()

"""Saleor's webhook payloads as the flows' plain data.

A payload is the JSON Saleor renders from the webhook's subscription query
(:mod:`.subscriptions`), parsed (``json.loads``; ``parse_float=Decimal`` keeps
prices exact, plain floats are read through their shortest repr). Each reader here
gives what :mod:`saleor_delivery_otp.plugin.readers` gives for the same Saleor
objects, field for field:

* :func:`order_data` (ORDER_CREATED): a draft (status ``DRAFT``) only its id and
  channel, ``is_placed=False``; else its number, currency, lines, reader, and
  ``sends_confirmation=False`` for a draft completed by staff (origin ``DRAFT``);
* :func:`order_brief` (the order-closed events): its id and channel;
* :func:`parcel_brief` (tracking number updated, canceled): the fulfillment's id,
  its order's id, channel and currency, ``is_shipped`` (status ``FULFILLED``), its
  tracking number, ``sends_confirmation``;
* :func:`parcel_data` (FULFILLMENT_CREATED, FULFILLMENT_APPROVED): the brief, and
  for a parcel on its way its lines (the quantities it ships) and reader;
* a line: the order line's id, unit gross price, the order's currency, quantity,
  shipping required, product type slug, the slugs of its category and all of its
  ancestors (sorted: the policy reads them as a set), the product's
  ``delivery_otp`` flag (anything but ``always``/``never`` reads as default). A
  line whose variant is gone has no category, type or flag, as in the plugin;
* the reader: the account's id ("" for a guest) and the order's e-mail (the
  order's ``userEmail``, else the account's, as ``Order.get_customer_email``).

Saleor's ids are global ids (``Order:<uuid>``, ``Fulfillment:<int>``,
``OrderLine:<uuid>``, ``User:<int>``, ``App:<int>``), decoded here into the plugin's
values. A payload that is not what the query gives (a missing or mistyped field, a
foreign id, a truncated list) raises :class:`PayloadError`, never a ``KeyError``;
its message names the field, never its value.

Status, origin and language are read by their enum names; an enum value this
version does not list is read as the plugin reads it (a status other than
``DRAFT``: placed; other than ``FULFILLED``: not shipped), so a newer Saleor does
not stop the App.
"""

from __future__ import annotations

import binascii
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql_relay import from_global_id

from .. import flows
from ..emails.context import ParcelItem
from ..exceptions import InvalidInput
from ..policy import Line, ProductFlag
from ..ports import OrderData, ParcelData
from ..service import Reader
from .subscriptions import EVENT_TYPENAMES

# The enum names the readers act on (Saleor's OrderStatusEnum, OrderOriginEnum,
# FulfillmentStatus).
DRAFT = "DRAFT"
FULFILLED = "FULFILLED"

_ENUM_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_EVENTS_BY_TYPENAME = {name: event for event, name in EVENT_TYPENAMES.items()}


class PayloadError(ValueError):
    """A webhook payload is not what its subscription query gives. The message
    names the field (``order.lines[1].quantity``), never a value."""


# --- the payload's parts --------------------------------------------------------


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{path} must be an object.")
    return value


def _field(parent: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in parent:
        raise PayloadError(f"{_join(path, key)} is missing.")
    return parent[key]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _child(parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    return _object(_field(parent, key, path), _join(path, key))


def _optional_child(
    parent: Mapping[str, Any], key: str, path: str
) -> Mapping[str, Any] | None:
    value = _field(parent, key, path)
    return None if value is None else _object(value, _join(path, key))


def _list(parent: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
    value = _field(parent, key, path)
    if not isinstance(value, list | tuple):
        raise PayloadError(f"{_join(path, key)} must be a list.")
    return value


def _str(parent: Mapping[str, Any], key: str, path: str, *, empty: bool = True) -> str:
    value = _field(parent, key, path)
    if not isinstance(value, str) or (not empty and not value.strip()):
        kind = "a string" if empty else "a non-empty string"
        raise PayloadError(f"{_join(path, key)} must be {kind}.")
    return value


def _optional_str(parent: Mapping[str, Any], key: str, path: str) -> str:
    """A nullable string field: "" for null."""
    value = _field(parent, key, path)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{_join(path, key)} must be a string or null.")
    return value


def _enum(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = _field(parent, key, path)
    if not isinstance(value, str) or not _ENUM_NAME.fullmatch(value):
        raise PayloadError(f"{_join(path, key)} must be an enum name.")
    return value


def _int(parent: Mapping[str, Any], key: str, path: str) -> int:
    value = _field(parent, key, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"{_join(path, key)} must be a whole number, 0 or more.")
    return value


def _amount(parent: Mapping[str, Any], key: str, path: str) -> Decimal:
    value = _field(parent, key, path)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PayloadError(f"{_join(path, key)} must be a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError(f"{_join(path, key)} must be a finite number.")
    try:
        # A float through its shortest repr: 19.99, not 19.989999999999998...
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise PayloadError(f"{_join(path, key)} must be a number.") from None
    if not amount.is_finite() or amount < 0:
        raise PayloadError(f"{_join(path, key)} must be a finite number, 0 or more.")
    return amount


def _global_id(parent: Mapping[str, Any], key: str, path: str, type_name: str) -> str:
    """The id inside a global id of ``type_name``."""
    where = _join(path, key)
    value = _field(parent, key, path)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{where} must be a {type_name} id.")
    try:
        found_type, found_id = from_global_id(value)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise PayloadError(f"{where} is not a Saleor global id.") from None
    if found_type != type_name or not found_id:
        raise PayloadError(f"{where} must be a {type_name} id.")
    return str(found_id)


def _uuid_id(
    parent: Mapping[str, Any], key: str, path: str, type_name: str
) -> uuid.UUID:
    raw = _global_id(parent, key, path, type_name)
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise PayloadError(f"{_join(path, key)} must be a {type_name} id.") from None


def _int_id(parent: Mapping[str, Any], key: str, path: str, type_name: str) -> int:
    raw = _global_id(parent, key, path, type_name)
    if not raw.isascii() or not raw.isdigit():
        raise PayloadError(f"{_join(path, key)} must be a {type_name} id.")
    return int(raw)


# --- the envelope ---------------------------------------------------------------


def event_of(payload: object) -> str:
    """The event a payload was rendered for (``ORDER_CREATED``), from its
    ``__typename``."""
    body = _object(payload, "payload")
    typename = _str(body, "__typename", "")
    try:
        return _EVENTS_BY_TYPENAME[typename]
    except KeyError:
        raise PayloadError("__typename names no event of the App.") from None


def recipient_id(payload: object) -> str:
    """The id of the App the payload was rendered for (``App:<id>``'s id)."""
    recipient = _child(_object(payload, "payload"), "recipient", "")
    return str(_int_id(recipient, "id", "recipient", "App"))


def deleted_app_id(payload: object) -> str:
    """APP_DELETED: the id of the App deleted."""
    app = _child(_object(payload, "payload"), "app", "")
    return str(_int_id(app, "id", "app", "App"))


# --- orders ---------------------------------------------------------------------


def _order(payload: object) -> Mapping[str, Any]:
    return _child(_object(payload, "payload"), "order", "")


def _channel_slug(order: Mapping[str, Any]) -> str:
    return _str(_child(order, "channel", "order"), "slug", "order.channel", empty=False)


def _currency(order: Mapping[str, Any]) -> str:
    return _str(_child(order, "total", "order"), "currency", "order.total", empty=False)


def _sends_confirmation(order: Mapping[str, Any]) -> bool:
    return _enum(order, "origin", "order") != DRAFT


def order_global_id(payload: object) -> str:
    """The global ID of the order a flow event's payload is about (checked as one:
    ``Order:<uuid>``)."""
    order = _order(payload)
    _uuid_id(order, "id", "order", "Order")
    return str(order["id"])


def order_brief(payload: object) -> OrderData:
    """The order without its lines."""
    order = _order(payload)
    return OrderData(
        id=_uuid_id(order, "id", "order", "Order"), channel_slug=_channel_slug(order)
    )


def order_data(payload: object) -> OrderData:
    """ORDER_CREATED: the order and its lines; a draft without them."""
    order = _order(payload)
    brief = order_brief(payload)
    if _enum(order, "status", "order") == DRAFT:
        return replace(brief, is_placed=False)
    currency = _currency(order)
    lines = tuple(
        _line(line, path, currency=currency, quantity=_int(line, "quantity", path))
        for path, line in _order_lines(order)
    )
    return replace(
        brief,
        number=_number(order),
        currency=currency,
        lines=lines,
        reader=reader_of(payload),
        sends_confirmation=_sends_confirmation(order),
    )


def _order_lines(order: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (f"order.lines[{index}]", _object(line, f"order.lines[{index}]"))
        for index, line in enumerate(_list(order, "lines", "order"))
    ]


def _number(order: Mapping[str, Any]) -> int:
    number = _str(order, "number", "order")
    if not number.isascii() or not number.isdigit():
        raise PayloadError("order.number must be a whole number.")
    return int(number)


def reader_of(payload: object) -> Reader:
    """Who the order's codes are for now: its account and the address its e-mails
    go to (``userEmail``, else the account's e-mail)."""
    order = _order(payload)
    user = _optional_child(order, "user", "order")
    email = _optional_str(order, "userEmail", "order")
    customer_id = ""
    if user is not None:
        customer_id = str(_int_id(user, "id", "order.user", "User"))
        email = email or _optional_str(user, "email", "order.user")
    try:
        return Reader(customer_id=customer_id, email=email)
    except InvalidInput:
        raise PayloadError("order.userEmail is not a usable e-mail address.") from None


# --- lines ----------------------------------------------------------------------


def _flag(value: str) -> ProductFlag:
    try:
        return ProductFlag(value.strip().lower())
    except ValueError:
        return ProductFlag.DEFAULT


def _line(line: Mapping[str, Any], path: str, *, currency: str, quantity: int) -> Line:
    gross = _child(_child(line, "unitPrice", path), "gross", f"{path}.unitPrice")
    category_slugs: tuple[str, ...] = ()
    product_type: str | None = None
    flag = ProductFlag.DEFAULT
    variant = _optional_child(line, "variant", path)
    if variant is not None:
        where = f"{path}.variant.product"
        product = _child(variant, "product", f"{path}.variant")
        product_type = _str(
            _child(product, "productType", where),
            "slug",
            f"{where}.productType",
            empty=False,
        )
        category = _optional_child(product, "category", where)
        if category is not None:
            category_slugs = _category_slugs(category, f"{where}.category")
        flag = _flag(_optional_str(product, "flag", where))
    return Line(
        line_id=str(_uuid_id(line, "id", path, "OrderLine")),
        unit_price_gross=_amount(gross, "amount", f"{path}.unitPrice.gross"),
        currency=currency,
        quantity=quantity,
        category_slugs=category_slugs,
        product_type_slug=product_type,
        flag=flag,
        is_shipping_required=_bool(line, "isShippingRequired", path),
    )


def _bool(parent: Mapping[str, Any], key: str, path: str) -> bool:
    value = _field(parent, key, path)
    if not isinstance(value, bool):
        raise PayloadError(f"{_join(path, key)} must be true or false.")
    return value


def _category_slugs(category: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The category's slug and its ancestors', sorted."""
    ancestors = _child(category, "ancestors", path)
    where = f"{path}.ancestors"
    if _bool(_child(ancestors, "pageInfo", where), "hasNextPage", f"{where}.pageInfo"):
        raise PayloadError(f"{where} is cut short: the category tree is too deep.")
    slugs = {_str(category, "slug", path, empty=False)}
    for index, edge in enumerate(_list(ancestors, "edges", where)):
        edge_path = f"{where}.edges[{index}]"
        node = _child(_object(edge, edge_path), "node", edge_path)
        slugs.add(_str(node, "slug", f"{edge_path}.node", empty=False))
    return tuple(sorted(slugs))


# --- parcels --------------------------------------------------------------------


def _fulfillment(payload: object) -> Mapping[str, Any]:
    return _child(_object(payload, "payload"), "fulfillment", "")


def parcel_brief(payload: object) -> ParcelData:
    """The parcel without its lines."""
    fulfillment = _fulfillment(payload)
    order = _order(payload)
    return ParcelData(
        id=_int_id(fulfillment, "id", "fulfillment", "Fulfillment"),
        order_id=_uuid_id(order, "id", "order", "Order"),
        channel_slug=_channel_slug(order),
        currency=_currency(order),
        is_shipped=_enum(fulfillment, "status", "fulfillment") == FULFILLED,
        tracking_number=_str(fulfillment, "trackingNumber", "fulfillment"),
        sends_confirmation=_sends_confirmation(order),
    )


def parcel_data(payload: object) -> ParcelData:
    """FULFILLMENT_CREATED, FULFILLMENT_APPROVED: the parcel and the quantities it
    ships; a parcel not on its way (waiting for approval) without them."""
    brief = parcel_brief(payload)
    if not brief.is_shipped:
        return brief
    lines = tuple(
        _line(
            _child(item, "orderLine", path),
            f"{path}.orderLine",
            currency=brief.currency,
            quantity=_int(item, "quantity", path),
        )
        for path, item in _parcel_lines(payload)
    )
    return replace(brief, lines=lines, reader=reader_of(payload))


def _parcel_lines(payload: object) -> list[tuple[str, Mapping[str, Any]]]:
    fulfillment = _fulfillment(payload)
    value = _field(fulfillment, "lines", "fulfillment")
    items = [] if value is None else _list(fulfillment, "lines", "fulfillment")
    return [
        (f"fulfillment.lines[{index}]", _object(item, f"fulfillment.lines[{index}]"))
        for index, item in enumerate(items)
    ]


# --- what the code e-mail says --------------------------------------------------


@dataclass(frozen=True)
class MailFacts:
    """What the code e-mail says about the order, as
    :mod:`saleor_delivery_otp.plugin.mail` reads it from Saleor."""

    order_number: str
    # Saleor's stored code ("en", "pt-br"), from the enum name.
    language_code: str
    # The account's first name, else the billing address's.
    customer_name: str
    # Each line's id and how the e-mail names it: the order's lines, or the
    # parcel's with the quantities it ships.
    items: tuple[tuple[str, ParcelItem], ...] = ()
    parcel_number: int | None = None


def language_code(enum_name: str) -> str:
    """Saleor's language code from its ``LanguageCodeEnum`` name
    (``PT_BR`` -> ``pt-br``)."""
    return enum_name.lower().replace("_", "-")


def _item(line: Mapping[str, Any], path: str, quantity: int) -> tuple[str, ParcelItem]:
    product = _str(line, "translatedProductName", path) or _str(
        line, "productName", path
    )
    variant = _str(line, "translatedVariantName", path) or _str(
        line, "variantName", path
    )
    line_id = str(_uuid_id(line, "id", path, "OrderLine"))
    return line_id, ParcelItem.of(product, variant, quantity)


def mail_facts(payload: object) -> MailFacts:
    """ORDER_CREATED, FULFILLMENT_CREATED, FULFILLMENT_APPROVED: what the code
    e-mail needs of the order (and of the parcel)."""
    body = _object(payload, "payload")
    order = _order(payload)
    customer = ""
    user = _optional_child(order, "user", "order")
    if user is not None:
        customer = _optional_str(user, "firstName", "order.user")
    billing = _optional_child(order, "billingAddress", "order")
    if not customer and billing is not None:
        customer = _optional_str(billing, "firstName", "order.billingAddress")
    parcel_number: int | None = None
    if "fulfillment" in body:
        fulfillment = _fulfillment(payload)
        parcel_number = _int(fulfillment, "fulfillmentOrder", "fulfillment")
        items = tuple(
            _item(
                _child(item, "orderLine", path),
                f"{path}.orderLine",
                _int(item, "quantity", path),
            )
            for path, item in _parcel_lines(payload)
        )
    else:
        items = tuple(
            _item(line, path, _int(line, "quantity", path))
            for path, line in _order_lines(order)
        )
    return MailFacts(
        order_number=str(_number(order)),
        language_code=language_code(_enum(order, "languageCodeEnum", "order")),
        customer_name=customer,
        items=items,
        parcel_number=parcel_number,
    )


# --- events ---------------------------------------------------------------------

# Each Saleor event the flows run on: the flow's event name and the reader.
READERS: Mapping[str, tuple[str, Callable[[object], OrderData | ParcelData]]] = {
    "ORDER_CREATED": (flows.ORDER_CREATED, order_data),
    "FULFILLMENT_CREATED": (flows.FULFILLMENT_CREATED, parcel_data),
    "FULFILLMENT_APPROVED": (flows.FULFILLMENT_APPROVED, parcel_data),
    "FULFILLMENT_TRACKING_NUMBER_UPDATED": (
        flows.TRACKING_NUMBER_UPDATED,
        parcel_brief,
    ),
    "FULFILLMENT_CANCELED": (flows.FULFILLMENT_CANCELED, parcel_brief),
    "ORDER_CANCELLED": (flows.ORDER_CANCELLED, order_brief),
    "ORDER_EXPIRED": (flows.ORDER_EXPIRED, order_brief),
    "ORDER_FULLY_REFUNDED": (flows.ORDER_FULLY_REFUNDED, order_brief),
}


def read(event: str, payload: object) -> tuple[str, OrderData | ParcelData]:
    """A flow event's payload as the flow's event name and its plain data.
    ``event`` is the event Saleor says it sent (its ``Saleor-Event`` header, any
    case); the payload's own ``__typename`` must name the same event."""
    name = event.upper() if isinstance(event, str) else ""
    if name not in READERS:
        raise PayloadError("The event is not one the flows run on.")
    if event_of(payload) != name:
        raise PayloadError("__typename names another event than the one sent.")
    flow_event, reader = READERS[name]
    return flow_event, reader(payload)

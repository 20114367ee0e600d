"""What each webhook of the App carries: the subscription query Saleor runs for it.

Saleor renders a webhook's payload from the query the manifest declares for it
(``saleor/graphql/webhook/subscription_payload.py``), with the permissions of the
App receiving it. Each query below fetches what :mod:`.payloads` turns into the
flows' plain data, as :mod:`saleor_delivery_otp.plugin.readers` reads it from
Saleor's models, and nothing else:

* every payload: ``__typename`` (the event, inside the signed body: a body signed
  for one event cannot be replayed as another) and ``recipient { id }`` (the App it
  was rendered for: one installation's body cannot be replayed to another's);
* an order placed (ORDER_CREATED): its id, number, status (a draft gets no code),
  origin (a draft completed by staff gets no confirmation), channel, currency, the
  customer's account id and the order's e-mail (the reader a code is pinned to),
  and every line: unit gross price, quantity, shipping required, product type,
  category with all its ancestors, the product's ``delivery_otp`` public metadata;
* a parcel shipped (FULFILLMENT_CREATED, FULFILLMENT_APPROVED): the same for the
  fulfillment's lines (the quantities it ships), its status and tracking number;
* a parcel's tracking number changed or the parcel canceled: the fulfillment's id,
  status and tracking number, and its order's id, channel, currency and origin;
* an order closed (ORDER_CANCELLED, ORDER_EXPIRED, ORDER_FULLY_REFUNDED): the
  order's id and channel;
* the App deleted (APP_DELETED): the App's id.

The code e-mail's context rides along where a code is issued (ORDER_CREATED and
the two parcel events), as :mod:`saleor_delivery_otp.plugin.mail` reads it: the
order's language, the customer's first name (the account's, else the billing
address's) and the items' names (translated, else the catalog's) and the parcel's
number. No other personal data: no address, no phone, no customer note.

Permissions: the ORDER_* and FULFILLMENT_* events need MANAGE_ORDERS, which also
lets the App see the lines' unpublished products (``OrderLine.variant``); without
it an unpublished product's category, type and flag would read as empty.

Categories: ``ancestors(first: 100)`` with ``pageInfo { hasNextPage }``, so a
deeper tree (Saleor sets no limit) is refused by the reader instead of read short.

``tests/saleor/test_app_subscriptions.py`` validates every query against Saleor's
schema and manifest rules; ``tests/saleor/capture_app_payloads.py`` renders them
for real orders into ``tests/app_payloads/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import constants as c


@dataclass(frozen=True)
class Webhook:
    """One webhook of the manifest: its name, the async event (Saleor's
    ``WebhookEventTypeAsyncEnum`` name) and the subscription query."""

    name: str
    event: str
    query: str


# --- fragments ------------------------------------------------------------------

_PRODUCT_FLAG = f'flag: metafield(key: "{c.PRODUCT_FLAG_METADATA_KEY}")'

# What the policy reads of a line, and the e-mail's names of it. ``quantity`` is
# the order line's; a parcel's quantities are its fulfillment lines'.
LINE_FIELDS = f"""
fragment DeliveryOtpLine on OrderLine {{
  id
  isShippingRequired
  unitPrice {{ gross {{ amount }} }}
  variant {{
    product {{
      productType {{ slug }}
      category {{
        slug
        ancestors(first: 100) {{
          edges {{ node {{ slug }} }}
          pageInfo {{ hasNextPage }}
        }}
      }}
      {_PRODUCT_FLAG}
    }}
  }}
  productName
  variantName
  translatedProductName
  translatedVariantName
}}
"""

# The order a code is issued for: who reads it, whether the shop confirms it.
ORDER_FIELDS = """
fragment DeliveryOtpOrder on Order {
  id
  number
  status
  origin
  channel { slug }
  total { currency }
  userEmail
  user { id email firstName }
  billingAddress { firstName }
  languageCodeEnum
}
"""

PARCEL_FIELDS = """
fragment DeliveryOtpParcel on Fulfillment {
  id
  status
  trackingNumber
  fulfillmentOrder
  lines {
    quantity
    orderLine { ...DeliveryOtpLine }
  }
}
"""

_ENVELOPE = "__typename\n    recipient { id }"


def _subscription(operation: str, event_type: str, body: str, *fragments: str) -> str:
    return (
        f"subscription {operation} {{\n"
        f"  event {{\n"
        f"    {_ENVELOPE}\n"
        f"    ... on {event_type} {{\n"
        f"{body}"
        f"    }}\n"
        f"  }}\n"
        f"}}\n" + "".join(fragments)
    )


ORDER_CREATED = _subscription(
    "DeliveryOtpOrderCreated",
    "OrderCreated",
    """      order {
        ...DeliveryOtpOrder
        lines { quantity ...DeliveryOtpLine }
      }
""",
    ORDER_FIELDS,
    LINE_FIELDS,
)


def _parcel_shipped(operation: str, event_type: str) -> str:
    return _subscription(
        operation,
        event_type,
        """      fulfillment { ...DeliveryOtpParcel }
      order { ...DeliveryOtpOrder }
""",
        ORDER_FIELDS,
        PARCEL_FIELDS,
        LINE_FIELDS,
    )


FULFILLMENT_CREATED = _parcel_shipped(
    "DeliveryOtpFulfillmentCreated", "FulfillmentCreated"
)
FULFILLMENT_APPROVED = _parcel_shipped(
    "DeliveryOtpFulfillmentApproved", "FulfillmentApproved"
)

# The parcel without its lines (the plugin's ``parcel_brief``).
_PARCEL_BRIEF_BODY = """      fulfillment { id status trackingNumber }
      order { id origin channel { slug } total { currency } }
"""

FULFILLMENT_TRACKING_NUMBER_UPDATED = _subscription(
    "DeliveryOtpFulfillmentTrackingNumberUpdated",
    "FulfillmentTrackingNumberUpdated",
    _PARCEL_BRIEF_BODY,
)
FULFILLMENT_CANCELED = _subscription(
    "DeliveryOtpFulfillmentCanceled", "FulfillmentCanceled", _PARCEL_BRIEF_BODY
)

# The order without its lines (the plugin's ``order_brief``).
_ORDER_BRIEF_BODY = "      order { id channel { slug } }\n"

ORDER_CANCELLED = _subscription(
    "DeliveryOtpOrderCancelled", "OrderCancelled", _ORDER_BRIEF_BODY
)
ORDER_EXPIRED = _subscription(
    "DeliveryOtpOrderExpired", "OrderExpired", _ORDER_BRIEF_BODY
)
ORDER_FULLY_REFUNDED = _subscription(
    "DeliveryOtpOrderFullyRefunded", "OrderFullyRefunded", _ORDER_BRIEF_BODY
)

APP_DELETED = _subscription("DeliveryOtpAppDeleted", "AppDeleted", "      app { id }\n")


WEBHOOKS: tuple[Webhook, ...] = (
    Webhook("Delivery codes: order created", "ORDER_CREATED", ORDER_CREATED),
    Webhook(
        "Delivery codes: fulfillment created",
        "FULFILLMENT_CREATED",
        FULFILLMENT_CREATED,
    ),
    Webhook(
        "Delivery codes: fulfillment approved",
        "FULFILLMENT_APPROVED",
        FULFILLMENT_APPROVED,
    ),
    Webhook(
        "Delivery codes: tracking number updated",
        "FULFILLMENT_TRACKING_NUMBER_UPDATED",
        FULFILLMENT_TRACKING_NUMBER_UPDATED,
    ),
    Webhook(
        "Delivery codes: fulfillment canceled",
        "FULFILLMENT_CANCELED",
        FULFILLMENT_CANCELED,
    ),
    Webhook("Delivery codes: order cancelled", "ORDER_CANCELLED", ORDER_CANCELLED),
    Webhook("Delivery codes: order expired", "ORDER_EXPIRED", ORDER_EXPIRED),
    Webhook(
        "Delivery codes: order fully refunded",
        "ORDER_FULLY_REFUNDED",
        ORDER_FULLY_REFUNDED,
    ),
    Webhook("Delivery codes: app deleted", "APP_DELETED", APP_DELETED),
)

# The GraphQL type of each event's payload, as ``__typename`` names it.
EVENT_TYPENAMES: dict[str, str] = {
    "ORDER_CREATED": "OrderCreated",
    "FULFILLMENT_CREATED": "FulfillmentCreated",
    "FULFILLMENT_APPROVED": "FulfillmentApproved",
    "FULFILLMENT_TRACKING_NUMBER_UPDATED": "FulfillmentTrackingNumberUpdated",
    "FULFILLMENT_CANCELED": "FulfillmentCanceled",
    "ORDER_CANCELLED": "OrderCancelled",
    "ORDER_EXPIRED": "OrderExpired",
    "ORDER_FULLY_REFUNDED": "OrderFullyRefunded",
    "APP_DELETED": "AppDeleted",
}

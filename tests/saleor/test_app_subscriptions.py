"""The App's subscription queries (saleor_delivery_otp/app/subscriptions.py) against
Saleor 3.23's own schema and rules.

Each query is validated as Saleor validates it when it installs an App: parsed and
validated against ``saleor.graphql.api.schema``, then by Saleor's
``SubscriptionQuery`` (one subscription, one top field, the events it names) and
by the manifest's webhook rules (``saleor.app.manifest_validations``, the code
``appInstall`` runs). Then, field by field with Saleor's types: no deprecated field
(a field Saleor may remove), and nothing read beyond the list below (the promise:
no customer data but the order's e-mail, the account id, and the e-mail's first
name and language).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from graphql import parse, validate
from graphql.language.visitor import TypeInfoVisitor, Visitor, visit
from graphql.utils.type_info import TypeInfo
from saleor.app.manifest_validations import _clean_webhooks
from saleor.graphql.api import schema
from saleor.graphql.core.enums import LanguageCodeEnum
from saleor.graphql.order.enums import (
    FulfillmentStatusEnum,
    OrderOriginEnum,
    OrderStatusEnum,
)
from saleor.graphql.webhook.enums import WebhookEventTypeAsyncEnum
from saleor.graphql.webhook.subscription_query import SubscriptionQuery
from saleor.graphql.webhook.subscription_types import WEBHOOK_TYPES_MAP
from saleor.order import FulfillmentStatus, OrderOrigin, OrderStatus

from saleor_delivery_otp.app import payloads
from saleor_delivery_otp.app.subscriptions import EVENT_TYPENAMES, WEBHOOKS

# Every field any query reads, by the GraphQL type it is read on.
ALLOWED_FIELDS: dict[str, set[str]] = {
    # The envelope of every event: which event, for which App.
    **{
        typename: {"__typename", "recipient", "order", "fulfillment", "app"}
        for typename in EVENT_TYPENAMES.values()
    },
    "App": {"id"},
    "Order": {
        "id",
        "number",
        "status",
        "origin",
        "channel",
        "total",
        "userEmail",
        "user",
        "billingAddress",
        "languageCodeEnum",
        "lines",
    },
    "Channel": {"slug"},
    "TaxedMoney": {"currency", "gross"},
    "Money": {"amount"},
    # The reader (account id, the order's e-mail) and the e-mail's greeting.
    "User": {"id", "email", "firstName"},
    "Address": {"firstName"},
    "OrderLine": {
        "id",
        "quantity",
        "isShippingRequired",
        "unitPrice",
        "variant",
        "productName",
        "variantName",
        "translatedProductName",
        "translatedVariantName",
    },
    "ProductVariant": {"product"},
    "Product": {"productType", "category", "metafield"},
    "ProductType": {"slug"},
    "Category": {"slug", "ancestors"},
    "CategoryCountableConnection": {"edges", "pageInfo"},
    "CategoryCountableEdge": {"node"},
    "PageInfo": {"hasNextPage"},
    "Fulfillment": {"id", "status", "trackingNumber", "fulfillmentOrder", "lines"},
    "FulfillmentLine": {"quantity", "orderLine"},
    "Subscription": {"event"},
    "Event": {"__typename", "recipient"},
}


def _fields_read(query: str) -> tuple[dict[str, set[str]], list[str]]:
    """The fields a query selects, by parent type, and the deprecated ones."""
    type_info = TypeInfo(schema)
    found: dict[str, set[str]] = defaultdict(set)
    deprecated: list[str] = []

    class Fields(Visitor):
        def enter_Field(self, node, *args):  # type: ignore[no-untyped-def]
            parent = type_info.get_parent_type()
            definition = type_info.get_field_def()
            found[parent.name].add(node.name.value)
            if definition is not None and definition.deprecation_reason:
                deprecated.append(f"{parent.name}.{node.name.value}")

    visit(parse(query), TypeInfoVisitor(type_info, Fields()))
    return found, deprecated


@pytest.mark.parametrize("webhook", WEBHOOKS, ids=lambda webhook: webhook.event)
def test_the_query_is_valid_in_saleors_schema(webhook):
    assert validate(schema, parse(webhook.query)) == []


@pytest.mark.parametrize("webhook", WEBHOOKS, ids=lambda webhook: webhook.event)
def test_saleor_accepts_it_as_the_subscription_of_its_event(webhook):
    subscription = SubscriptionQuery(webhook.query)

    assert subscription.errors == []
    assert subscription.is_valid
    assert subscription.events == [webhook.event.lower()]
    assert webhook.event in WebhookEventTypeAsyncEnum._meta.enum.__members__
    # __typename in the payload names the event's own type.
    assert (
        WEBHOOK_TYPES_MAP[webhook.event.lower()]._meta.name
        == EVENT_TYPENAMES[webhook.event]
    )


def test_the_manifest_rules_accept_every_webhook():
    """What appInstall checks of a manifest's webhooks (names, events, queries)."""
    manifest = {
        "webhooks": [
            {
                "name": webhook.name,
                "asyncEvents": [webhook.event],
                "query": webhook.query,
                "targetUrl": "https://app.example.com/api/webhooks",
            }
            for webhook in WEBHOOKS
        ]
    }
    errors: dict[str, list] = defaultdict(list)

    _clean_webhooks(manifest, errors)

    assert dict(errors) == {}
    assert [webhook["events"] for webhook in manifest["webhooks"]] == [
        [webhook.event.lower()] for webhook in WEBHOOKS
    ]


def test_one_webhook_per_event_the_app_needs():
    assert [webhook.event for webhook in WEBHOOKS] == [
        "ORDER_CREATED",
        "FULFILLMENT_CREATED",
        "FULFILLMENT_APPROVED",
        "FULFILLMENT_TRACKING_NUMBER_UPDATED",
        "FULFILLMENT_CANCELED",
        "ORDER_CANCELLED",
        "ORDER_EXPIRED",
        "ORDER_FULLY_REFUNDED",
        "APP_DELETED",
    ]
    assert set(EVENT_TYPENAMES) == {webhook.event for webhook in WEBHOOKS}
    assert len({webhook.name for webhook in WEBHOOKS}) == len(WEBHOOKS)


@pytest.mark.parametrize("webhook", WEBHOOKS, ids=lambda webhook: webhook.event)
def test_the_query_reads_nothing_more_and_nothing_deprecated(webhook):
    found, deprecated = _fields_read(webhook.query)

    assert deprecated == []
    extra = {
        parent: sorted(fields - ALLOWED_FIELDS.get(parent, set()))
        for parent, fields in found.items()
        if fields - ALLOWED_FIELDS.get(parent, set())
    }
    assert extra == {}


def test_the_allowlist_holds_no_other_personal_data():
    assert ALLOWED_FIELDS["User"] == {"id", "email", "firstName"}
    assert ALLOWED_FIELDS["Address"] == {"firstName"}


def test_the_readers_know_saleors_enums():
    """The enum names the readers act on are Saleor's, for the values the
    plugin's readers compare with."""
    assert OrderStatusEnum._meta.enum[payloads.DRAFT].value == OrderStatus.DRAFT
    assert OrderOriginEnum._meta.enum[payloads.DRAFT].value == OrderOrigin.DRAFT
    assert (
        FulfillmentStatusEnum._meta.enum[payloads.FULFILLED].value
        == FulfillmentStatus.FULFILLED
    )
    # The language codes' enum names turn back into Saleor's stored codes.
    for name, member in LanguageCodeEnum._meta.enum.__members__.items():
        assert payloads.language_code(name) == member.value

"""The Saleor App's manifest, judged by Saleor 3.23.28 itself: its validation
(``clean_manifest_data``, what ``appInstall`` and ``appFetchManifest`` run), its
installer (``install_app``, with the manifest fetch and the token's POST replaced),
and what the installed app may then do with MANAGE_ORDERS alone.
"""

from __future__ import annotations

import json
from unittest import mock

import graphene
import pytest
from django.core.exceptions import ValidationError
from saleor.app.installation_utils import install_app
from saleor.app.manifest_validations import (
    RequiredSaleorVersionSpec,
    clean_manifest_data,
)
from saleor.app.models import App, AppInstallation
from saleor.graphql.tests.fixtures import ApiClient
from saleor.graphql.tests.utils import get_graphql_content
from saleor.webhook.event_types import WebhookEventAsyncType
from saleor.webhook.utils import (
    get_webhooks_for_app_lifecycle_event,
    get_webhooks_for_event,
)
from semantic_version import Version

from saleor_delivery_otp import __version__
from saleor_delivery_otp.app import manifest

pytestmark = pytest.mark.django_db

APP_URL = "https://otp.example.com"

# A sample of what the webhooks' module will pass (its queries are its own).
WEBHOOKS = [
    {
        "name": "Delivery codes: order created",
        "asyncEvents": ["ORDER_CREATED"],
        "query": (
            "subscription { event { ... on OrderCreated { order { id number "
            "userEmail channel { slug } lines { id quantity } } } } }"
        ),
        "targetUrl": f"{APP_URL}/api/webhooks/order-created",
    },
    {
        "name": "Delivery codes: fulfillment created",
        "asyncEvents": ["FULFILLMENT_CREATED"],
        "query": (
            "subscription { event { ... on FulfillmentCreated { fulfillment { id "
            "status } order { id } } } }"
        ),
        "targetUrl": f"{APP_URL}/api/webhooks/fulfillment-created",
    },
    {
        "name": "Delivery codes: app deleted",
        "asyncEvents": ["APP_DELETED"],
        "query": "subscription { event { ... on AppDeleted { app { id } } } }",
        "targetUrl": f"{APP_URL}/api/webhooks/app-deleted",
    },
]


@pytest.fixture(autouse=True)
def app_url(settings):
    settings.DELIVERY_OTP_APP_URL = APP_URL


def served_manifest() -> dict:
    """As Saleor receives it: the JSON the manifest endpoint serves."""
    return json.loads(json.dumps(manifest.build_manifest(WEBHOOKS)))


def test_saleor_accepts_the_manifest():
    data = served_manifest()

    clean_manifest_data(data, raise_for_saleor_version=True)

    assert [p.codename for p in data["permissions"]] == ["manage_orders"]
    assert data["requiredSaleorVersion"] == {
        "constraint": manifest.REQUIRED_SALEOR_VERSION,
        "satisfied": True,
    }
    (widget,) = data["extensions"]
    assert (widget["mount"], widget["target"]) == ("order_details_widgets", "widget")
    assert [p.codename for p in widget["permissions"]] == ["manage_orders"]
    assert [w["events"] for w in data["webhooks"]] == [
        [WebhookEventAsyncType.ORDER_CREATED],
        [WebhookEventAsyncType.FULFILLMENT_CREATED],
        [WebhookEventAsyncType.APP_DELETED],
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # The validation is live: what it refuses, it refuses in our manifest too.
        (
            lambda m: m["extensions"][0].update(permissions=["MANAGE_APPS"]),
            "extensions",
        ),
        (lambda m: m.update(permissions=["MANAGE_EVERYTHING"]), "permissions"),
        (lambda m: m["webhooks"][0].update(query="subscription { nope }"), "webhooks"),
        (lambda m: m["webhooks"][0].update(asyncEvents=["NOPE"]), "webhooks"),
    ],
    ids=["extension-permission", "permission", "query", "event"],
)
def test_saleor_refuses_a_spoiled_manifest(change, field):
    data = served_manifest()
    change(data)

    with pytest.raises(ValidationError) as raised:
        clean_manifest_data(data)

    assert field in raised.value.error_dict


@pytest.mark.parametrize(
    ("version", "satisfied"),
    [
        ("3.23.28", True),
        ("3.23.5", True),
        ("3.24.0", True),
        # No own APP_DELETED without MANAGE_APPS before 3.23.5.
        ("3.23.4", False),
        ("3.22.67", False),
        ("4.0.0", False),
    ],
)
def test_the_required_saleor_version(version, satisfied):
    spec = RequiredSaleorVersionSpec(manifest.REQUIRED_SALEOR_VERSION)

    assert spec.match(Version(version)) is satisfied


@pytest.fixture
def installed(permission_manage_orders):
    """The App installed by Saleor's own installer from the served manifest; the
    token Saleor posts to tokenTargetUrl is captured instead."""
    installation = AppInstallation.objects.create(
        app_name="Delivery codes",
        manifest_url=f"{APP_URL}/{manifest.MANIFEST_PATH}",
    )
    # The Dashboard assigns the manifest's permissions to the installation.
    installation.permissions.set([permission_manage_orders])
    with (
        mock.patch(
            "saleor.app.installation_utils.fetch_manifest",
            return_value=served_manifest(),
        ),
        mock.patch("saleor.app.installation_utils.send_app_token") as send_token,
    ):
        app, token = install_app(installation, activate=True)
    send_token.assert_called_once_with(
        target_url=f"{APP_URL}/{manifest.REGISTER_PATH}", token=token
    )
    return app


def test_saleor_installs_the_app_from_the_manifest(installed):
    app = installed

    assert app.identifier == manifest.APP_IDENTIFIER
    assert app.version == __version__
    assert app.app_url == f"{APP_URL}/{manifest.CONFIGURATION_PATH}"
    assert [p.codename for p in app.permissions.all()] == ["manage_orders"]
    (widget,) = app.extensions.all()
    assert (widget.mount, widget.target) == ("order_details_widgets", "widget")
    assert widget.url == f"{APP_URL}/{manifest.ORDER_WIDGET_PATH}"
    assert widget.settings == {"widgetTarget": {"method": "POST"}}
    assert widget.http_target_method == "POST"
    assert sorted(w.target_url for w in app.webhooks.all()) == sorted(
        w["targetUrl"] for w in WEBHOOKS
    )


def test_the_installed_app_receives_its_events_with_manage_orders_alone(installed):
    for event in (
        WebhookEventAsyncType.ORDER_CREATED,
        WebhookEventAsyncType.FULFILLMENT_CREATED,
    ):
        assert {w.app_id for w in get_webhooks_for_event(event)} == {installed.pk}
    # Its own uninstallation too, without MANAGE_APPS (Saleor >= 3.23.5).
    lifecycle = get_webhooks_for_app_lifecycle_event(
        WebhookEventAsyncType.APP_DELETED, installed
    )
    assert [w.app_id for w in lifecycle] == [installed.pk]


def test_without_manage_orders_no_order_event_would_reach_it(installed):
    # The control: the permission is what Saleor checks.
    installed.permissions.clear()

    assert not get_webhooks_for_event(WebhookEventAsyncType.ORDER_CREATED).exists()


ORDER_QUERY = """
query ($id: ID!) { order(id: $id) { id userEmail lines { id } fulfillments { id } } }
"""
NOTE_ADD = """
mutation ($id: ID!) {
  orderNoteAdd(order: $id, input: {message: "Delivery code verified."}) {
    errors { field code }
  }
}
"""
UPDATE_METADATA = """
mutation ($id: ID!) {
  updateMetadata(id: $id, input: [{key: "delivery_otp.status", value: "verified"}]) {
    errors { field code }
    item { metadata { key value } }
  }
}
"""


def test_manage_orders_is_enough_for_what_the_app_does(installed, fulfilled_order):
    client = ApiClient(app=installed)
    order_id = graphene.Node.to_global_id("Order", fulfilled_order.pk)
    fulfillment = fulfilled_order.fulfillments.first()
    fulfillment_id = graphene.Node.to_global_id("Fulfillment", fulfillment.pk)

    order = get_graphql_content(client.post_graphql(ORDER_QUERY, {"id": order_id}))
    assert order["data"]["order"]["userEmail"] == fulfilled_order.user_email
    assert order["data"]["order"]["fulfillments"] == [{"id": fulfillment_id}]

    note = get_graphql_content(client.post_graphql(NOTE_ADD, {"id": order_id}))
    assert note["data"]["orderNoteAdd"]["errors"] == []

    meta = get_graphql_content(
        client.post_graphql(UPDATE_METADATA, {"id": fulfillment_id})
    )
    assert meta["data"]["updateMetadata"]["errors"] == []
    fulfillment.refresh_from_db()
    assert fulfillment.metadata["delivery_otp.status"] == "verified"


def test_without_manage_orders_the_app_may_do_none_of_it(installed, fulfilled_order):
    # The control: each call above is refused to the same app without it.
    installed.permissions.clear()
    client = ApiClient(app=App.objects.get(pk=installed.pk))
    order_id = graphene.Node.to_global_id("Order", fulfilled_order.pk)
    fulfillment_id = graphene.Node.to_global_id(
        "Fulfillment", fulfilled_order.fulfillments.first().pk
    )

    for query, variables in (
        (NOTE_ADD, {"id": order_id}),
        (UPDATE_METADATA, {"id": fulfillment_id}),
    ):
        content = json.loads(client.post_graphql(query, variables).content)
        codes = [e["extensions"]["exception"]["code"] for e in content["errors"]]
        assert codes == ["PermissionDenied"]

"""Installing and configuring the plugin as a shop owner does: entry point, Dashboard
(GraphQL ``pluginUpdate`` / ``plugin``), field-level errors, keys kept out of the
database, apps stored by ID."""

from __future__ import annotations

import importlib.metadata
import json
import logging

import pytest
from django.conf import settings as django_settings
from saleor.app.models import App
from saleor.graphql.tests.fixtures import ApiClient
from saleor.graphql.tests.utils import get_graphql_content
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration

from saleor_delivery_otp import codes, service
from saleor_delivery_otp import constants as c
from saleor_delivery_otp import plugin_config as pc
from saleor_delivery_otp.exceptions import ConfigurationError
from saleor_delivery_otp.plugin import DeliveryOTPPlugin

from .fixtures import PLUGIN_PATH, TEST_KEY, codes_of, global_id

PLUGIN_UPDATE = """
mutation pluginUpdate($id: ID!, $channel: ID, $active: Boolean,
                      $configuration: [ConfigurationItemInput!]) {
  pluginUpdate(id: $id, channelId: $channel,
               input: {active: $active, configuration: $configuration}) {
    plugin {
      channelConfigurations {
        active
        channel { slug }
        configuration { name value type label helpText }
      }
    }
    errors { field message }
    pluginsErrors { field code message }
  }
}
"""

PLUGIN_QUERY = """
query plugin($id: ID!) {
  plugin(id: $id) {
    id name description
    channelConfigurations {
      active
      channel { slug }
      configuration { name value type label helpText }
    }
  }
}
"""

KEY = "k" * 28 + "WXYZ"  # 32 characters; the API may show "WXYZ" only
OLD_KEY = "o" * 36 + "ABCD"


def test_installed_through_the_saleor_plugins_entry_point():
    entry_points = importlib.metadata.entry_points(group="saleor.plugins")

    assert any(
        ep.name == "saleor_delivery_otp"
        and ep.value == "saleor_delivery_otp.plugin:DeliveryOTPPlugin"
        for ep in entry_points
    )
    # What saleor/settings.py made of it at startup: the plugin after the built-in
    # ones, and the Django app (so `manage.py migrate` creates its tables).
    assert PLUGIN_PATH in django_settings.EXTERNAL_PLUGINS
    assert "saleor_delivery_otp" in django_settings.INSTALLED_APPS


def test_plugin_is_per_channel_and_off_until_switched_on(channel_USD):
    plugin = get_plugins_manager(allow_replica=False).get_plugin(
        c.PLUGIN_ID, channel_slug=channel_USD.slug
    )

    assert isinstance(plugin, DeliveryOTPPlugin)
    assert plugin.CONFIGURATION_PER_CHANNEL is True
    assert plugin.active is False
    assert {item["name"] for item in plugin.configuration} == set(pc.DEFAULTS)
    for item in plugin.configuration:
        assert item["label"] and item["help_text"]


def _update(client, channel, configuration, active=True):
    return get_graphql_content(
        client.post_graphql(
            PLUGIN_UPDATE,
            {
                "id": c.PLUGIN_ID,
                "channel": global_id("Channel", channel.pk),
                "active": active,
                "configuration": [
                    {"name": name, "value": value}
                    for name, value in configuration.items()
                ],
            },
        )
    )["data"]["pluginUpdate"]


def test_plugin_update_with_bad_values_gives_field_level_errors_and_saves_nothing(
    plugins_staff, channel_USD
):
    data = _update(
        plugins_staff,
        channel_USD,
        {
            c.THRESHOLD: "3 hundred",
            c.CODE_LENGTH: "11",
            c.MAX_ATTEMPTS: "0",
            c.PARCEL_RULE: "every_box",
            c.EMAIL_MODE: "sms",
            c.CATEGORY_SLUGS: "no-such-category",
            c.KEY_SET: KEY,
        },
    )

    errors = {error["field"]: error["message"] for error in data["errors"]}
    assert set(errors) == {
        c.THRESHOLD,
        c.CODE_LENGTH,
        c.MAX_ATTEMPTS,
        c.PARCEL_RULE,
        c.EMAIL_MODE,
        c.KEY_SET,
    }
    assert errors[c.CODE_LENGTH] == "Enter a whole number from 4 to 10."
    assert errors[c.KEY_SET] == (
        "This looks like a key: put the key in DELIVERY_OTP_CHANNEL_KEYS in the "
        "server's settings, name it here."
    )
    assert KEY not in str(data)
    assert {error["code"] for error in data["pluginsErrors"]} == {"INVALID"}
    assert data["plugin"] is None
    # Saleor creates the channel's row before it validates; none of the bad values
    # reached it and the plugin stays off.
    stored = PluginConfiguration.objects.filter(
        identifier=c.PLUGIN_ID, channel=channel_USD
    ).first()
    if stored is not None:
        assert stored.active is False
        values = {item["name"]: item["value"] for item in stored.configuration}
        assert values == pc.DEFAULTS


def test_unknown_category_slug_is_refused(plugins_staff, channel_USD, category):
    data = _update(
        plugins_staff,
        channel_USD,
        {c.CATEGORY_SLUGS: f"{category.slug}, smartphnes"},
    )

    assert data["errors"] == [
        {
            "field": c.CATEGORY_SLUGS,
            "message": "No category has the slug: smartphnes",
        }
    ]


def test_good_values_are_saved_with_apps_as_ids_and_the_key_set_by_name(
    settings, plugins_staff, channel_USD, category, app
):
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"us-2026": [KEY, OLD_KEY]}
    courier = App.objects.create(name="Courier app", is_active=True)
    data = _update(
        plugins_staff,
        channel_USD,
        {
            c.THRESHOLD: "299.99",
            c.CATEGORY_SLUGS: category.slug,
            c.PARCEL_RULE: "parcel_value",
            c.CODE_LENGTH: "8",
            c.EMAIL_MODE: "single",
            c.ALLOWED_APPS: f"courier APP, {app.pk}",
            c.KEY_SET: "us-2026",
        },
    )

    assert data["errors"] == []
    stored = PluginConfiguration.objects.get(
        identifier=c.PLUGIN_ID, channel=channel_USD
    )
    assert stored.active is True
    values = {item["name"]: item["value"] for item in stored.configuration}
    assert values[c.THRESHOLD] == "299.99"
    assert values[c.ALLOWED_APPS] == f"{courier.pk}, {app.pk}"
    assert values[c.KEY_SET] == "us-2026"
    assert values[c.EMAIL_MODE] == "single"

    plugin = get_plugins_manager(allow_replica=False).get_plugin(
        c.PLUGIN_ID, channel_slug=channel_USD.slug
    )
    config = plugin.channel_config
    assert config.limits.length == 8
    assert str(config.policy.parcel_rule) == "parcel_value"
    assert str(config.policy.thresholds["USD"]) == "299.99"
    assert config.keys == (KEY, OLD_KEY)
    assert config.app_ids == {str(courier.pk), str(app.pk)}


def test_a_database_dump_opens_no_code(
    settings, plugins_staff, channel_USD, catalog, make_checkout, complete_checkout
):
    """Everything Saleor's database holds, the plugin configuration included,
    opens no code: the channel's keys are in the settings, under a name."""
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"us-2026": [KEY]}
    # Also what an earlier version took: a key typed into the Dashboard.
    data = _update(
        plugins_staff,
        channel_USD,
        {c.THRESHOLD: "300", c.KEY_SET: "us-2026", "currentKey": OLD_KEY},
    )
    assert data["errors"] == []
    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))
    (record,) = codes_of(order)

    dump = json.dumps(list(PluginConfiguration.objects.values()), default=str)
    leaked = KEY in dump or OLD_KEY in dump
    assert not leaked, "a key is in Saleor's database"
    candidates = {
        item["value"]
        for row in PluginConfiguration.objects.all()
        for item in row.configuration
        if isinstance(item.get("value"), str)
        and len(item["value"]) >= codes.MIN_KEY_CHARS
    }
    for candidate in candidates:
        with pytest.raises(ConfigurationError):
            codes.Keyring([candidate]).open(record.id, record.key_id, record.sealed)
    # The channel's own key protects it, from the settings.
    assert record.key_id == codes.key_id_for(KEY.encode())


def test_an_unknown_key_set_is_refused_on_its_field(
    settings, plugins_staff, channel_USD
):
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"us-2026": [KEY]}

    data = _update(plugins_staff, channel_USD, {c.KEY_SET: "eu-2026"})

    assert data["errors"] == [
        {
            "field": c.KEY_SET,
            "message": "DELIVERY_OTP_CHANNEL_KEYS has no key set of that name (its "
            "sets: us-2026).",
        }
    ]


def test_keys_stored_by_an_earlier_version_are_never_used_and_go_once_moved(
    settings,
    caplog,
    plugins_staff,
    channel_USD,
    configure_otp,
    catalog,
    make_checkout,
    complete_checkout,
):
    stored = configure_otp(channel_USD, threshold="300")
    stored.configuration += [
        {"name": "currentKey", "value": KEY},
        {"name": "previousKeys", "value": OLD_KEY},
    ]
    stored.save(update_fields=["configuration"])
    caplog.set_level(logging.ERROR)

    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))

    (record,) = codes_of(order)
    assert record.key_id == codes.key_id_for(TEST_KEY.encode())
    assert f"Channel {channel_USD.slug} still stores delivery-code keys" in caplog.text
    assert "move them into a key set of DELIVERY_OTP_CHANNEL_KEYS" in caplog.text
    assert KEY not in caplog.text and OLD_KEY not in caplog.text

    # Saving keeps them while they exist nowhere else, deletes them once moved.
    assert _update(plugins_staff, channel_USD, {c.CODE_LENGTH: "7"})["errors"] == []
    stored.refresh_from_db()
    assert KEY in json.dumps(stored.configuration)
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"us-2026": [KEY, OLD_KEY]}
    data = _update(plugins_staff, channel_USD, {c.KEY_SET: "us-2026"})
    assert data["errors"] == []
    stored.refresh_from_db()
    dumped = json.dumps(stored.configuration)
    assert KEY not in dumped and OLD_KEY not in dumped
    assert "currentKey" not in dumped


def test_app_names_are_refused_unless_they_name_exactly_one_app(
    plugins_staff, channel_USD
):
    first = App.objects.create(name="Acme Courier", is_active=True)
    second = App.objects.create(name="acme courier", is_active=False)

    ambiguous = _update(plugins_staff, channel_USD, {c.ALLOWED_APPS: "ACME courier"})
    unknown = _update(plugins_staff, channel_USD, {c.ALLOWED_APPS: "DHL, 99999"})

    assert ambiguous["errors"] == [
        {
            "field": c.ALLOWED_APPS,
            "message": f"2 apps are named 'ACME courier' (IDs {first.pk}, "
            f"{second.pk}): enter the ID of the one allowed.",
        }
    ]
    assert unknown["errors"] == [
        {
            "field": c.ALLOWED_APPS,
            "message": "No app is named 'DHL'. No app has the ID 99999.",
        }
    ]


VERIFY = """
mutation verify($fulfillment: ID, $code: String!) {
  deliveryCodeVerify(fulfillmentId: $fulfillment, code: $code) {
    accepted errors { code }
  }
}
"""


def test_of_two_apps_named_alike_only_the_listed_id_verifies(
    plugins_staff,
    channel_USD,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
):
    courier = App.objects.create(name="Acme Courier", is_active=True)
    data = _update(
        plugins_staff, channel_USD, {c.THRESHOLD: "300", c.ALLOWED_APPS: "Acme Courier"}
    )
    assert data["errors"] == []
    # Installed later, by anyone who may install apps, with no permission at all.
    lookalike = App.objects.create(name="acme courier", is_active=True)
    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))
    (parcel,) = fulfill(order, {catalog.phone: 1})
    (record,) = codes_of(order)
    variables = {
        "fulfillment": global_id("Fulfillment", parcel.pk),
        "code": service.open_code(record),
    }
    route = f"/plugins/{c.PLUGIN_ID}/graphql/"

    refused = ApiClient(app=lookalike, api_path=route).post_graphql(VERIFY, variables)
    accepted = ApiClient(app=courier, api_path=route).post_graphql(VERIFY, variables)

    assert refused.json()["data"]["deliveryCodeVerify"] == {
        "accepted": False,
        "errors": [{"code": "PERMISSION_DENIED"}],
    }
    assert accepted.json()["data"]["deliveryCodeVerify"]["accepted"] is True

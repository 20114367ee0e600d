"""Installing and configuring the plugin as a shop owner does: entry point, Dashboard
(GraphQL ``pluginUpdate`` / ``plugin``), field-level errors, masked keys."""

from __future__ import annotations

import importlib.metadata

from django.conf import settings as django_settings
from saleor.graphql.tests.utils import get_graphql_content
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration

from saleor_delivery_otp import constants as c
from saleor_delivery_otp.plugin import DeliveryOTPPlugin

from .fixtures import PLUGIN_PATH, global_id

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
    assert {item["name"] for item in plugin.configuration} == set(c.DEFAULTS)
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
            c.CURRENT_KEY: "short-key-1234",
        },
    )

    errors = {error["field"]: error["message"] for error in data["errors"]}
    assert set(errors) == {
        c.THRESHOLD,
        c.CODE_LENGTH,
        c.MAX_ATTEMPTS,
        c.PARCEL_RULE,
        c.EMAIL_MODE,
        c.CURRENT_KEY,
    }
    assert errors[c.CODE_LENGTH] == "Enter a whole number from 4 to 10."
    assert "short-key-1234" not in str(data)
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
        assert values == c.DEFAULTS


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


def test_good_values_are_saved_and_keys_are_shown_masked(
    plugins_staff, channel_USD, category
):
    data = _update(
        plugins_staff,
        channel_USD,
        {
            c.THRESHOLD: "299.99",
            c.CATEGORY_SLUGS: category.slug,
            c.PARCEL_RULE: "parcel_value",
            c.CODE_LENGTH: "8",
            c.EMAIL_MODE: "single",
            c.ALLOWED_APPS: "Courier app, 17",
            c.CURRENT_KEY: KEY,
            c.PREVIOUS_KEYS: OLD_KEY,
        },
    )

    assert data["errors"] == []
    stored = PluginConfiguration.objects.get(
        identifier=c.PLUGIN_ID, channel=channel_USD
    )
    assert stored.active is True
    values = {item["name"]: item["value"] for item in stored.configuration}
    assert values[c.THRESHOLD] == "299.99"
    assert values[c.CURRENT_KEY] == KEY
    assert values[c.EMAIL_MODE] == "single"

    plugin = get_plugins_manager(allow_replica=False).get_plugin(
        c.PLUGIN_ID, channel_slug=channel_USD.slug
    )
    config = plugin.channel_config
    assert config.rules.length == 8
    assert str(config.policy.parcel_rule) == "parcel_value"
    assert config.policy.thresholds == {"USD": config.policy.thresholds["USD"]}
    assert str(config.policy.thresholds["USD"]) == "299.99"
    assert config.keys == (KEY, OLD_KEY)

    (shown,) = data["plugin"]["channelConfigurations"]
    shown_values = {item["name"]: item for item in shown["configuration"]}
    assert shown_values[c.CURRENT_KEY]["value"] == "WXYZ"
    assert shown_values[c.CURRENT_KEY]["type"] == "SECRET"
    assert shown_values[c.PREVIOUS_KEYS]["value"] == "ABCD"
    assert shown_values[c.PREVIOUS_KEYS]["type"] == "SECRETMULTILINE"
    assert KEY not in str(data) and OLD_KEY not in str(data)


def test_plugin_query_never_shows_the_keys(plugins_staff, channel_USD, configure_otp):
    configure_otp(channel_USD, current_key=KEY, previous_keys=OLD_KEY)

    response = plugins_staff.post_graphql(PLUGIN_QUERY, {"id": c.PLUGIN_ID})
    content = get_graphql_content(response)

    assert KEY not in response.content.decode()
    assert OLD_KEY not in response.content.decode()
    plugin = content["data"]["plugin"]
    assert plugin["name"] == c.PLUGIN_NAME
    (channel_config,) = [
        conf
        for conf in plugin["channelConfigurations"]
        if conf["channel"]["slug"] == channel_USD.slug
    ]
    values = {item["name"]: item["value"] for item in channel_config["configuration"]}
    assert values[c.CURRENT_KEY] == "WXYZ"
    assert values[c.PREVIOUS_KEYS] == "ABCD"

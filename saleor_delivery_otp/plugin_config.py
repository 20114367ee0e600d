"""The plugin's Dashboard configuration: field definitions, validation, parsing.

Saleor stores a plugin's configuration as a list of ``{"name", "value"}`` items whose
values are whatever the Dashboard sent, mostly strings. This module turns one
channel's items into the engine's plain objects (:class:`~.policy.Policy`,
:class:`~.limits.CodeLimits`, a :class:`~.codes.Keyring`) or into field-level error
messages for the Dashboard. It does not import Saleor, so the CI tier tests it
without one; :mod:`saleor_delivery_otp.plugin` maps :data:`FIELDS` onto Saleor's
``CONFIG_STRUCTURE``.

Each field is one :class:`Field` of one table, :data:`_TABLE`: its Dashboard kind,
label and help text, its default and its parser. :data:`FIELDS`, :data:`DEFAULTS`
and the validation derive from it; :func:`parse` then
assembles the parsed values into a :class:`ChannelConfig`.

Error messages never repeat a submitted key: they are shown in the Dashboard and may
end up in logs.
"""

from __future__ import annotations

import base64
import binascii
import enum
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import codes
from . import constants as c
from .codes import Keyring
from .emails.context import EmailTemplates
from .emails.rendering import (
    SUPPORTED_LANGUAGES,
    Kind,
    TemplateError,
    normalize_language,
    safe_url,
    validate_templates,
)
from .exceptions import ConfigurationError
from .limits import MAX_ATTEMPTS_LIMIT, CodeLimits
from .policy import ParcelRule, Policy
from .ports import ChannelSettings, EmailMode

logger = logging.getLogger(__name__)


class FieldKind(enum.StrEnum):
    """How the Dashboard shows a field; ``plugin/__init__.py`` maps these onto Saleor's
    ``ConfigurationTypeField`` (the API shows SECRET fields as their last 4
    characters only)."""

    STRING = "string"
    MULTILINE = "multiline"
    SECRET = "secret"  # noqa: S105 (a field kind, not a password)
    SECRET_MULTILINE = "secret_multiline"  # noqa: S105


_Parser = Callable[[object], Any]

_SLUG = re.compile(r"[-\w]+")
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,3})?")
_LIST_SEPARATORS = re.compile(r"[,\n\r]+")
_KEY_SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MAX_APP_CHARS = 255
_MAX_SLUG_CHARS = 255
_MAX_TEMPLATE_CHARS = 100_000
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


# --- one parser per field -------------------------------------------------------


class _Bad(ValueError):
    """A field's value is unusable; the message is shown to the shop owner."""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Bad("Enter text.")
    return str(value).strip()


def _threshold(value: object) -> Decimal:
    text = _text(value)
    if not _AMOUNT.fullmatch(text):
        raise _Bad(
            "Enter an amount with digits and an optional decimal point (at most "
            "3 decimals), e.g. 300 or 299.99."
        )
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise _Bad("Enter an amount, e.g. 300.") from None
    if amount > c.MAX_THRESHOLD:
        raise _Bad("The amount is too large.")
    return amount


def _int_between(low: int, high: int) -> _Parser:
    def parse_int(value: object) -> int:
        text = _text(value)
        if not (text.isascii() and text.isdigit() and len(text) <= 12):
            raise _Bad(f"Enter a whole number from {low} to {high}.")
        number = int(text)
        if not low <= number <= high:
            raise _Bad(f"Enter a whole number from {low} to {high}.")
        return number

    return parse_int


def _items(value: object) -> list[str]:
    items = [
        item.strip() for item in _LIST_SEPARATORS.split(_text(value)) if item.strip()
    ]
    if len(items) > c.MAX_LIST_ITEMS:
        raise _Bad(f"List at most {c.MAX_LIST_ITEMS} entries.")
    return list(dict.fromkeys(items))


def _slugs(value: object) -> frozenset[str]:
    slugs = [slug for item in _items(value) for slug in item.split()]
    bad = [
        slug
        for slug in slugs
        if len(slug) > _MAX_SLUG_CHARS or not _SLUG.fullmatch(slug)
    ]
    if bad:
        raise _Bad(
            "Slugs contain only letters, digits, '-' and '_'; check: "
            + ", ".join(sorted(bad)[:5])
        )
    return frozenset(slugs)


def _choice(enum_type: type[enum.StrEnum]) -> _Parser:
    allowed = [member.value for member in enum_type]

    def parse_choice(value: object) -> enum.StrEnum:
        text = _text(value).lower()
        if text not in allowed:
            raise _Bad("Choose one of: " + ", ".join(allowed) + ".")
        return enum_type(text)

    return parse_choice


def parse_apps(value: object) -> tuple[str, ...]:
    """The entries of the apps field in the order typed; ValueError for a bad
    one."""
    _apps(value)
    return tuple(_items(value))


def _apps(value: object) -> frozenset[str]:
    apps = _items(value)
    if any(len(app) > _MAX_APP_CHARS or not app.isprintable() for app in apps):
        raise _Bad(
            f"Each app is an ID or a name of at most {_MAX_APP_CHARS} printable "
            "characters."
        )
    return frozenset(apps)


def _key_set(value: object) -> str:
    # Never quote the value: it may be a key pasted into the wrong place.
    text = _text(value)
    if not text:
        return ""
    if len(text) >= codes.MIN_KEY_CHARS:
        raise _Bad(
            "This looks like a key: put the key in DELIVERY_OTP_CHANNEL_KEYS in the "
            "server's settings, name it here."
        )
    if not _KEY_SET_NAME.fullmatch(text):
        raise _Bad(
            "A key set's name has letters, digits, '.', '-' and '_' only, e.g. eu-2026."
        )
    return text


def _language(value: object) -> str:
    text = _text(value)
    if not text:
        return "en"
    language = normalize_language(text)
    if language is None:
        raise _Bad("Choose one of: " + ", ".join(SUPPORTED_LANGUAGES) + ".")
    return language


def _time_zone(value: object) -> str:
    text = _text(value) or "UTC"
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad("Enter an IANA time zone, e.g. Europe/Rome or UTC.") from None
    return text


def _url(value: object) -> str:
    text = _text(value)
    if text and not safe_url(text.replace("{token}", "t").replace("{number}", "1")):
        raise _Bad("Enter an absolute http or https URL.")
    return text


def _order_url(value: object) -> str:
    text = _url(value)
    leftover = text
    for placeholder in c.ORDER_URL_PLACEHOLDERS:
        leftover = leftover.replace(placeholder, "")
    if "{" in leftover or "}" in leftover:
        raise _Bad("Use only the placeholders {token} and {number}.")
    return text


def _color(value: object) -> str:
    text = _text(value)
    if text and not _HEX_COLOR.fullmatch(text):
        raise _Bad("Enter a colour as #rgb or #rrggbb, e.g. #1a73e8.")
    return text


def _template(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad("Enter a template.")
    if len(value) > _MAX_TEMPLATE_CHARS:
        raise _Bad(f"A template may have at most {_MAX_TEMPLATE_CHARS} characters.")
    return value


_PHONE = re.compile(r"\+?[0-9(][0-9 ()./-]{2,38}")


def _phone(value: object) -> str:
    text = _text(value)
    if text and not _PHONE.fullmatch(text):
        raise _Bad(
            "Enter a phone number of digits, spaces and + ( ) - . /, e.g. "
            "+39 02 1234 5678."
        )
    return text


# --- the field table -----------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One Dashboard field: how it is shown, its stored default, how it parses.

    ``parse`` turns the stored value into what :func:`parse` needs, or raises
    :class:`_Bad` with the message for the Dashboard.
    """

    name: str
    kind: FieldKind
    label: str
    help_text: str
    # As the Dashboard stores it: a string.
    default: str
    parse: _Parser
    # (e-mail, part) of a template field: its parsed source is also rendered
    # against sample data, once every field has parsed.
    template: tuple[Kind, Literal["subject", "html", "text"]] | None = None


# The Dashboard shows the fields in this order; their names are in constants.
_TABLE: tuple[Field, ...] = (
    Field(
        c.THRESHOLD,
        FieldKind.STRING,
        "Price threshold",
        "A line needs a delivery code when the unit gross price of its product is "
        "strictly above this amount, in this channel's currency (e.g. 300 or "
        "299.99). 0 makes every shippable line in scope qualify.",
        default="300",
        parse=_threshold,
    ),
    Field(
        c.CATEGORY_SLUGS,
        FieldKind.MULTILINE,
        "Categories in scope",
        "Category slugs, separated by commas. Subcategories are included. Empty "
        "with no product types below means: every category.",
        default="",
        parse=_slugs,
    ),
    Field(
        c.PRODUCT_TYPE_SLUGS,
        FieldKind.MULTILINE,
        "Product types in scope",
        "Product type slugs, separated by commas. A line is in scope when its "
        "category or its product type is listed.",
        default="",
        parse=_slugs,
    ),
    Field(
        c.PARCEL_RULE,
        FieldKind.STRING,
        "When a parcel needs a code",
        "any_line: when any line in the parcel is above the threshold. "
        "parcel_value: when the value of the parcel's lines in scope is above it.",
        default="any_line",
        parse=_choice(ParcelRule),
    ),
    Field(
        c.CODE_LENGTH,
        FieldKind.STRING,
        "Code length",
        f"Digits per code, {codes.MIN_LENGTH} to {codes.MAX_LENGTH}. Six is the "
        "usual doorstep code.",
        default="6",
        parse=_int_between(codes.MIN_LENGTH, codes.MAX_LENGTH),
    ),
    Field(
        c.MAX_ATTEMPTS,
        FieldKind.STRING,
        "Attempts before the code locks",
        f"Wrong codes a courier may enter, 1 to {MAX_ATTEMPTS_LIMIT}; then the code "
        "locks until staff unlock or replace it.",
        default="5",
        parse=_int_between(1, MAX_ATTEMPTS_LIMIT),
    ),
    Field(
        c.VALIDITY_DAYS,
        FieldKind.STRING,
        "Validity after shipment (days)",
        f"How long a parcel's code stays valid once it ships, 1 to "
        f"{c.MAX_VALIDITY_DAYS} days.",
        default="30",
        parse=_int_between(1, c.MAX_VALIDITY_DAYS),
    ),
    Field(
        c.RESEND_COOLDOWN_SECONDS,
        FieldKind.STRING,
        "Resend cooldown (seconds)",
        "Minimum pause between two e-mails of the same code asked for by the "
        f"customer, 0 to {c.MAX_RESEND_COOLDOWN_SECONDS}.",
        default="60",
        parse=_int_between(0, c.MAX_RESEND_COOLDOWN_SECONDS),
    ),
    Field(
        c.RESEND_DAILY_CAP,
        FieldKind.STRING,
        "E-mails per code per day",
        f"At most this many e-mails of one code per day, 1 to "
        f"{c.MAX_RESEND_DAILY_CAP}, the first one included.",
        default="5",
        parse=_int_between(1, c.MAX_RESEND_DAILY_CAP),
    ),
    Field(
        c.EMAIL_MODE,
        FieldKind.STRING,
        "E-mail mode",
        "separate: the code is sent in its own e-mail. single: the code is part of "
        "the order and shipping e-mails.",
        default="separate",
        parse=_choice(EmailMode),
    ),
    Field(
        c.ALLOWED_APPS,
        FieldKind.MULTILINE,
        "Apps allowed to verify codes",
        "Saleor App IDs (e.g. 17) or names, separated by commas or new lines; "
        "names become IDs when you save. Only these apps (e.g. your courier "
        "integration) may check codes at the door.",
        default="",
        parse=_apps,
    ),
    Field(
        c.EMAIL_LANGUAGE,
        FieldKind.STRING,
        "Default e-mail language",
        "Used when an order's language has no translation: "
        + ", ".join(SUPPORTED_LANGUAGES)
        + ". English otherwise.",
        default="en",
        parse=_language,
    ),
    Field(
        c.TIME_ZONE,
        FieldKind.STRING,
        "Time zone of e-mailed dates",
        "An IANA time zone, e.g. Europe/Rome. UTC if empty.",
        default="UTC",
        parse=_time_zone,
    ),
    Field(
        c.ORDER_URL,
        FieldKind.STRING,
        "Order page URL",
        "Your storefront's order page, where customers see their code again; "
        "{token} is replaced by the order's ID (Saleor's token), {number} by its "
        "number; the e-mails with a code append #delivery-code=<secret>, which "
        "lets the page show the code (read it in the browser), e.g. "
        "https://shop.example.com/orders/{token}. Empty: no link.",
        default="",
        parse=_order_url,
    ),
    Field(
        c.BRAND_COLOR,
        FieldKind.STRING,
        "Brand colour",
        "Header and button colour of the e-mails, as #rgb or #rrggbb.",
        default="",
        parse=_color,
    ),
    Field(
        c.LOGO_URL,
        FieldKind.STRING,
        "Logo URL",
        "An absolute https URL of your logo for the e-mail header. Empty: the shop "
        "name.",
        default="",
        parse=_url,
    ),
    Field(
        c.CODE_EMAIL_SUBJECT,
        FieldKind.STRING,
        "Code e-mail - subject",
        "Handlebars. Empty: ours. Never show the code in a subject.",
        default="",
        parse=_template,
        template=("code_email", "subject"),
    ),
    Field(
        c.CODE_EMAIL_HTML,
        FieldKind.MULTILINE,
        "Code e-mail - HTML template",
        "Handlebars, with {{#with delivery_code}}{{> code_block}}{{/with}} where "
        "the code goes. Empty: ours.",
        default="",
        parse=_template,
        template=("code_email", "html"),
    ),
    Field(
        c.CODE_EMAIL_TEXT,
        FieldKind.MULTILINE,
        "Code e-mail - text template",
        "Handlebars, plain text. Empty: ours.",
        default="",
        parse=_template,
        template=("code_email", "text"),
    ),
    Field(
        c.CONFIRMATION_SUBJECT,
        FieldKind.STRING,
        "Order confirmation (single e-mail) - subject",
        "Handlebars. Empty: ours.",
        default="",
        parse=_template,
        template=("order_confirmation", "subject"),
    ),
    Field(
        c.CONFIRMATION_HTML,
        FieldKind.MULTILINE,
        "Order confirmation (single e-mail) - HTML template",
        "Handlebars; Saleor's order confirmation variables plus delivery_code. "
        "Empty: ours.",
        default="",
        parse=_template,
        template=("order_confirmation", "html"),
    ),
    Field(
        c.CONFIRMATION_TEXT,
        FieldKind.MULTILINE,
        "Order confirmation (single e-mail) - text template",
        "Handlebars, plain text. Empty: ours.",
        default="",
        parse=_template,
        template=("order_confirmation", "text"),
    ),
    Field(
        c.KEY_SET,
        FieldKind.STRING,
        "Key set",
        "Optional. The name of a key set in the server's DELIVERY_OTP_CHANNEL_KEYS "
        "setting, e.g. eu-2026: its first key protects this channel's new codes "
        "instead of DELIVERY_OTP_KEYS. Only the name goes here, never a key.",
        default="",
        parse=_key_set,
    ),
    Field(
        c.DRIVER_PHONE,
        FieldKind.STRING,
        "Shop phone for drivers",
        "Shown on the driver's page when a code locks: the number your drivers "
        "call, e.g. +39 02 1234 5678. Empty: the page says to call the shop.",
        default="",
        parse=_phone,
    ),
)

FIELDS: Mapping[str, Field] = {spec.name: spec for spec in _TABLE}
DEFAULTS: dict[str, str] = {spec.name: spec.default for spec in _TABLE}
SECRET_FIELDS = frozenset(
    spec.name
    for spec in _TABLE
    if spec.kind in (FieldKind.SECRET, FieldKind.SECRET_MULTILINE)
)


@dataclass(frozen=True)
class EmailSettings:
    """How the channel's e-mails look: what :mod:`~saleor_delivery_otp.emails`
    needs beyond the order itself."""

    language: str = "en"
    time_zone: str = "UTC"
    # With {token} / {number} placeholders (the e-mail layer appends the reveal
    # token as a fragment); empty for no link.
    order_url: str = ""
    brand_color: str = ""
    logo_url: str = ""
    code_email: EmailTemplates = field(default_factory=EmailTemplates)
    confirmation_email: EmailTemplates = field(default_factory=EmailTemplates)

    def order_page(self, *, token: str, number: str) -> str:
        return self.order_url.replace("{token}", token).replace("{number}", number)


@dataclass(frozen=True)
class ChannelConfig:
    """One channel's configuration, parsed and checked."""

    policy: Policy
    limits: CodeLimits
    email_mode: EmailMode = EmailMode.SEPARATE
    # Apps allowed to verify, as saved: App IDs (names are turned into IDs when the
    # configuration is saved; a name left over from an older version never matches).
    allowed_apps: frozenset[str] = frozenset()
    # The name of a set of DELIVERY_OTP_CHANNEL_KEYS; empty means DELIVERY_OTP_KEYS.
    key_set: str = ""
    email: EmailSettings = field(default_factory=EmailSettings)
    # The number the driver's page shows when a code locks.
    driver_phone: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """The channel's key set, newest first; () for DELIVERY_OTP_KEYS, also when
        the named set is no longer configured (logged: never raised into a hook)."""
        if not self.key_set:
            return ()
        try:
            return key_set_keys(self.key_set)
        except KeySetUnusable as exc:
            logger.error(
                "Delivery-code key set %s is unusable: %s New codes of its channel "
                "use DELIVERY_OTP_KEYS; codes issued under the missing keys no "
                "longer verify.",
                self.key_set,
                exc,
            )
            return ()

    def settings(self) -> ChannelSettings:
        """What the flows and the API use of this configuration, whatever host
        stores it (the plugin's PluginConfiguration rows, the App's own)."""
        return ChannelSettings(
            limits=self.limits,
            verifying_apps=self.app_ids,
            shop_phone=self.driver_phone,
            policy=self.policy,
            email_mode=self.email_mode,
            keyring=self.keyring(),
        )

    def keyring(self) -> Keyring | None:
        """The channel's own keyring, or None to use the server's keys."""
        keys = self.keys
        return codes._keyring(keys) if keys else None

    @property
    def app_ids(self) -> frozenset[str]:
        """The allowed apps' primary keys."""
        return frozenset(
            pk for pk in (app_pk(entry) for entry in self.allowed_apps) if pk
        )

    @property
    def app_names(self) -> tuple[str, ...]:
        """Entries that are not App IDs: left over from a version that matched
        names; they allow nobody."""
        return tuple(sorted(e for e in self.allowed_apps if app_pk(e) is None))


def app_pk(entry: str) -> str | None:
    """The App primary key an entry names (``17`` or Saleor's global ID
    ``QXBwOjE3``), or None for anything else, such as a name."""
    if entry.isascii() and entry.isdigit():
        return str(int(entry))
    try:
        decoded = base64.b64decode(entry, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, _, pk = decoded.partition(":")
    if type_name == "App" and pk.isascii() and pk.isdigit():
        return str(int(pk))
    return None


class KeySetUnusable(ValueError):
    """A channel's key set cannot be used; the message never holds a key."""


def _configured_key_sets() -> Mapping[str, object]:
    from .conf import settings

    configured = settings.DELIVERY_OTP_CHANNEL_KEYS
    return configured if isinstance(configured, Mapping) else {}


def key_set_keys(name: str) -> tuple[str, ...]:
    """The keys of a set of ``DELIVERY_OTP_CHANNEL_KEYS``, newest first.

    Raises :class:`KeySetUnusable` if there is no such set or a key is too short.
    """
    sets = _configured_key_sets()
    if name not in sets:
        known = ", ".join(sorted(str(known) for known in sets)) or "none"
        raise KeySetUnusable(
            f"DELIVERY_OTP_CHANNEL_KEYS has no key set of that name (its sets: "
            f"{known})."
        )
    raw = sets[name]
    entries = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(entries, list | tuple) or not all(
        isinstance(key, str) for key in entries
    ):
        raise KeySetUnusable(
            f"The key set {name} of DELIVERY_OTP_CHANNEL_KEYS must be a list of keys."
        )
    keys = tuple(dict.fromkeys(key.strip() for key in entries if key.strip()))
    if not keys:
        raise KeySetUnusable(
            f"The key set {name} of DELIVERY_OTP_CHANNEL_KEYS is empty."
        )
    if any(len(key.encode()) < codes.MIN_KEY_CHARS for key in keys):
        raise KeySetUnusable(
            f"Each key of the set {name} of DELIVERY_OTP_CHANNEL_KEYS needs at least "
            f"{codes.MIN_KEY_CHARS} characters."
        )
    return keys


def reading_keyring() -> Keyring:
    """Every key a code of this shop may be under: ``DELIVERY_OTP_KEYS`` (its first
    one current), then every key of every set, whichever channel names it now.
    Derived once per set of keys (``codes._keyring``), not once per call."""
    server = [key.secret for key in Keyring.from_settings()._keys.values()]
    return codes._keyring(tuple(dict.fromkeys([*server, *all_key_set_keys()])))


def issuing_keyring(keys: tuple[str, ...]) -> Keyring:
    """The keyring a channel issues new codes with: its key set (newest first), or
    ``DELIVERY_OTP_KEYS`` for ()."""
    return codes._keyring(keys) if keys else Keyring.from_settings()


def all_key_set_keys() -> tuple[str, ...]:
    """Every key of every usable set of ``DELIVERY_OTP_CHANNEL_KEYS``: codes
    issued under a set verify and display while the set is configured, whichever
    channel names it now."""
    keys: list[str] = []
    for name in _configured_key_sets():
        try:
            keys.extend(key_set_keys(str(name)))
        except KeySetUnusable as exc:
            logger.error("Delivery-code key set %s is unusable: %s", name, exc)
    return tuple(dict.fromkeys(keys))


def legacy_keys(items: Iterable[Mapping[str, object]] | None) -> tuple[str, ...]:
    """Keys an earlier version stored in the database ('Current key', 'Previous
    keys'). Never used: only looked at to tell the shop owner to move them."""
    keys: list[str] = []
    for item in items or ():
        if item.get("name") in c.LEGACY_KEY_FIELDS and isinstance(
            item.get("value"), str
        ):
            keys.extend(
                key.strip()
                for key in _LIST_SEPARATORS.split(str(item["value"]))
                if key.strip()
            )
    return tuple(keys)


def legacy_keys_moved(keys: Iterable[str]) -> bool:
    """Whether every one of these keys is configured outside the database."""
    from .conf import settings

    server = settings.DELIVERY_OTP_KEYS or ()
    outside = {server} if isinstance(server, str) else set(server)
    outside.update(all_key_set_keys())
    return all(key in outside for key in keys)


def without_legacy_keys(
    items: Iterable[Mapping[str, object]],
) -> list[Mapping[str, object]]:
    return [item for item in items if item.get("name") not in c.LEGACY_KEY_FIELDS]


def legacy_keys_message(channel_slug: str, keys: tuple[str, ...]) -> str:
    """The error logged while a channel's configuration still holds keys."""
    if legacy_keys_moved(keys):
        return (
            f"Channel {channel_slug} still stores delivery-code keys in its plugin "
            "configuration ('Current key' / 'Previous keys'). They are not used; "
            "save the channel's configuration to delete them from the database."
        )
    return (
        f"Channel {channel_slug} still stores delivery-code keys in its plugin "
        "configuration ('Current key' / 'Previous keys'). They are not used, so "
        "codes issued under them do not verify: move them into a key set of "
        "DELIVERY_OTP_CHANNEL_KEYS (or DELIVERY_OTP_KEYS), enter the set's name "
        "under 'Key set' and save the configuration (docs/saleor-plugin.md, "
        "Upgrading)."
    )


def values_from_items(
    items: Iterable[Mapping[str, object]] | None,
) -> dict[str, object]:
    """Saleor's ``[{"name": ..., "value": ...}]`` as a dict, defaults filled in.

    Unknown names are dropped, as Saleor itself drops fields without a structure.
    """
    values: dict[str, object] = dict(DEFAULTS)
    for item in items or ():
        name = item.get("name")
        if isinstance(name, str) and name in FIELDS:
            value = item.get("value")
            values[name] = DEFAULTS[name] if value is None else value
    return values


def validate(values: Mapping[str, object]) -> dict[str, str]:
    """Field name -> message for every bad field; empty when all is well.

    Unlike :func:`parse`, it also requires the key set to exist: a channel saved
    with it may later run on a server whose settings lost it, and then issues
    under DELIVERY_OTP_KEYS rather than not at all.
    """
    parsed, errors = _parse_fields(values)
    if parsed.get(c.KEY_SET):
        try:
            key_set_keys(parsed[c.KEY_SET])
        except KeySetUnusable as exc:
            errors[c.KEY_SET] = str(exc)
    return errors


def parse(values: Mapping[str, object], *, currency: str) -> ChannelConfig:
    """The configuration of a channel whose prices are in ``currency``.

    Raises :class:`~.exceptions.ConfigurationError` with every bad field.
    """
    parsed, errors = _parse_fields(values)
    if errors:
        raise ConfigurationError(errors=errors)
    if not isinstance(currency, str) or not currency.strip():
        raise ConfigurationError(errors={c.THRESHOLD: "The channel has no currency."})
    policy = Policy(
        thresholds={currency.strip().upper(): parsed[c.THRESHOLD]},
        category_slugs=parsed[c.CATEGORY_SLUGS],
        product_type_slugs=parsed[c.PRODUCT_TYPE_SLUGS],
        parcel_rule=parsed[c.PARCEL_RULE],
    )
    limits = CodeLimits(
        length=parsed[c.CODE_LENGTH],
        max_attempts=parsed[c.MAX_ATTEMPTS],
        validity=timedelta(days=parsed[c.VALIDITY_DAYS]),
        resend_cooldown=timedelta(seconds=parsed[c.RESEND_COOLDOWN_SECONDS]),
        resend_daily_cap=parsed[c.RESEND_DAILY_CAP],
    )
    email = EmailSettings(
        language=parsed[c.EMAIL_LANGUAGE],
        time_zone=parsed[c.TIME_ZONE],
        order_url=parsed[c.ORDER_URL],
        brand_color=parsed[c.BRAND_COLOR],
        logo_url=parsed[c.LOGO_URL],
        code_email=EmailTemplates(
            subject=parsed[c.CODE_EMAIL_SUBJECT],
            html=parsed[c.CODE_EMAIL_HTML],
            text=parsed[c.CODE_EMAIL_TEXT],
        ),
        confirmation_email=EmailTemplates(
            subject=parsed[c.CONFIRMATION_SUBJECT],
            html=parsed[c.CONFIRMATION_HTML],
            text=parsed[c.CONFIRMATION_TEXT],
        ),
    )
    return ChannelConfig(
        policy=policy,
        limits=limits,
        email_mode=parsed[c.EMAIL_MODE],
        allowed_apps=parsed[c.ALLOWED_APPS],
        key_set=parsed[c.KEY_SET],
        email=email,
        driver_phone=parsed[c.DRIVER_PHONE],
    )


def scope_slugs(values: Mapping[str, object]) -> tuple[frozenset[str], frozenset[str]]:
    """The category and product-type slugs of a valid configuration."""
    parsed, errors = _parse_fields(values)
    if errors:
        raise ConfigurationError(errors=errors)
    return parsed[c.CATEGORY_SLUGS], parsed[c.PRODUCT_TYPE_SLUGS]


def parse_items(
    items: Iterable[Mapping[str, object]] | None, *, currency: str
) -> ChannelConfig:
    """:func:`parse` straight from Saleor's stored list of items."""
    return parse(values_from_items(items), currency=currency)


def _parse_fields(
    values: Mapping[str, object],
) -> tuple[dict[str, Any], dict[str, str]]:
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in _TABLE:
        raw = values.get(spec.name, spec.default)
        try:
            parsed[spec.name] = spec.parse(spec.default if raw is None else raw)
        except _Bad as exc:
            errors[spec.name] = str(exc)
    for spec in _TABLE:
        if spec.template is None or spec.name in errors or not parsed[spec.name]:
            continue
        kind, part = spec.template
        source: dict[str, str] = {part: parsed[spec.name]}
        try:
            validate_templates(kind, EmailTemplates(**source))
        except TemplateError as exc:
            errors[spec.name] = str(exc)
    return parsed, errors

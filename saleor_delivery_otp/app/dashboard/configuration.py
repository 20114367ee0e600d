"""The configuration page: the App's ``appUrl``, Apps > Delivery codes in the
Dashboard.

The page itself (:func:`page`) is a shell with no data: its script waits for App
Bridge's handshake (the Dashboard posts ``{type: "handshake", payload: {token,
version}}`` to the iframe, ``@saleor/app-sdk`` ``events.ts``; a new token comes
as ``tokenRefresh``), then calls the JSON endpoint :func:`channels_api` with that
token (``Authorization: Bearer``) and the ``saleorApiUrl`` the Dashboard put in
the page's URL (``Saleor-Api-Url``). Only staff holding MANAGE_APPS get an
answer (:func:`.auth.configuration_session`).

Per channel of the shop (Saleor's ``channels``, asked with the App token): on or
off, and the plugin's Dashboard form (:data:`~saleor_delivery_otp.plugin_config.
FIELDS`, in order, with its labels and help texts), validated field by field as
the plugin validates it. Then, against Saleor:

* category and product-type slugs must exist (``categories`` / ``productTypes``
  with ``filter: {slugs: ...}``, public, asked with the App token);
* courier apps are entered by App ID (``17`` or ``QXBwOjE3``) and each must exist
  (``app(id:)``, which a staff member may ask without MANAGE_APPS, asked with the
  staff member's own token; listing or finding apps by name needs MANAGE_APPS,
  ``apps``, which neither the App nor the Dashboard's token holds, so names are
  refused rather than guessed);
* single-e-mail mode is refused: the App sends no order confirmation yet
  (:meth:`saleor_delivery_otp.app.host.AppHost.confirmation_context`), so the
  code would reach nobody.

A bad field saves nothing; a good form is saved into
:class:`~saleor_delivery_otp.app.models.ChannelConfiguration` as Saleor stores
a plugin's configuration, and :class:`~saleor_delivery_otp.app.host.AppHost`
reads it from there. Secret fields (none today) are never sent back: an empty
one keeps what is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from graphql_relay import to_global_id

from ... import constants as c
from ... import plugin_config
from ...exceptions import ConfigurationError
from ...plugin_config import FieldKind, app_pk
from ...ports import EmailMode
from .. import manifest, saleor_api
from ..models import ChannelConfiguration, Installation
from . import auth, pages

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# Saleor returns at most 100 objects per page.
PAGE_SIZE = 100
MAX_APPS = 50
MAX_CHANNELS = 500

CHANNELS_QUERY = "query DeliveryOTPChannels { channels { slug name currencyCode } }"
CATEGORIES_QUERY = """query DeliveryOTPCategories($slugs: [String!]!, $first: Int!) {
  categories(first: $first, filter: {slugs: $slugs}) { edges { node { slug } } }
}"""
PRODUCT_TYPES_QUERY = """query DeliveryOTPProductTypes(
  $slugs: [String!]!, $first: Int!
) {
  productTypes(first: $first, filter: {slugs: $slugs}) { edges { node { slug } } }
}"""

_SECRET_KINDS = (FieldKind.SECRET, FieldKind.SECRET_MULTILINE)
_MULTILINE_KINDS = (FieldKind.MULTILINE, FieldKind.SECRET_MULTILINE)
SINGLE_MODE_REFUSED = (
    "The App sends no order confirmation, so a code in it would reach nobody: "
    "choose separate."
)


class Unavailable(Exception):
    """Saleor could not be asked; nothing is saved."""


def _json(data: Mapping[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    pages.locked_down(response)
    return response


# --- the page -------------------------------------------------------------------------


@xframe_options_exempt
@require_safe
def page(request: HttpRequest) -> HttpResponse:
    """The shell: no data until the Dashboard hands the script a token."""
    return pages.render(
        "configuration.html",
        {
            "api": pages.url("configuration-channels"),
            "script": pages.url("dashboard-asset", name="configuration.js"),
        },
    )


# --- the JSON endpoint ----------------------------------------------------------------


# The token travels in a header, never in a cookie: a cross-site form cannot send
# it (no CSRF), and the page sets no cookie.
@csrf_exempt
@xframe_options_exempt
def channels_api(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "POST"):
        response = _json({"error": "Use GET or POST."}, 405)
        response["Allow"] = "GET, POST"
        return response
    try:
        session = auth.configuration_session(request.headers)
    except auth.Refused as refused:
        return _json({"error": refused.message}, refused.status)
    try:
        channels = saleor_channels(session.installation)
    except Unavailable:
        return _json(
            {"error": "Saleor could not be asked for the shop's channels. Try again."},
            503,
        )
    if request.method == "GET":
        return _json(
            {
                "shop": session.installation.domain,
                # Where this shop's storefront and couriers call the API
                # (docs/app.md, "The storefront").
                "api_url": manifest.absolute_url(
                    reverse(
                        "delivery_otp_app:graphql",
                        kwargs={"installation": session.installation.public_id},
                    )
                ),
                "fields": field_table(),
                "channels": [
                    channel_view(session.installation, channel) for channel in channels
                ],
            }
        )
    return _save(request, session, channels)


def field_table() -> list[dict[str, Any]]:
    """The plugin's form, as the page draws it: in order, labels, help texts."""
    return [
        {
            "name": spec.name,
            "label": spec.label,
            "help": spec.help_text,
            "multiline": spec.kind in _MULTILINE_KINDS,
            "secret": spec.kind in _SECRET_KINDS,
        }
        for spec in plugin_config.FIELDS.values()
    ]


def saleor_channels(installation: Installation) -> list[dict[str, str]]:
    """The shop's channels as Saleor lists them to the App: slug, name, currency."""
    try:
        document = saleor_api.execute(
            installation.saleor_api_url, installation.token(), CHANNELS_QUERY
        )
    except Exception as exc:  # Saleor, or the sealed token, out of reach
        logger.warning("Delivery-code App: channels not read (%s).", type(exc).__name__)
        raise Unavailable from None
    data = document.get("data")
    rows = data.get("channels") if isinstance(data, dict) else None
    if not isinstance(rows, list) or document.get("errors"):
        raise Unavailable
    channels = []
    for row in rows[:MAX_CHANNELS]:
        if not isinstance(row, dict):
            continue
        slug, name, currency = row.get("slug"), row.get("name"), row.get("currencyCode")
        if isinstance(slug, str) and slug and isinstance(currency, str):
            channels.append(
                {"slug": slug, "name": str(name or slug), "currency": currency}
            )
    return channels


def channel_view(
    installation: Installation, channel: Mapping[str, str]
) -> dict[str, Any]:
    """One channel as the page shows it: stored values (defaults if never saved),
    secret fields blank, and what no longer validates in what is stored."""
    row = ChannelConfiguration.objects.filter(
        installation=installation, slug=channel["slug"]
    ).first()
    values = plugin_config.values_from_items(row.items if row is not None else None)
    problems = plugin_config.validate(values) if row is not None else {}
    shown: dict[str, str] = {}
    secrets_set = []
    for spec in plugin_config.FIELDS.values():
        value = values.get(spec.name)
        text = "" if value is None else str(value)
        if spec.kind in _SECRET_KINDS:
            if text:
                secrets_set.append(spec.name)
            text = ""
        shown[spec.name] = text
    return {
        "slug": channel["slug"],
        "name": channel["name"],
        "currency": channel["currency"],
        "saved": row is not None,
        "active": bool(row is not None and row.active),
        "values": shown,
        "secretsSet": secrets_set,
        "problems": {
            name: message
            for name, message in problems.items()
            if name not in plugin_config.SECRET_FIELDS
        },
    }


# --- saving ---------------------------------------------------------------------------


def _save(
    request: HttpRequest,
    session: auth.ConfigurationSession,
    channels: list[dict[str, str]],
) -> JsonResponse:
    body = _body(request)
    if body is None:
        return _json(
            {
                "saved": False,
                "error": 'Send {"channel": slug, "active": true or false, '
                '"values": {field: text}}.',
            },
            400,
        )
    slug, active, submitted = body
    channel = next((ch for ch in channels if ch["slug"] == slug), None)
    if channel is None:
        return _json({"saved": False, "error": "The shop has no such channel."}, 400)
    installation = session.installation
    stored_row = ChannelConfiguration.objects.filter(
        installation=installation, slug=slug
    ).first()
    stored = plugin_config.values_from_items(
        stored_row.items if stored_row is not None else None
    )
    values, errors = _merge(stored, submitted)
    try:
        items = checked_items(session, values, errors, currency=channel["currency"])
    except Unavailable:
        return _json(
            {
                "saved": False,
                "error": "Saleor could not be asked to check the form; nothing was "
                "saved. Try again.",
            },
            503,
        )
    if items is None:
        return _json(
            {
                "saved": False,
                "error": "Nothing was saved: correct the fields marked.",
                "errors": errors,
            },
            400,
        )
    with transaction.atomic():
        ChannelConfiguration.objects.update_or_create(
            installation=installation,
            slug=slug,
            defaults={
                "currency": channel["currency"],
                "active": active,
                "items": items,
            },
        )
    logger.info(
        "Delivery-code configuration of channel %s saved (%s) by staff %s.",
        installation.channel(slug),
        "on" if active else "off",
        session.user,
    )
    return _json({"saved": True, "channel": channel_view(installation, channel)})


def _body(request: HttpRequest) -> tuple[str, bool, dict[str, object]] | None:
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    slug, active, values = data.get("channel"), data.get("active"), data.get("values")
    if (
        not isinstance(slug, str)
        or not isinstance(active, bool)
        or not isinstance(values, dict)
    ):
        return None
    return slug, active, values


def _merge(
    stored: Mapping[str, object], submitted: Mapping[str, object]
) -> tuple[dict[str, object], dict[str, str]]:
    """The form as it would be saved: every field as submitted (text only), a
    field left out or a secret left empty as stored."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, spec in plugin_config.FIELDS.items():
        if name not in submitted:
            values[name] = stored.get(name, spec.default)
            continue
        value = submitted[name]
        if not isinstance(value, str):
            errors[name] = "Enter text."
            values[name] = stored.get(name, spec.default)
            continue
        if spec.kind in _SECRET_KINDS and not value.strip():
            values[name] = stored.get(name, spec.default)
            continue
        values[name] = value
    return values, errors


def checked_items(
    session: auth.ConfigurationSession,
    values: dict[str, object],
    errors: dict[str, str],
    *,
    currency: str,
) -> list[dict[str, object]] | None:
    """The items to store (Saleor's ``[{"name", "value"}]``), or None with
    ``errors`` filled in: the plugin's checks field by field, then Saleor's."""
    for name, message in plugin_config.validate(values).items():
        errors.setdefault(name, message)
    if c.ALLOWED_APPS not in errors:
        ids, problem = _apps(session, values.get(c.ALLOWED_APPS))
        if problem:
            errors[c.ALLOWED_APPS] = problem
        else:
            values[c.ALLOWED_APPS] = ", ".join(ids)
    if (
        c.EMAIL_MODE not in errors
        and str(values.get(c.EMAIL_MODE) or "").strip().lower() == EmailMode.SINGLE
    ):
        errors[c.EMAIL_MODE] = SINGLE_MODE_REFUSED
    if c.CATEGORY_SLUGS not in errors and c.PRODUCT_TYPE_SLUGS not in errors:
        categories, product_types = plugin_config.scope_slugs(
            {**plugin_config.DEFAULTS, **_valid_only(values, errors)}
        )
        installation = session.installation
        missing = _missing_slugs(
            installation, CATEGORIES_QUERY, "categories", categories
        )
        if missing:
            errors[c.CATEGORY_SLUGS] = "No category has the slug: " + ", ".join(
                missing[:5]
            )
        missing = _missing_slugs(
            installation, PRODUCT_TYPES_QUERY, "productTypes", product_types
        )
        if missing:
            errors[c.PRODUCT_TYPE_SLUGS] = "No product type has the slug: " + ", ".join(
                missing[:5]
            )
    if errors:
        return None
    items = [{"name": name, "value": values[name]} for name in plugin_config.FIELDS]
    try:
        plugin_config.parse_items(items, currency=currency)
    except ConfigurationError as exc:
        errors.update(exc.errors or {c.THRESHOLD: exc.message})
        return None
    return items


def _valid_only(
    values: Mapping[str, object], errors: Mapping[str, str]
) -> dict[str, object]:
    """The values of the fields that passed, for a partial check of the rest."""
    return {name: value for name, value in values.items() if name not in errors}


def _apps(session: auth.ConfigurationSession, value: object) -> tuple[list[str], str]:
    """The allowed apps as App IDs (Saleor's database ids, as the plugin stores
    them), and a problem for the page, or ""."""
    entries = plugin_config.parse_apps(value)
    if not entries:
        return [], ""
    if len(entries) > MAX_APPS:
        return [], f"List at most {MAX_APPS} apps."
    pks = [app_pk(entry) for entry in entries]
    names = [entry for entry, pk in zip(entries, pks, strict=True) if pk is None]
    if names:
        return [], (
            "Enter each app by its ID (e.g. 17), as the app's page in the Dashboard "
            "shows it in its address; not by name: " + ", ".join(names[:5])
        )
    wanted = list(dict.fromkeys(pk for pk in pks if pk is not None))
    found = _existing_apps(session, wanted)
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        return [], "No app has the ID " + ", ".join(missing[:5]) + "."
    return wanted, ""


def _existing_apps(session: auth.ConfigurationSession, pks: list[str]) -> set[str]:
    """Which of these apps exist in the shop: one ``app(id:)`` per app, aliased
    in one query, with the staff member's token."""
    declarations = ", ".join(f"$a{n}: ID!" for n in range(len(pks)))
    selections = " ".join(f"a{n}: app(id: $a{n}) {{ id }}" for n in range(len(pks)))
    query = f"query DeliveryOTPApps({declarations}) {{ {selections} }}"
    variables = {f"a{n}": to_global_id("App", pk) for n, pk in enumerate(pks)}
    try:
        document = saleor_api.execute(
            session.installation.saleor_api_url, session.token, query, variables
        )
    except saleor_api.SaleorError as exc:
        logger.warning("Delivery-code App: apps not checked (%s).", exc)
        raise Unavailable from None
    data = document.get("data")
    if not isinstance(data, dict) or document.get("errors"):
        raise Unavailable
    found = set()
    for n, pk in enumerate(pks):
        app = data.get(f"a{n}")
        if isinstance(app, dict) and app_pk(str(app.get("id") or "")) == pk:
            found.add(pk)
    return found


def _missing_slugs(
    installation: Installation, query: str, root: str, slugs: Iterable[str]
) -> list[str]:
    """The slugs no object of Saleor has (public objects, asked with the App
    token), sorted."""
    wanted = sorted(set(slugs))
    known: set[str] = set()
    for start in range(0, len(wanted), PAGE_SIZE):
        chunk = wanted[start : start + PAGE_SIZE]
        try:
            document = saleor_api.execute(
                installation.saleor_api_url,
                installation.token(),
                query,
                {"slugs": chunk, "first": PAGE_SIZE},
            )
        except Exception as exc:
            logger.warning(
                "Delivery-code App: %s not checked (%s).", root, type(exc).__name__
            )
            raise Unavailable from None
        data = document.get("data")
        connection = data.get(root) if isinstance(data, dict) else None
        edges = connection.get("edges") if isinstance(connection, dict) else None
        if not isinstance(edges, list) or document.get("errors"):
            raise Unavailable
        for edge in edges:
            node = edge.get("node") if isinstance(edge, dict) else None
            if isinstance(node, dict) and isinstance(node.get("slug"), str):
                known.add(node["slug"])
    return [slug for slug in wanted if slug not in known]

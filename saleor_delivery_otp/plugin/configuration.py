"""The plugin's configuration as Saleor stores it: one PluginConfiguration row per
channel, parsed by :mod:`saleor_delivery_otp.plugin_config` and handed to the flows
and the API as :class:`~saleor_delivery_otp.ports.ChannelSettings`; and the checks
of a configuration against Saleor (apps, slugs, the User emails plugin)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from saleor.app.models import App
from saleor.plugins.models import EmailTemplate, PluginConfiguration
from saleor.product.models import Category, ProductType

from .. import constants as c
from ..exceptions import ConfigurationError
from ..plugin_config import (
    ChannelConfig,
    app_pk,
    legacy_keys,
    legacy_keys_message,
    parse_items,
)

logger = logging.getLogger(__name__)


def _config_row(channel_slug: str, *, active_only: bool) -> tuple[Any, str] | None:
    rows = PluginConfiguration.objects.filter(
        identifier=c.PLUGIN_ID, channel__slug=channel_slug
    )
    if active_only:
        rows = rows.filter(active=True)
    return rows.values_list("configuration", "channel__currency_code").first()


def channel_config(channel_slug: str) -> ChannelConfig | None:
    """The channel's configuration if the plugin is active there, else None.

    For code that runs outside a hook (Celery tasks, the GraphQL API); hooks use
    the configuration Saleor already loaded on the plugin instance.
    """
    row = _config_row(channel_slug, active_only=True)
    if row is None:
        return None
    return parsed_config(channel_slug, *row)


def parsed_config(channel_slug: str, items: Any, currency: str) -> ChannelConfig | None:
    log_legacy_keys(channel_slug, items)
    try:
        return parse_items(items, currency=currency)
    except ConfigurationError as exc:
        logger.error(
            "Delivery codes are off in channel %s: invalid configuration of %s.",
            channel_slug,
            ", ".join(sorted(exc.errors)),
        )
        return None


def log_legacy_keys(channel_slug: str, items: Any) -> None:
    """Tell the shop owner, at every use, that the channel's configuration still
    holds keys of an earlier version (never used, never logged themselves)."""
    keys = legacy_keys(items)
    if keys:
        logger.error(legacy_keys_message(channel_slug, keys))


def channel_keys(channel_slug: str) -> tuple[str, ...]:
    """The keys of the channel's key set (newest first), or () to use
    DELIVERY_OTP_KEYS. The configuration holds the set's name only; the keys are
    in DELIVERY_OTP_CHANNEL_KEYS, outside the database.

    Read whether or not the plugin is active: codes issued while it was active
    must still verify and display after it is switched off.
    """
    row = _config_row(channel_slug, active_only=False)
    if row is None:
        return ()
    items, currency = row
    try:
        return parse_items(items, currency=currency or "XXX").keys
    except ConfigurationError:
        return ()


def unknown_slugs(
    category_slugs: Iterable[str], product_type_slugs: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Configured slugs that match no category / product type (typos would
    otherwise silently switch codes off)."""
    categories = set(category_slugs)
    product_types = set(product_type_slugs)
    known_categories = set(
        Category.objects.filter(slug__in=categories).values_list("slug", flat=True)
    )
    known_types = set(
        ProductType.objects.filter(slug__in=product_types).values_list(
            "slug", flat=True
        )
    )
    return (
        sorted(categories - known_categories),
        sorted(product_types - known_types),
    )


def config_for_emails(channel_slug: str, currency: str) -> ChannelConfig:
    """The channel's configuration even if the plugin was switched off since the
    code was issued (its e-mail still goes out), else the defaults."""
    row = _config_row(channel_slug, active_only=False)
    try:
        return parse_items(row[0] if row else None, currency=currency or "XXX")
    except ConfigurationError:
        return parse_items(None, currency=currency or "XXX")


def resolve_apps(entries: Iterable[str]) -> tuple[list[str], list[str]]:
    """The configured apps as App IDs, for saving: ``(ids, problems)``.

    An ID must name an existing app, a name exactly one app (compared as Saleor's
    Dashboard shows them, case-insensitively): two apps may share a name, and the
    courier's must not be confused with another one. Problems are messages for the
    Dashboard; they never hold more than app names and IDs.
    """
    wanted: list[tuple[str, str | None]] = [(entry, app_pk(entry)) for entry in entries]
    pks = {int(pk) for _, pk in wanted if pk is not None}
    names = {entry.casefold() for entry, pk in wanted if pk is None}
    query = Q(pk__in=pks)
    for name in names:
        query |= Q(name__iexact=name)
    found: dict[str, list[str]] = {}
    known: set[str] = set()
    if wanted:
        for pk, name in (
            App.objects.filter(query, removed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "name")
        ):
            known.add(str(pk))
            found.setdefault((name or "").casefold(), []).append(str(pk))
    ids: list[str] = []
    problems: list[str] = []
    for entry, pk in wanted:
        if pk is not None:
            if pk in known:
                ids.append(pk)
            else:
                problems.append(f"No app has the ID {pk}.")
            continue
        matching = found.get(entry.casefold(), [])
        if len(matching) == 1:
            ids.append(matching[0])
        elif not matching:
            problems.append(f"No app is named '{entry}'.")
        else:
            problems.append(
                f"{len(matching)} apps are named '{entry}' (IDs "
                f"{', '.join(matching)}): enter the ID of the one allowed."
            )
    return list(dict.fromkeys(ids)), problems


def user_emails_send_order_confirmation(channel_slug: str) -> bool:
    """Whether Saleor's User emails plugin sends its own order confirmation in
    the channel (active, and its template not emptied)."""
    config = (
        PluginConfiguration.objects.filter(
            identifier=c.USER_EMAIL_PLUGIN_ID, channel__slug=channel_slug, active=True
        )
        .values_list("pk", flat=True)
        .first()
    )
    if config is None:
        return False
    template = (
        EmailTemplate.objects.filter(
            plugin_configuration_id=config,
            name=c.USER_EMAIL_ORDER_CONFIRMATION_TEMPLATE,
        )
        .values_list("value", flat=True)
        .first()
    )
    return template is None or bool(template)

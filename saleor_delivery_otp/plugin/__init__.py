"""The Saleor plugin, host 1: Dashboard configuration and the hooks, nothing else.

Installed through the ``saleor.plugins`` entry point
(``saleor_delivery_otp = saleor_delivery_otp.plugin:DeliveryOTPPlugin``), which also
puts the ``saleor_delivery_otp`` app, and so its migrations, into Saleor.

Each hook hands the Saleor object and the channel's parsed configuration to
:func:`.hooks.run`, which never raises, and returns ``previous_value`` untouched:
the plugin observes Saleor's flows, it never changes their result. Saleor marks
the ``fulfillment_*`` hooks as deprecated ("will move to core"); keeping this class
thin keeps that move a small change.

The package: :mod:`.hooks` (hooks to flows), :mod:`.readers` (Saleor objects to
plain data), :mod:`.host` (:class:`~.host.SaleorHost`, the port), :mod:`.mail` (the
e-mail's context), :mod:`.configuration` (stored configuration, checks against
Saleor). Only this package imports Saleor.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from saleor.plugins.base_plugin import BasePlugin, ConfigurationTypeField
from saleor.plugins.error_codes import PluginErrorCode

from .. import constants as c
from .. import flows, plugin_config, ports
from ..exceptions import ConfigurationError
from ..plugin_config import ChannelConfig, FieldKind
from . import configuration, hooks

if TYPE_CHECKING:
    from saleor.order.models import Fulfillment, Order
    from saleor.plugins.models import PluginConfiguration

logger = logging.getLogger(__name__)

# Saleor imports this module in its web processes (the plugin manager) and its
# Celery workers (task discovery), before any of our code runs there.
ports.declare_default_host("saleor_delivery_otp.plugin.host.SaleorHost")

_FIELD_TYPES = {
    FieldKind.STRING: ConfigurationTypeField.STRING,
    FieldKind.MULTILINE: ConfigurationTypeField.MULTILINE,
    FieldKind.SECRET: ConfigurationTypeField.SECRET,
    FieldKind.SECRET_MULTILINE: ConfigurationTypeField.SECRET_MULTILINE,
}


def _allowed_apps(values: dict[str, object]) -> tuple[str, ...]:
    """The entries of the apps field, or none if it does not parse (its own
    error is reported by the parser)."""
    try:
        return plugin_config.parse_apps(values.get(c.ALLOWED_APPS))
    except ValueError:
        return ()


class DeliveryOTPPlugin(BasePlugin):
    PLUGIN_ID = c.PLUGIN_ID
    PLUGIN_NAME = c.PLUGIN_NAME
    PLUGIN_DESCRIPTION = c.PLUGIN_DESCRIPTION
    # Thresholds are amounts in the channel's currency, and a shop may protect
    # parcels in one country and not in another.
    CONFIGURATION_PER_CHANNEL = True
    # Nothing happens until a shop owner switches it on for a channel.
    DEFAULT_ACTIVE = False
    DEFAULT_CONFIGURATION = [
        {"name": name, "value": value} for name, value in plugin_config.DEFAULTS.items()
    ]
    CONFIG_STRUCTURE = {
        name: {
            "type": _FIELD_TYPES[spec.kind],
            "label": spec.label,
            "help_text": spec.help_text,
        }
        for name, spec in plugin_config.FIELDS.items()
    }

    # --- configuration ----------------------------------------------------------

    @classmethod
    def validate_plugin_configuration(
        cls, plugin_configuration: PluginConfiguration, **kwargs: Any
    ) -> None:
        """Reject bad values field by field, so the Dashboard shows each message
        next to its field. Slugs must name existing categories / product types:
        a typo would otherwise switch codes off without a word. Each listed app
        must name exactly one app (it is stored by ID in
        :meth:`pre_save_plugin_configuration`, which Saleor calls next)."""
        values = plugin_config.values_from_items(plugin_configuration.configuration)
        errors = plugin_config.validate(values)
        if c.ALLOWED_APPS not in errors:
            _, problems = configuration.resolve_apps(_allowed_apps(values))
            if problems:
                errors[c.ALLOWED_APPS] = " ".join(problems[:5])
        if not errors:
            categories, product_types = configuration.unknown_slugs(
                *plugin_config.scope_slugs(values)
            )
            if categories:
                errors[c.CATEGORY_SLUGS] = "No category has the slug: " + ", ".join(
                    categories[:5]
                )
            if product_types:
                errors[c.PRODUCT_TYPE_SLUGS] = (
                    "No product type has the slug: " + ", ".join(product_types[:5])
                )
        if (
            not errors
            and plugin_configuration.active
            and plugin_configuration.channel is not None
            and str(values.get(c.EMAIL_MODE) or "").strip().lower() == "single"
            and configuration.user_emails_send_order_confirmation(
                plugin_configuration.channel.slug
            )
        ):
            errors[c.EMAIL_MODE] = (
                "Saleor's User emails plugin still sends its own order confirmation "
                "in this channel: customers would get two. Clear its 'Order "
                "confirmation - template' first (docs/emails.md)."
            )
        if errors:
            raise ValidationError(
                {
                    name: ValidationError(message, code=PluginErrorCode.INVALID.value)
                    for name, message in errors.items()
                }
            )

    @classmethod
    def pre_save_plugin_configuration(
        cls, plugin_configuration: PluginConfiguration
    ) -> None:
        """After validation, before Saleor saves: apps are stored by ID, and keys
        an earlier version kept in the database are deleted once they are
        configured outside it (until then they are only reported, never used)."""
        items = plugin_configuration.configuration or []
        for item in items:
            if item.get("name") == c.ALLOWED_APPS:
                ids, _ = configuration.resolve_apps(
                    _allowed_apps({c.ALLOWED_APPS: item.get("value")})
                )
                item["value"] = ", ".join(ids)
        legacy = plugin_config.legacy_keys(items)
        if plugin_config.legacy_keys_moved(legacy):
            plugin_configuration.configuration = plugin_config.without_legacy_keys(
                items
            )

    @cached_property
    def channel_config(self) -> ChannelConfig | None:
        """This channel's configuration, parsed once per plugin instance (Saleor
        builds one per request). None, with an error logged, if it is unusable."""
        channel = self.channel
        slug = getattr(channel, "slug", "?")
        # Saleor hands the plugin its known fields only; the stored row is at hand
        # (no query) and may still hold keys of an earlier version.
        legacy = plugin_config.legacy_keys(
            getattr(self.db_config, "configuration", None)
        )
        if legacy:
            logger.error(plugin_config.legacy_keys_message(slug, legacy))
        try:
            return plugin_config.parse_items(
                self.configuration, currency=getattr(channel, "currency_code", "")
            )
        except ConfigurationError as exc:
            logger.error(
                "Delivery codes are off in channel %s: invalid configuration of %s.",
                slug,
                ", ".join(sorted(exc.errors)),
            )
        except Exception as exc:
            logger.error(
                "Delivery codes are off in channel %s: configuration unreadable (%s).",
                slug,
                type(exc).__name__,
            )
        return None

    def _run(self, hook: str, obj: Order | Fulfillment) -> None:
        # hooks.run never raises; this guard is for everything before it.
        try:
            config = self.channel_config
            if config is not None:
                hooks.run(hook, obj, config)
        except Exception as exc:  # pragma: no cover - belt and braces
            logger.error(
                "Delivery-code hook %s failed before it started (%s).",
                hook,
                type(exc).__name__,
            )

    # --- hooks: each returns previous_value untouched ---------------------------

    def order_created(
        self, order: Order, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.ORDER_CREATED, order)
        return previous_value

    def order_cancelled(
        self, order: Order, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.ORDER_CANCELLED, order)
        return previous_value

    def order_expired(
        self, order: Order, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.ORDER_EXPIRED, order)
        return previous_value

    def order_fully_refunded(
        self, order: Order, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.ORDER_FULLY_REFUNDED, order)
        return previous_value

    def fulfillment_created(
        self, fulfillment: Fulfillment, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.FULFILLMENT_CREATED, fulfillment)
        return previous_value

    def fulfillment_approved(
        self, fulfillment: Fulfillment, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.FULFILLMENT_APPROVED, fulfillment)
        return previous_value

    def fulfillment_canceled(
        self, fulfillment: Fulfillment, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.FULFILLMENT_CANCELED, fulfillment)
        return previous_value

    def tracking_number_updated(
        self, fulfillment: Fulfillment, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        self._run(flows.TRACKING_NUMBER_UPDATED, fulfillment)
        return previous_value

    def notify(
        self, event: Any, payload_func: Any, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        """Single-e-mail mode sends the order confirmation itself."""
        try:
            config = self.channel_config
            if config is not None:
                hooks.run_notify(event, payload_func, config)
        except Exception as exc:  # pragma: no cover - belt and braces
            logger.error("Delivery-code notify failed (%s).", type(exc).__name__)
        return previous_value

    # --- the delivery-code GraphQL API -----------------------------------------

    def webhook(
        self, request: Any, path: str, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        """Serve the API (docs/graphql.md) at ``/plugins/channel/<slug>/<id>/graphql/``
        (that channel) and ``/plugins/<id>/graphql/`` (every active channel), and
        the driver's page beside it at ``.../<id>/driver/`` (docs/driver-page.md)."""
        from ..driver_page import views as driver_page

        asset = driver_page.split(path)
        if asset is not None:
            # Static HTML, script and stylesheet: no database, no configuration.
            return driver_page.page(request, asset)
        if (path or "").strip("/") != "graphql":
            return previous_value
        from django.http import JsonResponse

        from ..graphql.view import handle
        from .host import SaleorHost

        match = getattr(request, "resolver_match", None)
        channel = match.kwargs.get("channel_slug") if match is not None else None
        # On a channel's route this instance is that channel's: its configuration
        # is already loaded and parsed.
        loaded = {channel: self.channel_config} if channel is not None else None
        try:
            # Saleor's channel-less plugin route is not wrapped in allow_writer.
            host = SaleorHost(loaded)
            with host.db_access():
                return handle(request, host=host, channel=channel)
        except Exception as exc:
            # Never let Django log the request: its body may hold a code.
            logger.error("Delivery-code API failed (%s).", type(exc).__name__)
            failed = JsonResponse(
                {"errors": [{"message": "Internal server error."}]}, status=500
            )
            # Like every answer of the API: never kept by a cache.
            failed["Cache-Control"] = "no-store"
            return failed

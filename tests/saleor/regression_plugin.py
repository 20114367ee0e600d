"""A pytest plugin that runs *Saleor's own* tests with the delivery-code plugin
installed and active in every channel, without changing a line of Saleor.

Run from Saleor's checkout, with this repository on the path::

    cd /work/saleor-src
    PYTHONPATH=/work/main DATABASE_URL=postgres://postgres@127.0.0.1:5432/saleor \\
      /work/saleor-venv/bin/pytest -n 0 --reuse-db -p no:cacheprovider \\
      -p tests.saleor.regression_plugin saleor/order/tests/test_order_actions.py ...

What it does for every test:

* appends the plugin to ``settings.PLUGINS``, after Saleor's autouse fixture
  ``setup_dummy_gateways`` (which resets that list; requesting it orders ours after);
* makes every channel the test creates get an *active* configuration with a
  threshold of 0 in the channel's currency and no category filter, so every
  shippable line qualifies and the hooks issue, bind, e-mail and revoke codes for
  real (``DELIVERY_OTP_REGRESSION_THRESHOLD`` changes the threshold).

``DELIVERY_OTP_REGRESSION_TIMELINE=off`` keeps the plugin's order timeline entries
out of ``order.events`` (they are counted instead): Saleor tests that assert the
exact list of an order's events fail with the plugin only because of that extra,
intended entry, and this shows that nothing else differs.

``DELIVERY_OTP_REGRESSION_MODE=everywhere`` goes further: every ``PluginsManager``
gets the plugin, also in tests that set ``settings.PLUGINS`` themselves or build a
manager from an explicit list (a harsher run; some Saleor tests assert on exact
plugin lists or event counts, see docs/saleor-plugin.md).

At the end it prints how many tests ran with the plugin loaded and how many codes
it issued, so a green run cannot hide a plugin that never ran.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest

PLUGIN_PATH = "saleor_delivery_otp.plugin.DeliveryOTPPlugin"
KEY = "regression-run-key-0123456789abcdef0123456789"

_stats = {
    "tests": 0,
    "with_plugin": 0,
    "codes": 0,
    "timeline_muted": 0,
    "plugin_errors": 0,
}


class _ErrorCounter(logging.Handler):
    """Counts the plugin's own error records: a hook that failed (and was
    swallowed so as not to break Saleor) must not pass unnoticed."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            _stats["plugin_errors"] += 1


def pytest_configure(config: Any) -> None:
    handler = _ErrorCounter()
    logging.getLogger("saleor_delivery_otp").addHandler(handler)


def _configuration() -> list[dict[str, str]]:
    from saleor_delivery_otp import constants as c
    from saleor_delivery_otp import plugin_config as pc

    values = dict(pc.DEFAULTS)
    values[c.THRESHOLD] = os.environ.get("DELIVERY_OTP_REGRESSION_THRESHOLD", "0")
    return [{"name": name, "value": value} for name, value in values.items()]


def _activate_for_channel(sender: Any, instance: Any, created: bool, **kwargs: Any):
    if not created:
        return
    from saleor.plugins.models import PluginConfiguration

    from saleor_delivery_otp import constants as c

    PluginConfiguration.objects.get_or_create(
        identifier=c.PLUGIN_ID,
        channel=instance,
        defaults={"active": True, "configuration": _configuration()},
    )


@pytest.fixture(autouse=True)
def delivery_otp_in_saleor(setup_dummy_gateways, settings, monkeypatch):
    """The plugin installed and switched on for the whole test."""
    from django.db.models.signals import post_save
    from saleor.channel.models import Channel
    from saleor.plugins.manager import PluginsManager

    settings.PLUGINS = [*settings.PLUGINS, PLUGIN_PATH]
    settings.DELIVERY_OTP_KEYS = [KEY]
    if os.environ.get("DELIVERY_OTP_REGRESSION_MODE") == "everywhere":
        original_init = PluginsManager.__init__

        def init(self: Any, plugins: list[str], *args: Any, **kwargs: Any) -> None:
            if PLUGIN_PATH not in plugins:
                plugins = [*plugins, PLUGIN_PATH]
            original_init(self, plugins, *args, **kwargs)

        monkeypatch.setattr(PluginsManager, "__init__", init)

    from saleor_delivery_otp.models import DeliveryCode

    if os.environ.get("DELIVERY_OTP_REGRESSION_TIMELINE") == "off":
        from saleor_delivery_otp.plugin.host import SaleorHost

        def muted(*args: Any, **kwargs: Any) -> None:
            _stats["timeline_muted"] += 1

        monkeypatch.setattr(SaleorHost, "write_timeline", muted)

    post_save.connect(_activate_for_channel, sender=Channel, weak=False)
    post_save.connect(_count_code, sender=DeliveryCode, weak=False)
    try:
        yield
    finally:
        post_save.disconnect(_activate_for_channel, sender=Channel)
        post_save.disconnect(_count_code, sender=DeliveryCode)
        _stats["tests"] += 1
        if PLUGIN_PATH in settings.PLUGINS:
            _stats["with_plugin"] += 1


def _count_code(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        _stats["codes"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        "delivery-otp regression plugin: {tests} tests, {with_plugin} ended with the "
        "plugin in settings.PLUGINS; {codes} delivery codes issued in total; "
        "{timeline_muted} timeline entries muted; {plugin_errors} errors logged by "
        "the plugin.".format(**_stats)
    )

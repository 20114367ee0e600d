"""Runs the Saleor tier inside a real Saleor 3.23, or skips it with a reason.

In the Saleor tier (``pytest -c tests/saleor/saleor-tier.ini tests/saleor`` from
Saleor's virtualenv, see docs/saleor-plugin.md) this file does what Saleor's root
``conftest.py`` does, as that file is not installed with Saleor: the test databases,
the fake replica and the list of Saleor's fixture modules; then it adds ours
(:mod:`tests.saleor.fixtures`).

Anywhere else (the CI tier's ``pytest``, where Saleor is not importable, or Saleor's
virtualenv with other Django settings) every module here is reported as SKIPPED with
the reason, never collected and never counted as passed.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

SALEOR_SETTINGS = "saleor.tests.settings"

# The host contract's assertions are in a module of its own: show their diffs.
pytest.register_assert_rewrite("tests.host_contract")


def _skip_reason() -> str | None:
    if importlib.util.find_spec("saleor") is None:
        return (
            "Saleor tier: Saleor 3.23 is not importable here; run it with "
            "`pytest -c tests/saleor/saleor-tier.ini tests/saleor` from Saleor's "
            "virtualenv (docs/saleor-plugin.md)."
        )
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if settings_module != SALEOR_SETTINGS:
        return (
            f"Saleor tier: needs DJANGO_SETTINGS_MODULE={SALEOR_SETTINGS}, not "
            f"{settings_module or 'unset'}; run it with "
            "`pytest -c tests/saleor/saleor-tier.ini tests/saleor`."
        )
    return None


SKIP_REASON = _skip_reason()


class _SkippedModule(pytest.Module):
    """A test module reported as skipped, without importing it."""

    def collect(self):  # type: ignore[override]
        pytest.skip(SKIP_REASON or "", allow_module_level=True)


def pytest_pycollect_makemodule(module_path, parent):  # type: ignore[no-untyped-def]
    if SKIP_REASON is not None:
        return _SkippedModule.from_parent(parent, path=module_path)
    return None


if SKIP_REASON is None:
    import django.test
    from django.conf import settings
    from saleor.tests.utils import prepare_test_db_connections

    # As Saleor's root conftest.py: every test may use the writer and the replica.
    _TEST_DATABASES = {
        settings.DATABASE_CONNECTION_DEFAULT_NAME,
        settings.DATABASE_CONNECTION_REPLICA_NAME,
    }
    django.test.TransactionTestCase.databases = _TEST_DATABASES  # type: ignore[assignment]
    django.test.TestCase.databases = _TEST_DATABASES  # type: ignore[assignment]
    prepare_test_db_connections()

    # Saleor 3.23.28's root conftest.py, lines 25-50, then ours.
    pytest_plugins = [
        "saleor.tests.fixtures",
        "saleor.app.tests.fixtures",
        "saleor.plugins.tests.fixtures",
        "saleor.graphql.tests.fixtures",
        "saleor.webhook.tests.fixtures",
        "saleor.tax.tests.fixtures",
        "saleor.channel.tests.fixtures",
        "saleor.page.tests.fixtures",
        "saleor.menu.tests.fixtures",
        "saleor.warehouse.tests.fixtures",
        "saleor.thumbnail.tests.fixtures",
        "saleor.order.tests.fixtures",
        "saleor.product.tests.fixtures",
        "saleor.site.tests.fixtures",
        "saleor.shipping.tests.fixtures",
        "saleor.permission.tests.fixtures",
        "saleor.giftcard.tests.fixtures",
        "saleor.discount.tests.fixtures",
        "saleor.checkout.tests.fixtures",
        "saleor.attribute.tests.fixtures",
        "saleor.account.tests.fixtures",
        "saleor.graphql.account.tests.fixtures",
        "saleor.payment.tests.fixtures",
        "saleor.webhook.tests.circuit_breaker.fixtures",
        "tests.saleor.fixtures",
    ]

"""The App tier: a real Saleor 3.23, the App and an SMTP server on 127.0.0.1.

Run it with ``make app-test`` (Saleor's virtualenv in ``SALEOR_VENV``), or from
the repository root::

    /work/saleor-venv/bin/pytest -c tests/app_tier/app-tier.ini tests/app_tier

Anywhere else (the CI tier's ``pytest``, or an interpreter without Saleor) every
module here is reported as SKIPPED with the reason, never collected.

What it needs, each from the environment with a default:

* ``DELIVERY_OTP_APP_TIER_DB``: a PostgreSQL server where it may create and drop
  databases (default ``postgres://postgres@127.0.0.1:5432``). It creates
  ``saleor_apptier`` (cloned from ``saleor_apptier_template``, which Saleor's
  ``migrate`` builds on the first run, ~2 minutes, and again whenever a migration
  of Saleor or of the engine changes; ``DELIVERY_OTP_APP_TIER_FRESH=1`` rebuilds
  it anyway) and ``delivery_otp_apptier_app``, the App's, which the App's own
  ``app serve`` migrates;
* ``DELIVERY_OTP_APP_TIER_REDIS``: a Redis server whose databases 13 (Saleor's
  broker and cache) and 14 (the App's) it flushes (default
  ``redis://127.0.0.1:6379``);
* ``DELIVERY_OTP_APP_PYTHON``: the interpreter the App runs in (default: this
  one; ``make app-test`` gives it the project's own ``.venv``, where Saleor is
  not installed). Saleor runs in this interpreter.
* ``DELIVERY_OTP_APP_TIER_DB_SUFFIX`` and ``DELIVERY_OTP_APP_TIER_REDIS_DBS``:
  another run's names, so that two runs at once do not drop each other's
  databases (``_bench`` makes them ``saleor_apptier_bench``,
  ``saleor_apptier_template_bench`` and ``delivery_otp_apptier_app_bench``;
  ``3,4`` uses Redis databases 3 and 4); ``benchmarks/app.py`` uses those two.

Each process logs into the session's temporary folder; a failed step quotes the
end of every log.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys

import pytest

INI_NAME = "app-tier.ini"
SALEOR_SERIES = "3.23."


def _skip_reason(config: pytest.Config) -> str | None:
    if config.inipath is None or config.inipath.name != INI_NAME:
        return (
            "App tier: runs only with its own configuration, `make app-test` or "
            "`pytest -c tests/app_tier/app-tier.ini tests/app_tier` from Saleor's "
            "virtualenv."
        )
    if importlib.util.find_spec("saleor") is None:
        return (
            f"App tier: Saleor 3.23 is not installed in {sys.executable}; run it "
            "from Saleor's virtualenv (make app-test SALEOR_VENV=...)."
        )
    try:
        version = importlib.metadata.version("saleor")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    if not version.startswith(SALEOR_SERIES):
        return f"App tier: needs Saleor 3.23, found {version} in {sys.executable}."
    return None


class _SkippedModule(pytest.Module):
    """A test module reported as skipped, without importing it."""

    def collect(self):  # type: ignore[override]
        pytest.skip(self.config.stash[_REASON] or "", allow_module_level=True)


_REASON = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REASON] = _skip_reason(config)


def pytest_pycollect_makemodule(module_path, parent):  # type: ignore[no-untyped-def]
    if parent.config.stash.get(_REASON, None) is not None:
        return _SkippedModule.from_parent(parent, path=module_path)
    return None


@pytest.fixture(scope="session")
def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Saleor, its worker, the App, its worker and the SMTP server, running."""
    from .stack import stack_from_env

    logs = tmp_path_factory.mktemp("app-tier-logs")
    running = stack_from_env(
        logs, saleor_python=sys.executable, default_app_python=sys.executable
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()

"""The committed webhook payloads (tests/app_payloads/) are what Saleor sends now.

The same story as ``capture_app_payloads.py`` (that module's ``app_payloads``
fixture), played in this Saleor; nothing is written. A difference means the
subscription queries, the readers or Saleor changed: regenerate the fixtures with
the command in ``capture_app_payloads.py``'s docstring, review the diff and
commit it.
"""

from __future__ import annotations

from .capture_app_payloads import (  # noqa: F401 (fixtures)
    REGENERATE,
    app_payloads,
    committed,
    eur_channel,
    render,
    webhook_app,
)


def test_the_committed_payloads_are_what_saleor_sends(app_payloads):  # noqa: F811
    fresh = {name: render(fixture) for name, fixture in app_payloads.items()}
    stored = committed()

    assert sorted(stored) == sorted(fresh), f"Regenerate them: {REGENERATE}"
    for name in sorted(fresh):
        assert stored[name] == fresh[name], f"{name}.json is stale: {REGENERATE}"

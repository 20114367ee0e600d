"""What the plugin costs Saleor's checkoutComplete and orderFulfill.

Not a test (its name keeps it out of every default collection); run it through
``benchmarks/saleor_overhead.py`` or directly::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saleor \\
      /work/saleor-venv/bin/pytest -c tests/saleor/saleor-tier.ini \\
      tests/saleor/bench_overhead.py -s

Both operations go through Saleor's GraphQL API with the test client, on a
``transactional_db``: each mutation really commits, so hooks run after commit in
autocommit mode as in production (a test transaction would add savepoints and run
hooks at the end). Per round, the plugin is switched on and off for the channel
(the order alternates), a fresh checkout of one 350 USD phone (threshold 300, so
every active round issues a code) is completed, then its order is fulfilled in one
parcel (the order-level code is bound to it).

Timed and counted: the request, including the hooks Saleor runs on commit. Not
counted: the plugin's follow-up Celery task (e-mail queuing, timeline entry,
fulfillment metadata), which a worker runs after the response; it is captured and
measured on its own. Queries are Django's captured SQL statements (savepoints
included); the BEGIN/COMMIT pairs of transactions are counted apart, as in
``benchmarks/verify.py``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from saleor.plugins.models import PluginConfiguration

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import flows

ROUNDS = int(os.environ.get("DELIVERY_OTP_BENCH_ROUNDS", "30"))
WARMUP = int(os.environ.get("DELIVERY_OTP_BENCH_WARMUP", "3"))
MAX_TIME_RATIO = 1.10
MAX_EXTRA_QUERIES = 6


_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def _measure(operation: Callable[[], Any]) -> tuple[Any, float, int, int]:
    """Result, seconds, SQL statements, and BEGIN/COMMIT counted apart."""
    # Django keeps the last 9000 queries only; a full log would count nothing.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = operation()
        elapsed = time.perf_counter() - started
    sql = [query["sql"].strip().upper() for query in queries.captured_queries]
    control = sum(1 for statement in sql if statement in _TRANSACTION_CONTROL)
    return result, elapsed, len(sql) - control, control


@pytest.mark.django_db(transaction=True)
def test_overhead(
    transactional_db,
    channel_USD,
    configure_otp,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    monkeypatch,
):
    configure_otp(channel_USD, threshold="300")
    deferred: list[tuple[Any, tuple[str, ...]]] = []

    def capture(task: Any) -> Callable[..., None]:
        def apply_async(args: tuple[str, ...] = (), **kwargs: Any) -> None:
            deferred.append((task, tuple(args)))

        return apply_async

    monkeypatch.setattr(
        flows.code_follow_up_task,
        "apply_async",
        capture(flows.code_follow_up_task),
    )

    samples: dict[tuple[str, bool], list[tuple[float, int, int]]] = {
        (op, active): []
        for op in ("checkoutComplete", "orderFulfill")
        for active in (False, True)
    }
    follow_up_queries: list[int] = []

    for round_ in range(WARMUP + ROUNDS):
        modes = (True, False) if round_ % 2 else (False, True)
        for active in modes:
            PluginConfiguration.objects.filter(
                identifier=c.PLUGIN_ID, channel=channel_USD
            ).update(active=active)
            checkout = make_checkout(channel_USD, [(catalog.phone, 1)])
            order, *complete = _measure(
                lambda checkout=checkout: complete_checkout(checkout)
            )
            _, *fulfilled = _measure(
                lambda order=order: fulfill(order, {catalog.phone: 1})
            )
            if round_ >= WARMUP:
                samples["checkoutComplete", active].append(tuple(complete))
                samples["orderFulfill", active].append(tuple(fulfilled))
            for task, args in deferred:
                _, _, queries, _ = _measure(
                    lambda task=task, args=args: task.apply(args)
                )
                follow_up_queries.append(queries)
            deferred.clear()

    lines = [
        "",
        f"Saleor overhead of the delivery-code plugin: {ROUNDS} rounds "
        f"(+{WARMUP} warm-up), plugin on/off interleaved, one 350 USD item",
        f"{'operation':<17}{'off ms':>9}{'on ms':>9}{'ratio':>8}{'target':>8}"
        f"{'off q':>7}{'on q':>6}{'+q':>5}{'target':>8}{'+BEGIN/COMMIT':>15}",
    ]
    verdicts = []
    for op in ("checkoutComplete", "orderFulfill"):
        off = samples[op, False]
        on = samples[op, True]
        off_ms = statistics.median(t for t, _, _ in off) * 1000
        on_ms = statistics.median(t for t, _, _ in on) * 1000
        # On and off ran back to back in each round: the median of the per-round
        # ratios cancels the machine's drifts, which the two medians do not.
        ratio = statistics.median(
            on_t / off_t for (on_t, _, _), (off_t, _, _) in zip(on, off, strict=True)
        )
        off_q = max(q for _, q, _ in off)
        on_q = max(q for _, q, _ in on)
        extra = on_q - off_q
        extra_tx = max(x for _, _, x in on) - max(x for _, _, x in off)
        time_ok = ratio <= MAX_TIME_RATIO
        queries_ok = extra <= MAX_EXTRA_QUERIES
        verdicts.append(time_ok and queries_ok)
        lines.append(
            f"{op:<17}{off_ms:>9.1f}{on_ms:>9.1f}{ratio:>8.3f}"
            f"{'<=1.10':>8}{off_q:>7}{on_q:>6}{extra:>+5}{'<=+6':>8}"
            f"{extra_tx:>+15}  {'PASS' if time_ok and queries_ok else 'OVER'}"
        )
    lines.append(
        "Wall time: median per operation; ratio: median of the per-round on/off "
        "ratios. Queries: SQL statements, the most seen in one operation; "
        "BEGIN/COMMIT apart (+2 = one more transaction)."
    )
    if follow_up_queries:
        lines.append(
            "Follow-up task on a worker (not in the request): "
            f"{statistics.median(follow_up_queries):.0f} queries per issued code."
        )
    print("\n".join(lines))
    # A benchmark reports; the figures are read, not asserted. Only sanity:
    assert all(len(values) == ROUNDS for values in samples.values())

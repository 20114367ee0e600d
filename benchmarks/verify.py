"""How fast is a courier's verify, next to the cheapest write on the same table?

Runs ``service.verify`` (right code, wrong code) interleaved with a bare single-row
``UPDATE`` in its own transaction, on a real PostgreSQL, and counts the SQL
statements of one verify. Prints each figure against its target; the exit code is
0 whatever the figures (it is a benchmark, not a test).

It uses its own database, ``delivery_otp_bench`` (``<name>_bench`` with
``DELIVERY_OTP_TEST_DB_NAME=<name>``; created if missing, migrated, truncated
before and after the run), never the test database. Run from anywhere:

    .venv/bin/python benchmarks/verify.py [--n 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

# Beside the tests' database, never it: delivery_otp_bench by default, <name>_bench
# when DELIVERY_OTP_TEST_DB_NAME names another (so parallel checkouts do not
# truncate each other's runs).
_TEST_DB_NAME = os.environ.get("DELIVERY_OTP_TEST_DB_NAME", "delivery_otp")
BENCH_DB = f"{_TEST_DB_NAME}_bench"
TEST_DB = f"test_{_TEST_DB_NAME}"
CHANNEL = "default-channel"
BLOCK = 100  # operations of one kind in a row before switching to the next kind
WARMUP = 20  # untimed operations of each kind before the first round
SAMPLE = 50  # verifies of each kind whose SQL statements are counted
MAX_QUERIES = 3
MAX_RATIO = 3.0
UNKNOWN_FULFILLMENT_BASE = 10**15  # never issued
UPDATE_SQL = "UPDATE delivery_otp_code SET updated_at = now() WHERE id = %s"
TX_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@dataclass(frozen=True)
class Parcel:
    fulfillment_id: int
    record_id: uuid.UUID
    code: str

    @property
    def wrong_code(self) -> str:
        size = len(self.code)
        return f"{(int(self.code) + 1) % 10**size:0{size}d}"


# --- setup ---------------------------------------------------------------------


def ensure_database(db: dict[str, Any]) -> None:
    """Create the benchmark database if missing, through the `postgres` database."""
    import psycopg
    from psycopg import sql

    params = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"]}
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)
        ).fetchone()
        if found is None:
            # Another run may create it meanwhile.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB))
                )


def setup_django() -> None:
    import django
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    db["NAME"] = BENCH_DB
    assert db["NAME"] != TEST_DB
    ensure_database(db)
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def own_tables() -> list[str]:
    from saleor_delivery_otp.models import CodeEvent, DeliveryCode, VerificationAttempt

    return [m._meta.db_table for m in (VerificationAttempt, CodeEvent, DeliveryCode)]


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(own_tables())} RESTART IDENTITY")


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(own_tables())}")


def issue(count: int, ids: Iterator[int]) -> list[Parcel]:
    from saleor_delivery_otp import service

    parcels = []
    for _ in range(count):
        fulfillment_id = next(ids)
        result = service.issue_for_parcel(uuid.uuid4(), fulfillment_id, channel=CHANNEL)
        if not result.created:
            raise RuntimeError(f"fulfillment {fulfillment_id} already had a code")
        record = result.record
        parcels.append(Parcel(fulfillment_id, record.id, service.open_code(record)))
    return parcels


# --- operations ----------------------------------------------------------------


def _verify(
    fulfillment_id: int, code: str, caller: str = "bench", *, later: bool = False
) -> Any:
    from datetime import timedelta

    from django.utils import timezone

    from saleor_delivery_otp import service
    from saleor_delivery_otp.audit import Actor, ActorKind

    actor = Actor(ActorKind.APP, caller, "Benchmark courier")
    # ``later``: past every code's expiry.
    now = timezone.now() + timedelta(days=3650) if later else None
    return service.verify(
        service.Lookup(fulfillment_id=fulfillment_id), code, actor, now=now
    )


def verify_right(parcel: Parcel) -> bool:
    return _verify(parcel.fulfillment_id, parcel.code).accepted


def verify_wrong(parcel: Parcel) -> bool:
    from saleor_delivery_otp.models import AttemptOutcome

    result = _verify(parcel.fulfillment_id, parcel.wrong_code)
    return result.outcome == AttemptOutcome.WRONG_CODE


def verify_unknown(parcel: Parcel) -> bool:
    from saleor_delivery_otp.models import AttemptOutcome

    result = _verify(parcel.fulfillment_id, parcel.code)
    return result.outcome == AttemptOutcome.UNKNOWN


def verify_used(parcel: Parcel) -> bool:
    """A code accepted before, tried by another caller."""
    from saleor_delivery_otp.models import AttemptOutcome

    result = _verify(parcel.fulfillment_id, parcel.code, "another")
    return result.outcome == AttemptOutcome.USED


def verify_retry(parcel: Parcel) -> bool:
    """A code accepted before, retried by the caller that was accepted."""
    return _verify(parcel.fulfillment_id, parcel.code).repeated


def verify_expired(parcel: Parcel) -> bool:
    from saleor_delivery_otp.models import AttemptOutcome

    result = _verify(parcel.fulfillment_id, parcel.code, later=True)
    return result.outcome == AttemptOutcome.EXPIRED


def verify_locked(parcel: Parcel) -> bool:
    from saleor_delivery_otp.models import AttemptOutcome

    result = _verify(parcel.fulfillment_id, parcel.code)
    return result.outcome == AttemptOutcome.LOCKED


def bare_update(parcel: Parcel) -> bool:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(UPDATE_SQL, [parcel.record_id])
        return cursor.rowcount == 1


# --- measuring -----------------------------------------------------------------


@dataclass
class Kind:
    name: str
    op: Callable[[Parcel], bool]
    parcels: Sequence[Parcel]
    times: list[float]
    unexpected: int = 0

    def run(self, parcels: Sequence[Parcel], *, timed: bool = True) -> None:
        clock = time.perf_counter
        for parcel in parcels:
            start = clock()
            ok = self.op(parcel)
            elapsed = clock() - start
            if timed:
                self.times.append(elapsed)
            self.unexpected += not ok


def count_queries(op: Callable[[Parcel], bool], parcels: Sequence[Parcel]) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statements, tx_control, unexpected = [], [], 0
    for parcel in parcels:
        with CaptureQueriesContext(connection) as ctx:
            unexpected += not op(parcel)
        sqls = [q["sql"].lstrip().upper() for q in ctx.captured_queries]
        tx = sum(s.startswith(TX_CONTROL) for s in sqls)
        statements.append(len(sqls) - tx)
        tx_control.append(tx)
    return {
        "max": max(statements),
        "mean": statistics.fmean(statements),
        "tx": max(tx_control),
        "unexpected": unexpected,
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def mark(ok: bool) -> str:
    return "PASS" if ok else "OVER"


def rerun_command(n: int) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(REPO):
        python = python.relative_to(REPO)
    script = Path(__file__).resolve().relative_to(REPO)
    env = ""
    if "DELIVERY_OTP_TEST_DB_NAME" in os.environ:
        env = f"DELIVERY_OTP_TEST_DB_NAME={_TEST_DB_NAME} "
    return f"cd {REPO} && {env}{python} {script} --n {n}"


# --- main ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, default=2000, help="timed operations of each kind"
    )
    args = parser.parse_args()
    n = max(1, args.n)

    started = time.perf_counter()
    setup_django()
    import django
    from django.db import connection

    truncate()
    try:
        run(n)
    finally:
        truncate()
        connection.close()
    took = time.perf_counter() - started
    print(
        f"Done in {took:.0f} s (Django {django.get_version()},"
        f" Python {sys.version.split()[0]}); tables truncated."
    )
    print(f"Rerun: {rerun_command(n)}")


def run(n: int) -> None:
    from django.db import connection

    from saleor_delivery_otp.limits import CodeLimits

    pg = connection.pg_version
    print(
        f"Delivery-code verify benchmark: database {BENCH_DB} "
        f"(PostgreSQL {pg // 10000}.{pg % 10000}), n={n} per kind"
    )

    # Issue the codes the run needs. Right codes: one parcel per verify; its row
    # also takes one bare UPDATE. Wrong codes: separate parcels, each taking as
    # many wrong codes as it can without locking.
    per_parcel = max(1, CodeLimits.from_settings().max_attempts - 1)
    ids = itertools.count(1)
    started = time.perf_counter()
    right = issue(WARMUP + n, ids)
    wrong = issue(-(-(WARMUP + n) // per_parcel), ids)
    sample_right = issue(SAMPLE, ids)
    sample_wrong = issue(SAMPLE, ids)
    sample_expired = issue(SAMPLE, ids)
    sample_locked = issue(SAMPLE, ids)
    issued = len(right) + len(wrong) + 4 * SAMPLE
    took = time.perf_counter() - started
    print(f"Issued {issued} parcel codes in {took:.1f} s ({issued / took:.0f}/s)")
    analyze()
    wrong = (wrong * per_parcel)[: WARMUP + n]
    unknown = [
        Parcel(UNKNOWN_FULFILLMENT_BASE + i, uuid.uuid4(), "123456")
        for i in range(SAMPLE)
    ]

    # SQL statements per verify. CaptureQueriesContext forces the debug cursor,
    # whatever settings.DEBUG says; BEGIN/COMMIT markers are counted apart.
    print()
    print(
        f"SQL queries per verify (BEGIN/COMMIT counted apart), sample of {SAMPLE}"
        f" each, target <= {MAX_QUERIES}:"
    )
    max_attempts = CodeLimits.from_settings().max_attempts
    for parcel in sample_locked:
        for _ in range(max_attempts):
            _verify(parcel.fulfillment_id, parcel.wrong_code)
    for label, op, parcels in (
        ("right code", verify_right, sample_right),
        ("wrong code", verify_wrong, sample_wrong),
        ("unknown parcel", verify_unknown, unknown),
        # The right-code sample is used by now.
        ("used code", verify_used, sample_right),
        ("caller's retry", verify_retry, sample_right),
        ("expired code", verify_expired, sample_expired),
        ("locked code", verify_locked, sample_locked),
    ):
        counted = count_queries(op, parcels)
        print(
            f"  {label:<15} max {counted['max']}  mean {counted['mean']:.2f}"
            f"  (+{counted['tx']} BEGIN/COMMIT)  {mark(counted['max'] <= MAX_QUERIES)}"
        )
        if counted["unexpected"]:
            print(f"    WARNING: {counted['unexpected']} gave an unexpected outcome")

    kinds = [
        Kind("verify, right code", verify_right, right[WARMUP:], []),
        Kind("verify, wrong code", verify_wrong, wrong[WARMUP:], []),
        Kind("bare UPDATE", bare_update, right[WARMUP:], []),
    ]
    warm = (right[:WARMUP], wrong[:WARMUP], right[:WARMUP])
    for kind, parcels in zip(kinds, warm, strict=True):
        kind.run(parcels, timed=False)
    rounds = -(-n // BLOCK)
    for r in range(rounds):
        # Rotate which kind goes first, so none always runs after the same one.
        for kind in kinds[r % 3 :] + kinds[: r % 3]:
            kind.run(kind.parcels[r * BLOCK : (r + 1) * BLOCK])

    print()
    print(f"Timed, interleaved in blocks of {BLOCK}, {rounds} rounds:")
    for kind in kinds:
        mean = statistics.fmean(kind.times)
        print(
            f"  {kind.name:<19} {1 / mean:7.0f}/s   mean {mean * 1e3:.3f} ms"
            f"  median {statistics.median(kind.times) * 1e3:.3f} ms"
            f"  p95 {percentile(kind.times, 0.95) * 1e3:.3f} ms"
        )
    for kind in kinds:
        if kind.unexpected:
            print(f"  WARNING: {kind.unexpected} {kind.name} gave an unexpected result")

    update = kinds[2].times
    print()
    print(f"Ratio verify time / bare UPDATE time, target <= {MAX_RATIO:g}x:")
    for kind in kinds[:2]:
        mean = statistics.fmean(kind.times) / statistics.fmean(update)
        median = statistics.median(kind.times) / statistics.median(update)
        print(
            f"  {kind.name:<19} mean {mean:5.2f}x {mark(mean <= MAX_RATIO)}"
            f"   median {median:5.2f}x {mark(median <= MAX_RATIO)}"
        )
    print()


if __name__ == "__main__":
    main()

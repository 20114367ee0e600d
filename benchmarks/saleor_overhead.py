"""What does the delivery-code plugin cost Saleor's checkoutComplete and orderFulfill?

Runs ``tests/saleor/bench_overhead.py`` in the Saleor tier: both operations through
Saleor's GraphQL API, the plugin switched on and off for the channel in alternation
within one run, and prints per operation the median wall time and the SQL statements,
off against on, with the targets (at most +10% wall time, at most +6 queries).

It needs Saleor 3.23 importable (run it with Saleor's virtualenv) and its test
database (``DATABASE_URL``; the same one the Saleor tier uses)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saleor \\
      /work/saleor-venv/bin/python benchmarks/saleor_overhead.py [--rounds 30]

The exit code is 0 whatever the figures: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_saleor_bench(
    bench_file: str, description: str, *, rounds: int, warmup: int
) -> int:
    """Runs one of the Saleor tier's ``bench_*.py`` files with pytest, in Saleor's
    virtualenv (this Python), and lets it print its table."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--warmup", type=int, default=warmup)
    args = parser.parse_args()
    if importlib.util.find_spec("saleor") is None:
        print(
            "Saleor is not importable with this Python; run this script with "
            "Saleor's virtualenv (see docs/saleor-plugin.md).",
            file=sys.stderr,
        )
        return 0
    env = {
        **os.environ,
        "DELIVERY_OTP_BENCH_ROUNDS": str(args.rounds),
        "DELIVERY_OTP_BENCH_WARMUP": str(args.warmup),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(REPO / "tests/saleor/saleor-tier.ini"),
        str(REPO / bench_file),
        "-s",
        "-q",
        "-p",
        "no:logging",
    ]
    subprocess.run(command, cwd=REPO, env=env, check=False)  # noqa: S603
    return 0


if __name__ == "__main__":
    sys.exit(
        run_saleor_bench(
            "tests/saleor/bench_overhead.py", __doc__ or "", rounds=30, warmup=3
        )
    )

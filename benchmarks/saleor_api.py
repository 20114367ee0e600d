"""The courier's verify through the plugin's route, against Saleor's own ``me``.

Runs ``tests/saleor/bench_api.py`` in the Saleor tier and prints both medians and
their ratio (target: verify at most 1.5 times ``{ me { email } }``). Needs Saleor
3.23 importable and its test database, like ``benchmarks/saleor_overhead.py``::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saleor \\
      /work/saleor-venv/bin/python benchmarks/saleor_api.py [--rounds 60]
"""

from __future__ import annotations

import sys

from saleor_overhead import run_saleor_bench

if __name__ == "__main__":
    sys.exit(
        run_saleor_bench(
            "tests/saleor/bench_api.py", __doc__ or "", rounds=60, warmup=5
        )
    )

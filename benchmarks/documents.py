"""What the endpoint's document limits and cache cost (saleor_delivery_otp/graphql/
documents.py), CPU only: no database, no Saleor.

    PYTHONPATH=. .venv/bin/python benchmarks/documents.py [--n 2000]

Prints, for the security review's documents (issue 9), how long the endpoint takes
to refuse each one (it took 17 to 32 s to validate them); then, for the courier's
verify, what preparing it costs per request without the cache (parse, limits,
validate: what every request paid before) and with it (a lookup).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from saleor_delivery_otp.graphql import documents  # noqa: E402
from saleor_delivery_otp.graphql.schema import schema  # noqa: E402

VERIFY = """
mutation verify($fulfillment: ID, $code: String!) {
  deliveryCodeVerify(fulfillmentId: $fulfillment, code: $code) { accepted }
}
"""
REVIEW = {
    "2,500 aliased _service { sdl }": "{ "
    + " ".join(f"a{n}: _service {{ sdl }}" for n in range(2500))
    + " }",
    "3,000 unaliased _service { sdl }": "{ "
    + " ".join("_service { sdl }" for _ in range(3000))
    + " }",
    "1,500 aliased orderDeliveryCodes": "{ "
    + " ".join(f'a{n}:orderDeliveryCodes(orderId:"") {{id}}' for n in range(1500))
    + " }",
    "50 aliased verifies (2.3 KB)": "mutation { "
    + " ".join(
        f'a{n}: deliveryCodeVerify(trackingNumber: "T", code: "1") {{ accepted }}'
        for n in range(50)
    )
    + " }",
    "2,700-deep selection (8 KB)": "{a" * 2700 + "}" * 2700,
    "4,000-deep list literal (8 KB)": "{ a(x: " + "[" * 4000 + "]" * 4000 + ") }",
}


def median_ms(call: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()

    print("Refusing the review's documents (median of", args.n // 10, "each):")
    for name, text in REVIEW.items():
        prepared = documents.prepare(schema, text)
        assert prepared.document is None, name
        ms = median_ms(lambda text=text: documents.prepare(schema, text), args.n // 10)
        print(f"  {name:34} {ms:7.3f} ms  {prepared.errors[0].message}")

    cache = documents.DocumentCache(schema)
    cache.get(VERIFY)
    uncached = median_ms(lambda: documents.prepare(schema, VERIFY), args.n)
    cached = median_ms(lambda: cache.get(VERIFY), args.n)
    print(f"The courier's verify, {args.n} times:")
    print(f"  parse + limits + validate (uncached) {uncached:7.3f} ms per request")
    print(f"  from the cache                       {cached:7.3f} ms per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does a wrong first digit answer faster than a wrong last digit? (security bar row 6)

A paired sign test on ``Keyring.matches``: calls with the first digit wrong and with
the last digit wrong are interleaved in pairs, the order within a pair alternating,
and the share of pairs in which the first-digit-wrong call took longer is printed
with a verdict. With no timing difference each pair is a fair coin: the share has
mean 0.5 and standard deviation sqrt(0.25 / n), about 0.009 for 3000 pairs.

The same measurement of a deliberately leaky comparison (stops at the first wrong
digit) is printed beside it, to show the test can see a leak on this machine.

Not a test: wall-clock time on a shared machine is noise that a CI run cannot
control (the test suite proves instead that ``hmac.compare_digest`` decides). The
exit code is 0 whatever the figures. Run from anywhere, no database needed:

    .venv/bin/python benchmarks/timing.py [--pairs 3000]    # or: make bench-timing
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PAIRS = 3000
WARMUP = 200
# 0.40..0.60 is more than 9 standard deviations either side of 0.5 for 3000 pairs.
LOW, HIGH = 0.40, 0.60
CODE = "123456"
FIRST_WRONG = "923456"
LAST_WRONG = "123457"


def first_wrong_slower_share(
    check: Callable[[str], object],
    first_wrong: str,
    last_wrong: str,
    *,
    pairs: int = PAIRS,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> float:
    """The share of pairs in which ``check(first_wrong)`` took longer.

    Calls are interleaved in pairs, and the order within a pair alternates, so that
    drift (CPU frequency, caches, other processes) and "the first call of a pair is
    slower" hit both candidates alike. Ties are left out, as in any sign test.
    """
    for _ in range(WARMUP):
        check(first_wrong)
        check(last_wrong)
    slower = faster = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(pairs):
            if i % 2:
                t0 = clock()
                check(first_wrong)
                t1 = clock()
                check(last_wrong)
                t2 = clock()
                first, last = t1 - t0, t2 - t1
            else:
                t0 = clock()
                check(last_wrong)
                t1 = clock()
                check(first_wrong)
                t2 = clock()
                last, first = t1 - t0, t2 - t1
            if first > last:
                slower += 1
            elif first < last:
                faster += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    decided = slower + faster
    if decided < pairs // 2:
        raise RuntimeError("The clock is too coarse for a sign test.")
    return slower / decided


def verdict(share: float) -> str:
    if LOW <= share <= HIGH:
        return "no significant difference"
    if share < LOW:
        return "LEAK: a wrong first digit answers faster"
    return "LEAK: a wrong last digit answers faster"


def leaky_check(code: str) -> Callable[[str], bool]:
    """The comparison the project must not use: stops at the first difference,
    a little work per matching digit."""

    def equal(candidate: str) -> bool:
        for typed, right in zip(candidate, code, strict=True):
            if typed != right:
                return False
            sum(range(200))
        return True

    return equal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=PAIRS)
    pairs = max(100, parser.parse_args().pairs)
    sys.path.insert(0, str(REPO))
    from saleor_delivery_otp.codes import Keyring

    keyring = Keyring(["timing-benchmark-key-0123456789abcdef"])
    record_id, key_id = uuid.uuid4(), keyring.current.key_id
    stored = keyring.digest(record_id, CODE)

    def matches(candidate: str) -> bool:
        return keyring.matches(record_id, key_id, stored, candidate)

    print(
        f"Paired sign test, {pairs} pairs, first digit wrong ({FIRST_WRONG}) vs "
        f"last digit wrong ({LAST_WRONG}); no difference: share in {LOW}..{HIGH}"
    )
    for label, check in (
        ("Keyring.matches", matches),
        ("leaky comparison (control)", leaky_check(CODE)),
    ):
        started = time.perf_counter()
        share = first_wrong_slower_share(check, FIRST_WRONG, LAST_WRONG, pairs=pairs)
        took = time.perf_counter() - started
        print(
            f"  {label:<27} share first-wrong slower {share:.3f}  "
            f"{verdict(share)}  ({took:.1f} s)"
        )
    print(
        "A control that shows no leak means this machine is too noisy to tell; "
        "rerun on a quieter one."
    )


if __name__ == "__main__":
    main()

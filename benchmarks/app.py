"""The Saleor App against a real Saleor 3.23 on this machine (issue 11, "Benchmarks").

Starts the App tier's stack (``tests/app_tier/stack.py``: Saleor under uvicorn with
its Celery worker, the App's ``app serve`` and ``app worker``, a real SMTP server),
installs the App with ``appInstall``, and measures in one run:

1. the courier's ``deliveryCodeVerify`` through the App (a courier app's token, a
   wrong code on a parcel allowed 20 attempts: each call locks the row, checks the
   code, counts the attempt and logs it) against Saleor's own ``{ me { email } }``
   (the customer's JWT), one of each per round, the order alternating; median and
   p95; target App/Saleor <= 1.0x (the App is not behind Saleor's plugin manager);
2. the time from checkoutComplete's HTTP answer to the code e-mail arriving in the
   SMTP server, one order of a 349 EUR watch at a time; p50 and p95;
3. verifies per second by 20 concurrent couriers (20 threads, each its own courier
   app and token, each its own parcels) against bare single-row UPDATEs by 20
   threads on the same PostgreSQL (each its own connection and row of a scratch
   table); the ratio.

Run it with Saleor's Python (the App runs in ``DELIVERY_OTP_APP_PYTHON``, default
the project's ``.venv``)::

    /work/saleor-venv/bin/python benchmarks/app.py [--rounds 60] [--orders 30]

or ``make bench-app SALEOR_VENV=/work/saleor-venv``. Its databases are the App
tier's with the suffix ``_bench`` and Redis databases 3 and 4 (the App tier's
``DELIVERY_OTP_APP_TIER_DB_SUFFIX`` and ``DELIVERY_OTP_APP_TIER_REDIS_DBS`` override
them), so that ``make app-test`` may run at the same time. The first run migrates
Saleor's template database (about two minutes). The exit code is 0 whatever the
figures: it is a benchmark, not a test (1 if the stack could not run it).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import secrets
import shlex
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.app_tier import test_story as story  # noqa: E402
from tests.app_tier.stack import (  # noqa: E402
    GraphQL,
    Names,
    Stack,
    StackError,
    stack_from_env,
    wait_for,
)

MAX_RATIO = 1.0  # verify through the App / Saleor's me { email }
COURIERS = 20  # concurrent couriers of part 3
MAX_ATTEMPTS = 20  # the channel's "attempts before the code locks" (the maximum)
WRONG_PER_PARCEL = MAX_ATTEMPTS - 1  # wrong codes a parcel takes without locking
WARMUP = 5
WATCHES_PER_ORDER = 40  # Saleor refuses more than 50 of one item in a checkout
WEBHOOK_TIMEOUT = 90
BENCH_NAMES = {"suffix": "_bench", "redis_dbs": "3,4"}
ORDER_URL = "https://shop.example.com/orders/{token}"
ME = "{ me { email } }"


# --- small helpers -------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (p50 is the median of an odd count)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def post(url: str, query: str, variables: dict[str, Any], bearer: str) -> Any:
    """One GraphQL POST, as a client makes it: a new connection, the JSON read."""
    response = requests.post(
        url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=60,
    )
    return response.json()


def saleor_posts(stack: Stack) -> int:
    """How many POST /graphql/ Saleor's uvicorn has logged so far (the App's
    App-token look-ups among them)."""
    log = next(p for p in stack.processes.started if p.name == "saleor").log
    return log.read_text(errors="replace").count('"POST /graphql/ HTTP/1.1"')


def cpu_seconds(stack: Stack, name: str) -> float:
    """User and system CPU time the stack's process ``name`` has used so far
    (``/proc/<pid>/stat``; the App's ``app serve`` and Saleor's uvicorn each
    serve every request in that one process)."""
    process = next(p for p in stack.processes.started if p.name == name)
    fields = Path(f"/proc/{process.popen.pid}/stat").read_text().rsplit(")", 1)[1]
    utime, stime = fields.split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (``/proc/stat``,
    every core), and this process's own CPU seconds (the bench's client)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / hz, sum(os.times()[:2])


def settle(stack: Stack, quiet: float = 3.0, timeout: float = 120) -> None:
    """Until no process of the stack has logged anything for ``quiet`` seconds
    (the workers' queues done), so a measurement starts on an idle stack."""

    def sizes() -> tuple[int, ...]:
        return tuple(p.log.stat().st_size for p in stack.processes.started)

    last = (sizes(), time.monotonic())

    def still() -> bool:
        nonlocal last
        now = sizes()
        if now != last[0]:
            last = (now, time.monotonic())
            return False
        return time.monotonic() - last[1] >= quiet

    wait_for("the stack to go quiet", still, timeout=timeout, interval=0.5)


def wrong_code() -> str:
    """A well-formed six-digit code (a malformed one costs no attempt and does not
    reach the database); one in a million is the right one, which the answer
    shows (counted as unexpected)."""
    return f"{secrets.randbelow(10**6):06d}"


class Oddities:
    """Answers that were not the expected ones (reported, never raised: a
    benchmark goes on)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def add(self, what: str, answer: object) -> None:
        with self._lock:
            self.seen.append(f"{what}: {json.dumps(answer)[:400]}")


ODD = Oddities()


def verify_wrong(url: str, token: str, parcel: str, attempt: int) -> float:
    """A courier's wrong code for ``parcel``, its ``attempt``-th: the wall time
    of the call (the answer checked: refused, one attempt fewer, no error)."""
    started = time.perf_counter()
    answer = post(url, story.VERIFY, {"tracking": parcel, "code": wrong_code()}, token)
    took = time.perf_counter() - started
    expected = {"accepted": False, "attemptsLeft": MAX_ATTEMPTS - attempt, "errors": []}
    if ((answer.get("data") or {}).get("deliveryCodeVerify") or {}) != expected:
        ODD.add(f"verify {parcel} attempt {attempt}", answer)
    return took


# --- the shop -------------------------------------------------------------------------


@dataclass
class Shop:
    stack: Stack
    public_id: str
    couriers: list[str]  # App tokens
    payments: str  # a payment app's token
    _tokens: dict[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def app_api(self) -> GraphQL:
        return self.stack.app_api(self.public_id)

    def token(self, who: str) -> str:
        """The customer's or the staff member's JWT, renewed after two minutes
        (Saleor's live five)."""
        made, jwt = self._tokens.get(who, (0.0, ""))
        if time.monotonic() - made > 120:
            jwt = story.token(self.stack, who)
            self._tokens[who] = (time.monotonic(), jwt)
        return jwt


def set_up_shop(stack: Stack, couriers: int) -> Shop:
    """The App installed from its manifest, ``couriers`` courier apps and a payment
    app, and delivery codes on in the EUR channel for all the couriers, with 20
    attempts per code (the configuration written as the page stores it, as in the
    story)."""
    installed = story.install_app(stack)
    staff = story.token(stack, "staff")
    made = []
    for number in range(couriers):
        made.append(
            stack.saleor.mutate(
                "appCreate",
                story.APP_CREATE,
                {"name": f"Courier {number}", "permissions": []},
                staff,
            )
        )
    payments = stack.saleor.mutate(
        "appCreate",
        story.APP_CREATE,
        {"name": "Payments", "permissions": ["HANDLE_PAYMENTS"]},
        staff,
    )["authToken"]
    items = [
        {
            "name": "allowedApps",
            "value": ",".join(story.pk(app["app"]["id"]) for app in made),
        },
        {"name": "maxAttempts", "value": str(MAX_ATTEMPTS)},
        {"name": "orderUrl", "value": ORDER_URL},
    ]
    with stack.app_db() as db:
        db.execute(
            "INSERT INTO delivery_otp_app_channelconfiguration "
            "(installation_id, slug, currency, active, items, updated_at) "
            "SELECT id, %s, %s, true, %s, now() FROM delivery_otp_app_installation "
            "WHERE public_id = %s",
            (
                stack.shop["channel"],
                stack.shop["currency"],
                json.dumps(items),
                installed.public_id,
            ),
        )
    return Shop(
        stack,
        installed.public_id,
        [str(app["authToken"]) for app in made],
        str(payments),
    )


def place_order(shop: Shop, watches: int) -> tuple[dict[str, Any], float]:
    """A customer's checkout of ``watches`` 349 EUR watches, paid in full, placed
    with checkoutComplete: the order and ``time.monotonic()`` when
    checkoutComplete's answer arrived."""
    stack = shop.stack
    customer = shop.token("customer")
    checkout = stack.saleor.mutate(
        "checkoutCreate",
        story.CHECKOUT_CREATE,
        {
            "input": {
                "channel": stack.shop["channel"],
                "email": stack.shop["customer"]["email"],
                "lines": [
                    {"variantId": stack.shop["variants"]["watch"], "quantity": watches}
                ],
                "shippingAddress": story.ADDRESS,
                "billingAddress": story.ADDRESS,
            }
        },
        customer,
    )["checkout"]
    total = stack.saleor.mutate(
        "checkoutDeliveryMethodUpdate",
        story.DELIVERY_METHOD,
        {"id": checkout["id"], "method": stack.shop["shipping_method"]},
        customer,
    )["checkout"]["totalPrice"]["gross"]
    stack.saleor.mutate(
        "transactionCreate",
        story.TRANSACTION_CREATE,
        {"id": checkout["id"], "amount": total["amount"], "currency": "EUR"},
        shop.payments,
    )
    response = requests.post(
        stack.saleor_api_url,
        json={"query": story.CHECKOUT_COMPLETE, "variables": {"id": checkout["id"]}},
        headers={"Authorization": f"Bearer {customer}"},
        timeout=60,
    )
    answered = time.monotonic()
    payload = response.json()["data"]["checkoutComplete"]
    if payload.get("errors") or not payload.get("order"):
        raise StackError(f"checkoutComplete failed: {payload}")
    return payload["order"], answered


def ship_parcels(shop: Shop, count: int) -> list[str]:
    """``count`` watches in orders of at most ``WATCHES_PER_ORDER`` (Saleor's
    limit per checkout line is 50), each watch shipped in a parcel of its own
    with a tracking number; waits until the App holds an active code for each
    (an order's code binds to its first parcel, each further parcel gets its
    own) and the stack is quiet again. Their tracking numbers."""
    stack = shop.stack
    tracking = [f"BENCH{number:05d}" for number in range(count)]
    for first in range(0, count, WATCHES_PER_ORDER):
        batch = tracking[first : first + WATCHES_PER_ORDER]
        order, _ = place_order(shop, len(batch))
        line = order["lines"][0]["id"]
        for number in batch:
            stack.saleor.mutate(
                "orderFulfill",
                story.ORDER_FULFILL,
                {
                    "order": order["id"],
                    "input": {
                        "lines": [
                            {
                                "orderLineId": line,
                                "stocks": [
                                    {
                                        "quantity": 1,
                                        "warehouse": stack.shop["warehouse"],
                                    }
                                ],
                            }
                        ],
                        "notifyCustomer": False,
                        "trackingNumber": number,
                    },
                },
                shop.token("staff"),
            )

    def coded() -> bool:
        with stack.app_db() as db:
            row = db.execute(
                "SELECT count(*) FROM delivery_otp_code WHERE status = 'active' "
                "AND tracking_number = ANY(%s)",
                (tracking,),
            ).fetchone()
        return bool(row and row[0] == count)

    wait_for(
        f"the App to hold codes for {count} parcels",
        coded,
        timeout=WEBHOOK_TIMEOUT + count,
        interval=1,
        diagnose=stack.diagnose,
    )
    settle(stack)
    return tracking


# --- 1. verify through the App against Saleor's me ------------------------------------


@dataclass
class Part1:
    rounds: int
    verify: list[float]
    me: list[float]
    warmup_lookups: int
    lookups: int  # App-token look-ups in Saleor during the timed rounds
    app_cpu: float  # CPU seconds of the App's process in the timed rounds
    saleor_cpu: float  # and of Saleor's


def verify_against_me(shop: Shop, parcels: list[str], rounds: int) -> Part1:
    stack = shop.stack
    app_url, saleor_url = shop.app_api.url, stack.saleor_api_url
    courier = shop.couriers[0]
    customer = shop.token("customer")
    attempts = dict.fromkeys(parcels, 0)
    verify_s: list[float] = []
    me_s: list[float] = []

    def verify(index: int) -> float:
        parcel = parcels[index // WRONG_PER_PARCEL]
        attempts[parcel] += 1
        return verify_wrong(app_url, courier, parcel, attempts[parcel])

    def me() -> float:
        started = time.perf_counter()
        answer = post(saleor_url, ME, {}, customer)
        took = time.perf_counter() - started
        email = stack.shop["customer"]["email"]
        if (answer.get("data") or {}).get("me") != {"email": email}:
            ODD.add("me", answer)
        return took

    before = saleor_posts(stack)
    for index in range(WARMUP):
        verify(index)
        me()
    time.sleep(0.5)  # uvicorn's access log written
    timed_from = saleor_posts(stack)
    warmup_lookups = timed_from - before - WARMUP
    cpu = cpu_seconds(stack, "app"), cpu_seconds(stack, "saleor")
    for index in range(WARMUP, WARMUP + rounds):
        if index % 2:
            verify_s.append(verify(index))
            me_s.append(me())
        else:
            me_s.append(me())
            verify_s.append(verify(index))
    app_cpu = cpu_seconds(stack, "app") - cpu[0]
    saleor_cpu = cpu_seconds(stack, "saleor") - cpu[1]
    time.sleep(0.5)
    lookups = saleor_posts(stack) - timed_from - rounds
    return Part1(
        rounds,
        verify_s,
        me_s,
        warmup_lookups,
        lookups,
        app_cpu,
        saleor_cpu,
    )


# --- 2. checkoutComplete's answer to the code e-mail ----------------------------------


def email_latency(shop: Shop, orders: int) -> list[float]:
    stack = shop.stack
    latencies = []
    for _ in range(orders):
        order, answered = place_order(shop, 1)
        subject = f"Your delivery code for order #{order['number']}"

        def arrived(subject: str = subject) -> float | None:
            for received, message in stack.mailbox.received():
                if message["Subject"] == subject:
                    return received
            return None

        received = wait_for(
            f"the code e-mail of order #{order['number']}",
            arrived,
            timeout=WEBHOOK_TIMEOUT,
            interval=0.005,
            diagnose=stack.diagnose,
        )
        latencies.append(received - answered)
    return latencies


# --- 3. 20 couriers at once against bare UPDATEs --------------------------------------


@dataclass
class Concurrent:
    calls: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


def in_threads(
    work: list[Callable[[threading.Barrier], list[float]]],
    at_start: Callable[[], object] = lambda: None,
) -> Concurrent:
    """Runs each callable in its own thread, started together behind a barrier;
    the calls made, the wall time from the barrier to the last thread's end, and
    every call's latency."""
    barrier = threading.Barrier(len(work) + 1)
    results: list[list[float]] = [[] for _ in work]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = work[index](barrier)
        except BaseException as exc:  # reported after the join
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    at_start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise StackError(f"A thread failed: {errors[0]!r}")
    latencies = [t for result in results for t in result]
    return Concurrent(len(latencies), seconds, latencies)


@dataclass
class Part3:
    verify: Concurrent
    update: Concurrent
    lookups: int
    first_calls: list[float]  # each courier's first verify (its token looked up)
    app_cpu: float  # CPU seconds of the App's process, from the barrier to the end
    machine_busy: float  # CPU seconds the machine was busy meanwhile (all cores)
    client_cpu: float  # CPU seconds of this process (the 20 couriers' client)


def couriers_against_updates(
    shop: Shop, parcels: list[list[str]], updates: int
) -> Part3:
    stack = shop.stack
    url = shop.app_api.url

    def courier(
        token: str, mine: list[str]
    ) -> tuple[Callable[[], float], Callable[[threading.Barrier], list[float]]]:
        """A courier's untimed first verify (the App resolves its token with
        Saleor, then keeps it), and its timed ones, behind the barrier."""
        attempts = dict.fromkeys(mine, 0)
        parcels_in_turn = [p for _ in range(WRONG_PER_PARCEL) for p in mine]

        def call(parcel: str) -> float:
            attempts[parcel] += 1
            return verify_wrong(url, token, parcel, attempts[parcel])

        def work(barrier: threading.Barrier) -> list[float]:
            barrier.wait()
            return [call(parcel) for parcel in parcels_in_turn[1:]]

        return lambda: call(parcels_in_turn[0]), work

    with stack.app_db() as db:
        db.execute("DROP TABLE IF EXISTS bench_scratch")
        db.execute("CREATE TABLE bench_scratch (id int PRIMARY KEY, n bigint)")
        db.execute(
            "INSERT INTO bench_scratch SELECT i, 0 FROM generate_series(1, %s) i",
            (COURIERS,),
        )

    def updater(row: int) -> Callable[[threading.Barrier], list[float]]:
        def work(barrier: threading.Barrier) -> list[float]:
            with stack.app_db() as db:
                db.execute("SELECT 1")
                barrier.wait()
                times = []
                for _ in range(updates):
                    started = time.perf_counter()
                    db.execute(
                        "UPDATE bench_scratch SET n = n + 1 WHERE id = %s", (row,)
                    )
                    times.append(time.perf_counter() - started)
                return times

        return work

    first = in_threads([updater(row) for row in range(1, COURIERS + 1)])
    settle(stack, quiet=1.0)
    couriers = [
        courier(token, mine)
        for token, mine in zip(shop.couriers[1:], parcels, strict=True)
    ]
    # One after the other, as couriers start their rounds (twenty look-ups at
    # once can outlast the App's time-out for Saleor's answer on a loaded
    # machine, and the App then refuses, as it should); the timed calls follow
    # within the cache's 30 s.
    first_calls = [warm() for warm, _ in couriers]
    time.sleep(0.5)  # uvicorn's access log written
    before = saleor_posts(stack)
    cpu: list[float] = []

    def at_start() -> None:
        cpu.extend((cpu_seconds(stack, "app"), *machine_cpu()))

    verify = in_threads([work for _, work in couriers], at_start=at_start)
    app_cpu = cpu_seconds(stack, "app") - cpu[0]
    busy, client = machine_cpu()
    busy, client = busy - cpu[1], client - cpu[2]
    time.sleep(0.5)  # uvicorn's access log written
    lookups = saleor_posts(stack) - before
    second = in_threads([updater(row) for row in range(1, COURIERS + 1)])
    update = Concurrent(
        first.calls + second.calls,
        first.seconds + second.seconds,
        first.latencies + second.latencies,
    )
    with stack.app_db() as db:
        db.execute("DROP TABLE bench_scratch")
    return Part3(verify, update, lookups, first_calls, app_cpu, busy, client)


# --- main -----------------------------------------------------------------------------


def note(text: str) -> None:
    print(textwrap.fill(text, 100, subsequent_indent="   "))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rerun_command(args: argparse.Namespace) -> str:
    python = Path(sys.executable)
    script = Path(__file__).resolve().relative_to(REPO)
    env = [
        f"{name}={shlex.quote(os.environ[name])}"
        for name in (
            "DELIVERY_OTP_APP_PYTHON",
            "DELIVERY_OTP_APP_TIER_DB",
            "DELIVERY_OTP_APP_TIER_REDIS",
            "DELIVERY_OTP_APP_TIER_DB_SUFFIX",
            "DELIVERY_OTP_APP_TIER_REDIS_DBS",
        )
        if name in os.environ
    ]
    options = (
        f"--rounds {args.rounds} --orders {args.orders} "
        f"--parcels-per-courier {args.parcels_per_courier} --updates {args.updates}"
    )
    return f"cd {REPO} && {' '.join([*env, str(python), str(script)])} {options}"


def report(
    stack: Stack,
    args: argparse.Namespace,
    part1: Part1,
    latencies: list[float],
    part3: Part3,
    context: str,
) -> None:
    v_med, m_med = statistics.median(part1.verify), statistics.median(part1.me)
    v_p95, m_p95 = percentile(part1.verify, 0.95), percentile(part1.me, 0.95)
    ratio, ratio95 = v_med / m_med, v_p95 / m_p95
    per_round = statistics.median(
        v / m for v, m in zip(part1.verify, part1.me, strict=True)
    )
    v3, u3 = part3.verify, part3.update
    rate_ratio = u3.rate / v3.rate
    rows = [
        ("", "the App", "reference", "ratio", "target", ""),
        (
            f"1. one call ({part1.rounds} rounds, interleaved)",
            "deliveryCodeVerify",
            "Saleor's me { email }",
            "App/Saleor",
            "",
            "",
        ),
        (
            "   median",
            ms(v_med),
            ms(m_med),
            f"{ratio:.3f}x",
            f"<= {MAX_RATIO:.1f}x",
            verdict(ratio <= MAX_RATIO),
        ),
        ("   p95", ms(v_p95), ms(m_p95), f"{ratio95:.3f}x", "", ""),
        ("   median of per-round ratios", "", "", f"{per_round:.3f}x", "", ""),
        (
            "   server process CPU per call",
            ms(part1.app_cpu / part1.rounds),
            ms(part1.saleor_cpu / part1.rounds),
            f"{part1.app_cpu / part1.saleor_cpu:.3f}x" if part1.saleor_cpu else "-",
            "",
            "",
        ),
        (
            f"2. checkoutComplete -> code e-mail ({len(latencies)} orders)",
            "",
            "",
            "",
            "",
            "",
        ),
        (
            "   p50",
            f"{percentile(latencies, 0.5) * 1000:.0f} ms",
            "",
            "",
            "none set",
            "-",
        ),
        ("   p95", f"{percentile(latencies, 0.95) * 1000:.0f} ms", "", "", "", ""),
        (
            f"3. {COURIERS} concurrent couriers",
            "verify",
            "bare UPDATE",
            "UPDATE/verify",
            "",
            "",
        ),
        (
            "   per second",
            f"{v3.rate:.0f}/s",
            f"{u3.rate:.0f}/s",
            f"{rate_ratio:.1f}x",
            "none set",
            "-",
        ),
        (
            "   median per call",
            ms(statistics.median(v3.latencies)),
            ms(statistics.median(u3.latencies)),
            "",
            "",
            "",
        ),
        (
            "   p95 per call",
            ms(percentile(v3.latencies, 0.95)),
            ms(percentile(u3.latencies, 0.95)),
            "",
            "",
            "",
        ),
        (
            "   first call (token look-up)",
            f"median {ms(statistics.median(part3.first_calls))}",
            "",
            "",
            "",
            "",
        ),
        (
            "   App process CPU",
            f"{part3.app_cpu / v3.seconds:.0%} of a core",
            "",
            "",
            "",
            "",
        ),
        (
            "   App process CPU per verify",
            ms(part3.app_cpu / v3.calls),
            "",
            "",
            "",
            "",
        ),
        (
            "   machine busy (all cores)",
            f"{part3.machine_busy / v3.seconds:.0%} of {os.cpu_count()} cores",
            "",
            "",
            "",
            "",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    print(context)
    print()
    for row in rows:
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
    print()
    note(
        f"1: a courier app's token, a wrong code each call on {MAX_ATTEMPTS}-attempt "
        f"parcels ({WRONG_PER_PARCEL} wrong codes each, none locks); the customer's "
        f"JWT for me. +{WARMUP} warm-up rounds. App-token cache "
        f"(30 s): {part1.warmup_lookups} look-up(s) in Saleor during the "
        f"warm-up, {part1.lookups} during the {part1.rounds} timed verifies "
        f"({'all hit the cache' if part1.lookups == 0 else 'some missed'})."
    )
    note(
        "2: one order at a time (1 watch, 349 EUR + 5 EUR shipping), from the "
        "moment checkoutComplete's answer arrives to the moment the SMTP server "
        "accepts the code e-mail. ORDER_CREATED is delivered by Saleor's Celery "
        "worker (concurrency 2); the App issues the code in its webhook and e-mails "
        "it from its own Celery worker (concurrency 2, Redis broker; not eager)."
    )
    note(
        f"3: {COURIERS} threads, each its own courier app token (cached after one "
        f"untimed call each, one courier after the other; {part3.lookups} "
        f"look-up(s) in Saleor while timed) and "
        f"its own {args.parcels_per_courier} parcels, {v3.calls} wrong-code "
        f"verifies in {v3.seconds:.2f} s (CPU meanwhile: the App's process "
        f"{part3.app_cpu:.1f} s, this client {part3.client_cpu:.1f} s, everything "
        f"else {part3.machine_busy - part3.app_cpu - part3.client_cpu:.1f} s: "
        f"PostgreSQL, Redis, Saleor, the workers); the UPDATEs: {COURIERS} "
        f"threads, each its "
        f"own connection (autocommit) and its own row of a scratch table in the "
        f"App's database, {u3.calls} in {u3.seconds:.2f} s (half before the "
        f"verifies, half after). Ratio: UPDATEs per second / verifies per second."
    )
    if ODD.seen:
        print(f"WARNING: {len(ODD.seen)} call(s) gave an unexpected answer, e.g.:")
        for line in ODD.seen[:3]:
            print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="timed rounds of 1")
    parser.add_argument("--orders", type=int, default=30, help="orders of 2")
    parser.add_argument(
        "--parcels-per-courier",
        type=int,
        default=3,
        help=f"parcels each of 3's couriers verifies ({WRONG_PER_PARCEL} calls each)",
    )
    parser.add_argument(
        "--updates", type=int, default=250, help="bare UPDATEs per thread and block"
    )
    args = parser.parse_args()
    if importlib.util.find_spec("saleor") is None:
        print(
            "Saleor is not importable with this Python; run this script with "
            "Saleor's virtualenv (see its docstring).",
            file=sys.stderr,
        )
        return 0
    venv_python = REPO / ".venv/bin/python"
    started = time.monotonic()
    logs = Path(tempfile.mkdtemp(prefix="app-bench-logs-"))
    names = Names.from_env(**BENCH_NAMES)
    stack = stack_from_env(
        logs,
        saleor_python=sys.executable,
        default_app_python=str(venv_python if venv_python.exists() else sys.executable),
        names=names,
    )
    load = os.getloadavg()[0]
    print(
        f"App benchmarks: databases {names.saleor_database}, {names.app_database}; "
        f"Redis {names.saleor_redis_db}, {names.app_redis_db}; logs in {logs}"
    )
    try:
        stack.start()
        with stack.app_db() as db:
            pg = db.execute("SHOW server_version").fetchone()
        shop = set_up_shop(stack, 1 + COURIERS)
        part1_parcels = -(-(WARMUP + args.rounds) // WRONG_PER_PARCEL)
        tracking = ship_parcels(
            shop, part1_parcels + COURIERS * args.parcels_per_courier
        )
        per_courier = [
            tracking[part1_parcels + i :: COURIERS][: args.parcels_per_courier]
            for i in range(COURIERS)
        ]
        latencies = email_latency(shop, args.orders)
        settle(stack)
        part1 = verify_against_me(shop, tracking[:part1_parcels], args.rounds)
        settle(stack, quiet=1.0)
        part3 = couriers_against_updates(shop, per_courier, args.updates)
    except StackError as exc:
        print(f"The stack could not run the benchmark: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        for name in (names.saleor_database, names.app_database):
            try:
                stack.postgres.drop(name)
            except Exception as exc:
                print(f"Could not drop {name}: {exc}", file=sys.stderr)
    context = (
        f"Saleor {importlib.metadata.version('saleor')} (uvicorn, one process; Celery "
        f"worker, concurrency 2) and the App (app serve: Django's threaded server; "
        f"app worker: Celery, concurrency 2) on 127.0.0.1, PostgreSQL "
        f"{pg[0] if pg else '?'}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load {load:.2f} at the start"
    )
    report(stack, args, part1, latencies, part3, context)
    print()
    print(f"Done in {time.monotonic() - started:.0f} s.")
    print(f"Rerun: {rerun_command(args)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Races on a real PostgreSQL: security bar rows 8 and 9, and idempotent issuing.

Each thread opens its own connection; a barrier releases them together so that
their SELECT ... FOR UPDATE statements really contend for the row.
"""

import threading
import uuid

import pytest
from django.db import connection

from saleor_delivery_otp import service
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.models import CodeStatus, DeliveryCode, VerificationAttempt
from saleor_delivery_otp.service import Lookup

from .conftest import COURIER, wrong_code

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
ROUNDS = 10


def race(target, args_list):
    """Run ``target(*args)`` for each args in threads released together."""
    barrier = threading.Barrier(len(args_list))
    results = [None] * len(args_list)
    errors = []

    def run(index, args):
        try:
            barrier.wait()
            results[index] = target(*args)
        except Exception as exc:  # collected and re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, args)) for i, args in enumerate(args_list)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_right_code_sent_by_20_threads_is_accepted_exactly_once(parcels, round_):
    record = parcels.ship()
    code = parcels.code_of(record)
    lookup = Lookup(fulfillment_id=record.fulfillment_id)

    # Twenty devices: the accepted caller itself would be told "accepted" again on
    # a retry (test_verify.py), which is no second handover.
    couriers = [Actor(ActorKind.APP, f"device-{n}") for n in range(THREADS)]

    results = race(service.verify, [(lookup, code, c) for c in couriers])

    assert sum(r.accepted for r in results) == 1
    record.refresh_from_db()
    assert record.status == CodeStatus.VERIFIED
    assert VerificationAttempt.objects.filter(delivery_code=record).count() == THREADS


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_20_concurrent_wrong_codes_lose_no_count(parcels, round_):
    record = parcels.ship()
    lookup = Lookup(fulfillment_id=record.fulfillment_id)
    wrong = wrong_code(parcels.code_of(record))

    results = race(service.verify, [(lookup, wrong, COURIER)] * THREADS)

    assert not any(r.accepted for r in results)
    record.refresh_from_db()
    assert record.attempts == min(THREADS, record.max_attempts)
    assert record.status == CodeStatus.LOCKED
    # Exactly one call saw each count from 4 down to 0; the rest found it locked.
    assert sorted(r.attempts_left for r in results) == [0] * 16 + [1, 2, 3, 4]


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_events_for_one_parcel_issue_one_code(limits, round_):
    order_id = uuid.uuid4()
    args = [(order_id, 555 + round_)] * 8

    results = race(
        lambda o, f: service.issue_for_parcel(o, f, channel="eu", limits=limits), args
    )

    assert sum(r.created for r in results) == 1
    assert len({r.record.pk for r in results}) == 1
    assert DeliveryCode.objects.filter(order_id=order_id).count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_parcels_share_the_order_code_once(limits, round_):
    order_id = uuid.uuid4()
    order_code = service.issue_for_order(order_id, channel="eu", limits=limits).record
    fulfillments = [(order_id, 100 * (round_ + 1) + i) for i in range(6)]

    results = race(
        lambda o, f: service.issue_for_parcel(o, f, channel="eu", limits=limits),
        fulfillments,
    )

    assert sum(r.bound for r in results) == 1
    assert sum(r.created for r in results) == 5
    bound = next(r.record for r in results if r.bound)
    assert bound.pk == order_code.pk
    assert DeliveryCode.objects.filter(order_id=order_id).count() == 6

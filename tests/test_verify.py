"""Verification at the door: security bar rows 2, 7, 10, 11, 12, 14, 15, 20."""

import dataclasses
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from saleor_delivery_otp import codes, service
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.exceptions import InvalidInput, InvalidState, RateLimited
from saleor_delivery_otp.models import (
    AttemptOutcome,
    CodeStatus,
    DeliveryCode,
    VerificationAttempt,
)
from saleor_delivery_otp.service import Lookup

from .conftest import COURIER, STAFF, Parcels, wrong_code

OTHER_COURIER = Actor(ActorKind.APP, "18", "Another courier app")
RETRY_WINDOW = timedelta(minutes=10)

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["single statement", "orm"])
def verdict_path(request, monkeypatch):
    """Verify writes its verdict in one SQL statement on PostgreSQL and through the
    ORM elsewhere (the sandbox's SQLite): both must behave the same."""
    if request.param == "orm":
        monkeypatch.setattr(connection, "vendor", "not-postgresql")
    return request.param


def by_parcel(record):
    return Lookup(fulfillment_id=record.fulfillment_id)


def test_right_code_is_accepted_once_and_recorded(parcels, verdict_path):
    record = parcels.ship()
    code = parcels.code_of(record)

    result = service.verify(by_parcel(record), code, COURIER)

    assert result.accepted
    record.refresh_from_db()
    assert record.status == CodeStatus.VERIFIED
    assert record.verified_by == "app:17"
    assert record.verified_at is not None
    attempt = VerificationAttempt.objects.get()
    assert (attempt.actor, attempt.accepted, attempt.outcome) == (
        "app:17",
        True,
        AttemptOutcome.ACCEPTED,
    )


def test_code_is_single_use(parcels, verdict_path):
    """Row 7. The one exception, the accepting caller's own retry, is below."""
    record = parcels.ship()
    code = parcels.code_of(record)
    assert service.verify(by_parcel(record), code, COURIER).accepted

    again = [service.verify(by_parcel(record), code, OTHER_COURIER) for _ in range(2)]
    with freeze_time(timezone.now() + RETRY_WINDOW + timedelta(seconds=1)):
        again.append(service.verify(by_parcel(record), code, COURIER))

    assert [r.accepted for r in again] == [False, False, False]
    assert [r.outcome for r in again] == [AttemptOutcome.USED] * 3


def test_the_accepted_caller_retrying_is_told_accepted_again(parcels, verdict_path):
    """A courier app whose answer was lost retries: it typed the code itself, so
    being told "accepted" again tells it nothing new."""
    record = parcels.ship(tracking="TRK-RETRY")
    code = parcels.code_of(record)
    first = service.verify(by_parcel(record), code, COURIER)
    verified = DeliveryCode.objects.get(pk=record.pk)

    with freeze_time(verified.verified_at + RETRY_WINDOW):
        retries = [
            service.verify(by_parcel(record), code, COURIER),
            service.verify(Lookup(tracking_number="TRK-RETRY"), code, COURIER),
        ]

    assert first.public() == {"accepted": True, "attempts_left": 0}
    assert [r.public() for r in retries] == [first.public()] * 2
    assert [r.repeated for r in retries] == [True, True] and not first.repeated
    record.refresh_from_db()
    assert (record.status, record.attempts, record.verified_at) == (
        CodeStatus.VERIFIED,
        1,
        verified.verified_at,
    )
    assert (
        list(VerificationAttempt.objects.values_list("accepted", "outcome"))
        == [(True, AttemptOutcome.ACCEPTED)] * 3
    )


@pytest.mark.parametrize("case", ["other caller", "wrong code", "too late", "staff"])
def test_a_retry_answer_is_only_for_the_accepted_caller_with_its_code(parcels, case):
    record = parcels.ship()
    code = parcels.code_of(record)
    caller, tried, later = COURIER, code, timedelta(0)
    if case == "staff":
        # A handover without code records staff as verified_by: they never typed
        # the code, and must not learn it by trying.
        service.handover_without_code(record.pk, actor=STAFF, reason="ID checked")
        caller = STAFF
    else:
        assert service.verify(by_parcel(record), code, COURIER).accepted
        caller = OTHER_COURIER if case == "other caller" else COURIER
        tried = wrong_code(code) if case == "wrong code" else code
        later = RETRY_WINDOW + timedelta(seconds=1) if case == "too late" else later

    with freeze_time(timezone.now() + later):
        answer = service.verify(by_parcel(record), tried, caller)

    assert answer.public() == {"accepted": False, "attempts_left": 4}
    assert answer.outcome == AttemptOutcome.USED and not answer.repeated


def test_verify_by_tracking_number(parcels):
    record = parcels.ship(tracking="1Z999AA10123456784")

    result = service.verify(
        Lookup(tracking_number=" 1Z999AA10123456784 "), parcels.code_of(record), COURIER
    )

    assert result.accepted


def test_wrong_codes_count_down_then_lock_even_the_right_code(parcels, verdict_path):
    record = parcels.ship()
    code = parcels.code_of(record)

    lefts = [
        service.verify(by_parcel(record), wrong_code(code), COURIER).attempts_left
        for _ in range(5)
    ]
    after_limit = service.verify(by_parcel(record), code, COURIER)

    assert lefts == [4, 3, 2, 1, 0]
    assert not after_limit.accepted
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED
    assert record.attempts == 5


def test_lock_lives_in_the_database_not_the_cache(parcels):
    record = parcels.ship()
    code = parcels.code_of(record)
    for _ in range(5):
        service.verify(by_parcel(record), wrong_code(code), COURIER)

    cache.clear()

    assert not service.verify(by_parcel(record), code, COURIER).accepted


def test_limit_is_shared_by_every_caller(parcels):
    """Row 11: nothing about the caller (device, app, address) resets the count."""
    record = parcels.ship()
    code = parcels.code_of(record)
    callers = [Actor(ActorKind.APP, str(n)) for n in range(100)]

    results = [
        service.verify(by_parcel(record), wrong_code(code), caller)
        for caller in callers
    ]

    assert sum(not r.accepted for r in results) == 100
    record.refresh_from_db()
    assert record.attempts == 5 and record.status == CodeStatus.LOCKED


def test_many_calls_evaluate_at_most_the_limit(parcels, monkeypatch):
    """Row 12: 50 calls (as aliases in one request would make) check at most 5 codes."""
    record = parcels.ship()
    checks = []
    real_matches = codes.Keyring.matches

    def counting_matches(self, *args):
        checks.append(1)
        return real_matches(self, *args)

    monkeypatch.setattr(codes.Keyring, "matches", counting_matches)
    code = parcels.code_of(record)

    for _ in range(50):
        service.verify(by_parcel(record), wrong_code(code), COURIER)

    assert len(checks) == 5
    assert VerificationAttempt.objects.filter(accepted=False).count() == 50


def _fresh_failure_sequence(lookup, code, n=6):
    return [service.verify(lookup, code, COURIER).public() for _ in range(n)]


def test_every_failure_looks_the_same_to_the_courier(parcels, limits):
    """Row 14: unknown parcel, parcel without code, expired code, wrong code."""
    wrong = parcels.ship()
    expired = parcels.ship()
    with freeze_time(expired.expires_at + timedelta(seconds=1)):
        expired_answers = _fresh_failure_sequence(
            by_parcel(expired), parcels.code_of(expired)
        )
    answers = {
        "wrong code": _fresh_failure_sequence(
            by_parcel(wrong), wrong_code(parcels.code_of(wrong))
        ),
        "unknown parcel": _fresh_failure_sequence(
            Lookup(fulfillment_id=987654321), "123456"
        ),
        "unknown tracking number": _fresh_failure_sequence(
            Lookup(tracking_number="NOPE"), "123456"
        ),
        "expired": expired_answers,
    }
    # A parcel of the shop that needed no code has no record here, so the engine
    # sees it exactly as an unknown one: "unknown parcel" covers both.
    expected = [{"accepted": False, "attempts_left": n} for n in (4, 3, 2, 1, 0, 0)]
    for case, sequence in answers.items():
        assert sequence == expected, case


def test_failures_of_a_used_or_revoked_code_look_like_a_wrong_code(parcels):
    used = parcels.ship()
    service.verify(by_parcel(used), parcels.code_of(used), COURIER)
    revoked = parcels.ship()
    service.revoke(revoked.order_id, reason="order cancelled")

    for record in (used, revoked):
        answer = service.verify(
            by_parcel(record), parcels.code_of(record), OTHER_COURIER
        )
        assert answer.public() == {"accepted": False, "attempts_left": 4}


def test_a_parcel_without_a_live_code_answers_the_same_under_both_names(parcels):
    """A parcel locked under its fulfillment id answers 0 under its tracking number
    too: counts kept per name would link the two names of one parcel."""
    record = parcels.ship(tracking="TRK-LOCKED")
    code = parcels.code_of(record)
    for _ in range(5):
        service.verify(by_parcel(record), wrong_code(code), COURIER)
    by_tracking = Lookup(tracking_number="TRK-LOCKED")

    answers = [
        service.verify(by_tracking, code, COURIER).public(),
        service.verify(by_parcel(record), code, COURIER).public(),
    ]

    assert answers == [{"accepted": False, "attempts_left": 0}] * 2


def test_an_expired_code_counts_on_from_its_wrong_attempts(parcels, verdict_path):
    record = parcels.ship(tracking="TRK-LATE")
    code = parcels.code_of(record)
    service.verify(by_parcel(record), wrong_code(code), COURIER)

    with freeze_time(record.expires_at + timedelta(seconds=1)):
        answers = [
            service.verify(Lookup(tracking_number="TRK-LATE"), code, COURIER),
            service.verify(by_parcel(record), code, COURIER),
        ]

    assert [a.public()["attempts_left"] for a in answers] == [3, 2]
    assert [a.outcome for a in answers] == [AttemptOutcome.EXPIRED] * 2
    record.refresh_from_db()
    assert record.status == CodeStatus.EXPIRED


def test_an_unknown_parcel_counts_down_from_the_given_rules(parcels, limits):
    """The API passes the limits of the caller's channel: an unknown parcel then
    counts down as that channel's parcels do."""
    strict = dataclasses.replace(limits, max_attempts=3)
    real = Parcels(strict).ship()
    code = parcels.code_of(real)

    real_answers = [
        service.verify(by_parcel(real), wrong_code(code), COURIER, limits=strict)
        for _ in range(3)
    ]
    unknown_answers = [
        service.verify(Lookup(fulfillment_id=99999), code, COURIER, limits=strict)
        for _ in range(3)
    ]

    assert [a.public() for a in real_answers] == [a.public() for a in unknown_answers]
    assert [a.attempts_left for a in unknown_answers] == [2, 1, 0]


def test_a_code_whose_key_was_removed_is_refused_like_a_wrong_one(parcels, caplog):
    record = parcels.ship()
    code = parcels.code_of(record)
    without_its_key = codes.Keyring(["another-key-0123456789abcdef0123456789"])

    answers = [
        service.verify(by_parcel(record), code, COURIER, keyring=without_its_key)
        for _ in range(5)
    ]

    assert [a.public()["attempts_left"] for a in answers] == [4, 3, 2, 1, 0]
    assert [a.accepted for a in answers] == [False] * 5
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED
    assert f"its key {record.key_id} is not configured" in caplog.text
    assert code not in caplog.text


def test_expiry_is_enforced_at_verification_time(parcels):
    record = parcels.ship()
    code = parcels.code_of(record)

    with freeze_time(record.expires_at + timedelta(seconds=1)):
        result = service.verify(by_parcel(record), code, COURIER)

    assert not result.accepted and result.outcome == AttemptOutcome.EXPIRED
    record.refresh_from_db()
    assert record.status == CodeStatus.EXPIRED


def test_cancel_and_refund_end_the_code(parcels, order_id):
    first = parcels.ship(order_id)
    second = parcels.ship(order_id)

    assert (
        service.revoke(
            order_id,
            reason="fulfillment cancelled",
            fulfillment_id=first.fulfillment_id,
        )
        == 1
    )
    assert not service.verify(
        by_parcel(first), parcels.code_of(first), COURIER
    ).accepted
    assert service.revoke(order_id, reason="fully refunded") == 1
    assert not service.verify(
        by_parcel(second), parcels.code_of(second), COURIER
    ).accepted


def test_regenerated_code_supersedes_the_old_one(parcels, monkeypatch):
    old = parcels.ship()
    old_code = parcels.code_of(old)
    # Make sure the new code differs (by chance it could repeat one time in 10**6).
    monkeypatch.setattr(codes, "generate", lambda length: wrong_code(old_code))

    new = service.regenerate(old.pk, actor=STAFF, limits=parcels.limits)

    assert new.fulfillment_id == old.fulfillment_id
    old.refresh_from_db()
    assert old.status == CodeStatus.SUPERSEDED
    assert not service.verify(by_parcel(old), old_code, COURIER).accepted
    assert service.verify(by_parcel(new), parcels.code_of(new), COURIER).accepted


def test_order_code_cannot_be_verified_before_it_is_bound(order_id, limits):
    record = service.issue_for_order(order_id, channel="eu", limits=limits).record

    result = service.verify(
        Lookup(fulfillment_id=1), service.open_code(record), COURIER
    )

    assert not result.accepted and result.outcome == AttemptOutcome.UNKNOWN


def test_channel_scoped_verification_does_not_see_other_channels(parcels):
    record = parcels.ship(channel="eu")

    other = service.verify(
        by_parcel(record), parcels.code_of(record), COURIER, channels=["us", "uk"]
    )
    none = service.verify(
        by_parcel(record), parcels.code_of(record), COURIER, channels=[]
    )
    own = service.verify(
        by_parcel(record), parcels.code_of(record), COURIER, channels=["us", "eu"]
    )

    assert (other.accepted, none.accepted, own.accepted) == (False, False, True)
    assert other.public() == {"accepted": False, "attempts_left": 4}


def test_shared_tracking_number_is_refused_uniformly(parcels):
    a = parcels.ship(tracking="SHARED")
    parcels.ship(tracking="SHARED")

    result = service.verify(
        Lookup(tracking_number="SHARED"), parcels.code_of(a), COURIER
    )

    assert result.public() == {"accepted": False, "attempts_left": 4}
    assert result.outcome == AttemptOutcome.AMBIGUOUS


@pytest.mark.parametrize(
    "bad_code",
    [
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits 123456
        "123 456",
        "1" * 1_000_000,
        "123\x00456",
        "12345a",
        "",
        None,
        123456,
        b"123456",
        "123",
        "12345678901",
    ],
)
def test_malformed_code_is_refused_without_spending_an_attempt(parcels, bad_code):
    record = parcels.ship()

    with pytest.raises(InvalidInput) as error:
        service.verify(by_parcel(record), bad_code, COURIER)

    assert error.value.field == "code"
    record.refresh_from_db()
    assert record.attempts == 0 and record.status == CodeStatus.ACTIVE
    assert VerificationAttempt.objects.count() == 0


@pytest.mark.parametrize(
    "make_lookup",
    [
        lambda: Lookup(),
        lambda: Lookup(fulfillment_id=1, tracking_number="X"),
        lambda: Lookup(fulfillment_id=0),
        lambda: Lookup(fulfillment_id="abc"),
        lambda: Lookup(tracking_number=""),
        lambda: Lookup(tracking_number="x" * 10_000),
        lambda: Lookup(tracking_number="ab\ncd"),
        lambda: Lookup(tracking_number=12),
    ],
)
def test_malformed_parcel_names_are_refused(make_lookup):
    with pytest.raises(InvalidInput):
        make_lookup()


def test_verify_refuses_something_that_is_not_a_lookup():
    with pytest.raises(InvalidInput):
        service.verify("fulfillment:1", "123456", COURIER)
    assert VerificationAttempt.objects.count() == 0


def test_attempt_log_never_holds_the_code(parcels, verdict_path):
    record = parcels.ship()
    code = parcels.code_of(record)
    service.verify(by_parcel(record), wrong_code(code), COURIER)
    service.verify(by_parcel(record), code, COURIER)

    rows = list(VerificationAttempt.objects.values_list())
    assert len(rows) == 2
    for row in rows:
        for value in row:
            assert code not in str(value) and wrong_code(code) not in str(value)


def test_unknown_order_has_nothing_to_reveal():
    assert service.reveal(uuid.uuid4()) == []
    assert DeliveryCode.objects.count() == 0


# --- staff actions on attempts -------------------------------------------------------


def lock(record, actor=COURIER):
    code = service.open_code(record)
    for _ in range(record.max_attempts):
        service.verify(by_parcel(record), wrong_code(code), actor)


def test_staff_verifies_spend_the_same_attempts_as_the_courier(parcels):
    record = parcels.ship()
    code = parcels.code_of(record)

    staff = [service.verify(by_parcel(record), wrong_code(code), STAFF) for _ in "ab"]
    courier = service.verify(by_parcel(record), wrong_code(code), COURIER)
    lock(record, STAFF)

    assert [a.attempts_left for a in staff] == [4, 3]
    assert courier.attempts_left == 2
    assert not service.verify(by_parcel(record), code, COURIER).accepted
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED


def test_unlocks_are_capped_per_code(parcels, limits):
    """Each unlock is a fresh set of guesses: after the cap, regenerate."""
    record = parcels.ship()
    unlocks = []
    for _ in range(limits.max_unlocks + 1):
        lock(record)
        try:
            service.unlock(record.pk, actor=STAFF, reason="customer called")
        except InvalidState as error:
            unlocks.append(error.message)
        else:
            unlocks.append("unlocked")

    assert limits.max_unlocks == 2
    assert unlocks == [
        "unlocked",
        "unlocked",
        "This code was unlocked 2 times, the most allowed: regenerate it instead, "
        "which e-mails the customer a new code.",
    ]
    record.refresh_from_db()
    assert record.status == CodeStatus.LOCKED
    assert VerificationAttempt.objects.filter(delivery_code=record).count() == 15
    new = service.regenerate(record.pk, actor=STAFF, limits=limits)
    assert service.verify(by_parcel(new), parcels.code_of(new), COURIER).accepted


def test_the_unlock_cap_comes_from_the_rules(parcels, limits):
    record = parcels.ship()
    lock(record)

    with pytest.raises(InvalidState):
        service.unlock(
            record.pk,
            actor=STAFF,
            reason="customer called",
            limits=dataclasses.replace(limits, max_unlocks=0),
        )


def test_regenerating_is_held_to_a_cooldown_and_a_daily_cap(parcels, limits):
    record = parcels.ship()
    start = timezone.now()
    refusals = []

    def regenerate_at(moment):
        nonlocal record
        with freeze_time(moment):
            try:
                record = service.regenerate(record.pk, actor=STAFF, limits=limits)
            except RateLimited as error:
                refusals.append((error.message, error.retry_after))

    regenerate_at(start)
    regenerate_at(start + timedelta(seconds=30))
    for minute in range(1, 6):
        regenerate_at(start + timedelta(minutes=minute))
    regenerate_at(start + timedelta(days=1, seconds=1))

    assert refusals == [
        (
            "The code was replaced moments ago; please wait before replacing it again.",
            30,
        ),
        ("The code was replaced too many times in the last 24 hours.", 86400 - 300),
    ]
    # At 0, 1, 2, 3 and 4 minutes, then once the first has left the 24 hours.
    assert DeliveryCode.objects.filter(status=CodeStatus.SUPERSEDED).count() == 6


def test_an_unknown_parcel_elsewhere_never_counts_a_real_parcels_failures(
    limits, verdict_path
):
    """Tracking numbers are the carrier's, not the shop's: a courier of another
    channel (or another Saleor, in the App) asking for a parcel of this one by its
    tracking number must not watch this parcel's wrong attempts fall from its own
    attempts left."""
    record = service.issue_for_parcel(
        uuid.uuid4(), 5, channel="a:eu", tracking_number="TRK-SHARED", limits=limits
    ).record
    here = Actor(ActorKind.APP, "a:17")
    elsewhere = Actor(ActorKind.APP, "b:17")
    shared = Lookup(tracking_number="TRK-SHARED")
    code = service.open_code(record)

    before = service.verify(
        shared, wrong_code(code), elsewhere, channels=("b:eu",), limits=limits
    )
    for _ in range(2):
        service.verify(
            shared, wrong_code(code), here, channels=("a:eu",), limits=limits
        )
    after = service.verify(
        shared, wrong_code(code), elsewhere, channels=("b:eu",), limits=limits
    )

    assert before.attempts_left - after.attempts_left == 1
    record.refresh_from_db()
    assert record.attempts == 2

"""Arbitrary input to the engine's entry points: a clear error or an answer, never
a crash, and nothing changed by input that was refused (security bar row 2)."""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_delivery_otp import service
from saleor_delivery_otp.exceptions import InvalidInput
from saleor_delivery_otp.models import CodeStatus, DeliveryCode, VerificationAttempt
from saleor_delivery_otp.service import Lookup

from .conftest import COURIER

pytestmark = pytest.mark.django_db

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.text(alphabet="0123456789 \t\n\x00\uff10\uff11\uff12", max_size=14),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
)
fuzz = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@fuzz
@given(code=anything, fulfillment_id=anything, tracking=anything)
def test_verify_answers_or_refuses_cleanly(parcels, code, fulfillment_id, tracking):
    record = parcels.ship(tracking="FUZZ-1")
    before = VerificationAttempt.objects.count()
    try:
        lookup = (
            Lookup(fulfillment_id=fulfillment_id)
            if tracking is None
            else Lookup(tracking_number=tracking)
        )
        result = service.verify(lookup, code, COURIER)
    except InvalidInput as error:
        assert error.field in {"code", "parcel", "fulfillment_id", "tracking_number"}
        assert VerificationAttempt.objects.count() == before
    else:
        assert VerificationAttempt.objects.count() == before + 1
        assert 0 <= result.attempts_left <= record.max_attempts
    record.refresh_from_db()
    assert record.status in (CodeStatus.ACTIVE, CodeStatus.VERIFIED, CodeStatus.LOCKED)


@fuzz
@given(order_id=anything, fulfillment_id=anything, channel=anything, tracking=anything)
def test_issue_answers_or_refuses_cleanly(order_id, fulfillment_id, channel, tracking):
    before = DeliveryCode.objects.count()
    try:
        service.issue_for_parcel(
            order_id,
            fulfillment_id,
            channel=channel,
            tracking_number=tracking if isinstance(tracking, str) else "",
        )
    except InvalidInput:
        assert DeliveryCode.objects.count() == before


@fuzz
@given(record_id=anything, reason=anything)
def test_staff_actions_answer_or_refuse_cleanly(parcels, record_id, reason):
    from saleor_delivery_otp.exceptions import InvalidState, NotFound

    from .conftest import STAFF

    for action in (service.unlock, service.handover_without_code):
        with contextlib.suppress(InvalidInput, NotFound, InvalidState):
            action(record_id, actor=STAFF, reason=reason)
    assert not DeliveryCode.objects.filter(status=CodeStatus.VERIFIED).exists()

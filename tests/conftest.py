import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache

from saleor_delivery_otp import service
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.codes import Keyring
from saleor_delivery_otp.limits import CodeLimits

from .hosts import CUSTOMER_EMAIL

# The host contract's assertions are in a module of its own: show their diffs.
pytest.register_assert_rewrite("tests.host_contract")

COURIER = Actor(ActorKind.APP, "17", "Courier app")
# Who codes issued by the tests are for, unless a test says otherwise.
READER = service.Reader(customer_id="7", email=CUSTOMER_EMAIL)
STAFF = Actor(ActorKind.STAFF, "5", "staff@example.com")


@pytest.fixture(autouse=True)
def fresh_cache():
    """The per-caller verify limit lives in the cache: each test starts without
    the failures of the tests before it."""
    cache.clear()


@pytest.fixture
def limits():
    return CodeLimits(
        length=6,
        max_attempts=5,
        validity=timedelta(days=30),
        resend_cooldown=timedelta(seconds=60),
        resend_daily_cap=5,
    )


@pytest.fixture
def keyring():
    return Keyring.from_settings()


@pytest.fixture
def order_id():
    return uuid.uuid4()


class Parcels:
    """Issues shipped parcels with codes, and reads their codes back as a customer."""

    def __init__(self, limits):
        self.limits = limits
        self._next_fulfillment = 1000

    def ship(
        self, order_id=None, *, tracking="", channel="default-channel", reader=None
    ):
        """``reader``: who the code is for; by default customer 7 at the stand-in
        host's address (tests/hosts.py), so its e-mail goes out."""
        self._next_fulfillment += 1
        result = service.issue_for_parcel(
            order_id or uuid.uuid4(),
            self._next_fulfillment,
            channel=channel,
            tracking_number=tracking,
            reader=reader or READER,
            limits=self.limits,
        )
        return result.record

    @staticmethod
    def code_of(record):
        return service.open_code(record)


@pytest.fixture
def parcels(limits):
    return Parcels(limits)


def wrong_code(code: str) -> str:
    """A code of the same length that differs from ``code`` in its last digit."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)

"""The app's Django system checks: each fires on what it is for, and only then."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.checks import CheckMessage, run_checks
from django.test import override_settings

from saleor_delivery_otp import checks, conf

EXPIRE_ENTRY = {"task": checks.EXPIRE_TASK, "schedule": timedelta(hours=1)}
OUTBOX_ENTRY = {"task": checks.OUTBOX_TASK, "schedule": timedelta(minutes=1)}
# Shaped like Saleor 3.23's CELERY_BEAT_SCHEDULE, without the plugin's tasks.
SALEOR_SCHEDULE = {
    "delete-empty-allocations": {
        "task": "saleor.warehouse.tasks.delete_empty_allocations_task",
        "schedule": timedelta(days=1),
    },
    "remove-apps-marked-as-removed": {
        "task": "saleor.app.tasks.remove_apps_task",
        "schedule": crontab(hour=3, minute=0),
    },
    "recalculate-discounted-price-for-products": {
        "task": "saleor.product.tasks.recalculate_discounted_price_for_products_task",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 30},
    },
}


def ids(messages: list[CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


@contextmanager
def unset(*names: str) -> Iterator[None]:
    """These settings absent from Django's settings, as in a project that never
    set them."""
    with override_settings():
        for name in names:
            delattr(settings, name)
        yield


@pytest.fixture
def app_beat_schedule(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The current Celery app's ``beat_schedule``, empty until a test fills it."""
    schedule: dict[str, object] = {}
    app = SimpleNamespace(conf=SimpleNamespace(beat_schedule=schedule))
    monkeypatch.setattr(checks, "current_app", app)
    return schedule


# --- W001: keys -----------------------------------------------------------------


@pytest.mark.parametrize("keys", [[], (), "", None])
def test_w001_fires_without_keys(keys: object) -> None:
    with override_settings(DELIVERY_OTP_KEYS=keys):
        messages = checks.check_keys()
    assert ids(messages) == ["saleor_delivery_otp.W001"]
    assert "DELIVERY_OTP_KEYS" in messages[0].hint


def test_w001_fires_when_keys_are_unset() -> None:
    with unset("DELIVERY_OTP_KEYS"):
        assert ids(checks.check_keys()) == ["saleor_delivery_otp.W001"]


def test_w001_is_silent_with_keys() -> None:
    assert checks.check_keys() == []


# --- E001: dotted paths ---------------------------------------------------------


@pytest.mark.parametrize("name", conf.IMPORTED_SETTINGS)
def test_e001_fires_for_each_setting_that_does_not_import(name: str) -> None:
    with override_settings(**{name: "saleor_delivery_otp.no_such_module.thing"}):
        messages = checks.check_imported_settings()
    assert ids(messages) == ["saleor_delivery_otp.E001"]
    assert messages[0].msg.startswith(f"{name} ")
    assert "ModuleNotFoundError" in messages[0].msg


def test_e001_fires_for_a_missing_attribute_and_a_value_that_is_no_path() -> None:
    with override_settings(
        DELIVERY_OTP_HOST="saleor_delivery_otp.codes.no_such_host",
        DELIVERY_OTP_EMAIL_SENDER=print,
    ):
        messages = checks.check_imported_settings()
    assert ids(messages) == ["saleor_delivery_otp.E001"] * 2
    assert "does not import" in messages[0].msg
    assert messages[1].msg == (
        "DELIVERY_OTP_EMAIL_SENDER must be a dotted path, not "
        "builtin_function_or_method."
    )


def test_e001_is_silent_for_settings_that_import() -> None:
    # tests.settings sets some of them, to paths outside Saleor.
    assert checks.check_imported_settings() == []


def test_e001_skips_unset_settings() -> None:
    # Defaults point into Saleor's host adapter, which imports only in Saleor.
    with unset(*conf.IMPORTED_SETTINGS):
        assert checks.check_imported_settings() == []


def test_e001_skips_settings_of_none() -> None:
    with override_settings(**dict.fromkeys(conf.IMPORTED_SETTINGS)):
        assert checks.check_imported_settings() == []


def test_e001_checks_every_listed_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "IMPORTED_SETTINGS", ("DELIVERY_OTP_HOST",))
    with override_settings(DELIVERY_OTP_HOST="saleor_delivery_otp.no_such_host"):
        messages = checks.check_imported_settings()
    assert ids(messages) == ["saleor_delivery_otp.E001"]
    assert messages[0].msg.startswith("DELIVERY_OTP_HOST ")


# --- W002 / W003: Celery beat ---------------------------------------------------


def test_w002_w003_fire_for_a_saleor_schedule_without_the_tasks(
    app_beat_schedule: dict[str, object],
) -> None:
    with override_settings(CELERY_BEAT_SCHEDULE=SALEOR_SCHEDULE):
        messages = checks.check_beat_schedule()
    assert ids(messages) == ["saleor_delivery_otp.W002", "saleor_delivery_otp.W003"]
    assert checks.EXPIRE_TASK in messages[0].hint
    assert checks.OUTBOX_TASK in messages[1].hint


def test_w002_w003_fire_for_an_empty_schedule(
    app_beat_schedule: dict[str, object],
) -> None:
    with override_settings(CELERY_BEAT_SCHEDULE={}):
        assert ids(checks.check_beat_schedule()) == [
            "saleor_delivery_otp.W002",
            "saleor_delivery_otp.W003",
        ]


def test_w002_is_silent_and_w003_fires_with_only_the_expiry(
    app_beat_schedule: dict[str, object],
) -> None:
    schedule = {**SALEOR_SCHEDULE, "delivery-otp-expire": EXPIRE_ENTRY}
    with override_settings(CELERY_BEAT_SCHEDULE=schedule):
        assert ids(checks.check_beat_schedule()) == ["saleor_delivery_otp.W003"]


def test_w003_is_silent_and_w002_fires_with_only_the_outbox(
    app_beat_schedule: dict[str, object],
) -> None:
    schedule = {**SALEOR_SCHEDULE, "delivery-otp-send-due-emails": OUTBOX_ENTRY}
    with override_settings(CELERY_BEAT_SCHEDULE=schedule):
        assert ids(checks.check_beat_schedule()) == ["saleor_delivery_otp.W002"]


def test_w002_w003_are_silent_with_the_documented_entries(
    app_beat_schedule: dict[str, object],
) -> None:
    # docs/saleor-plugin.md, Install: added to Saleor's CELERY_BEAT_SCHEDULE.
    schedule = {
        **SALEOR_SCHEDULE,
        "delivery-otp-expire": EXPIRE_ENTRY,
        "delivery-otp-send-due-emails": OUTBOX_ENTRY,
    }
    with override_settings(CELERY_BEAT_SCHEDULE=schedule):
        assert checks.check_beat_schedule() == []


def test_w002_w003_fire_for_a_schedule_set_on_the_celery_app(
    app_beat_schedule: dict[str, object],
) -> None:
    app_beat_schedule.update(SALEOR_SCHEDULE)
    with unset("CELERY_BEAT_SCHEDULE"):
        assert ids(checks.check_beat_schedule()) == [
            "saleor_delivery_otp.W002",
            "saleor_delivery_otp.W003",
        ]
        app_beat_schedule.update(expire=EXPIRE_ENTRY, outbox=OUTBOX_ENTRY)
        assert checks.check_beat_schedule() == []


def test_w002_w003_are_silent_without_a_beat_schedule(
    app_beat_schedule: dict[str, object],
) -> None:
    with unset("CELERY_BEAT_SCHEDULE"):
        assert checks.check_beat_schedule() == []


def test_the_checks_are_registered(app_beat_schedule: dict[str, object]) -> None:
    ours = {f"saleor_delivery_otp.{id_}" for id_ in ("W001", "E001", "W002", "W003")}
    # tests.settings passes them all.
    assert not ours & {message.id for message in run_checks()}
    with override_settings(
        DELIVERY_OTP_KEYS=[],
        DELIVERY_OTP_HOST="saleor_delivery_otp.no_such_module.Host",
        CELERY_BEAT_SCHEDULE=SALEOR_SCHEDULE,
    ):
        assert ours <= {message.id for message in run_checks()}


# --- E002 and W004: the host --------------------------------------------------------


class HalfAHost:
    def keyring(self) -> None: ...


def test_e002_fires_for_a_host_without_the_protocol() -> None:
    with override_settings(DELIVERY_OTP_HOST="tests.test_checks.HalfAHost"):
        messages = checks.check_host()
    assert ids(messages) == ["saleor_delivery_otp.E002"]
    missing = messages[0].msg.split(" lacks ")[1].rstrip(".").split(", ")
    assert {"email_context", "write_timeline", "db_access"} <= set(missing)
    assert "keyring" not in missing


def test_e002_is_silent_for_the_test_host_and_the_sandbox() -> None:
    assert checks.check_host() == []
    # The sandbox's factory returns its host; its class has every method.
    with override_settings(
        DELIVERY_OTP_HOST="saleor_delivery_otp.sandbox.host.SandboxHost"
    ):
        assert checks.check_host() == []


@pytest.mark.parametrize("name", conf.REPLACED_BY_HOST)
def test_w004_fires_for_a_setting_the_host_replaced(name: str) -> None:
    with override_settings(**{name: "contextlib.nullcontext"}):
        messages = checks.check_host()
    assert ids(messages) == ["saleor_delivery_otp.W004"]
    assert messages[0].msg.startswith(f"{name} is no longer read")

"""Django system checks (``manage.py check``, also run before ``migrate``).

Each finds a setting that still works, or fails only later, at the first code or
e-mail. Silence one with ``SILENCED_SYSTEM_CHECKS = ["saleor_delivery_otp.W002"]``.
Registered by :class:`saleor_delivery_otp.apps.DeliveryOTPConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celery import current_app
from django.apps import AppConfig
from django.conf import settings as django_settings
from django.core import checks
from django.utils.module_loading import import_string

from . import conf
from .conf import settings

EXPIRE_TASK = "saleor_delivery_otp.expire_codes"
OUTBOX_TASK = "saleor_delivery_otp.send_due_emails"


def check_keys(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W001: no DELIVERY_OTP_KEYS (codes then use a key derived from SECRET_KEY)."""
    if settings.DELIVERY_OTP_KEYS:
        return []
    return [
        checks.Warning(
            "DELIVERY_OTP_KEYS is not set: delivery codes use a key derived from "
            "SECRET_KEY, so rotating SECRET_KEY would void every issued code.",
            hint='Generate a key of 32+ characters (python -c "import secrets; '
            'print(secrets.token_urlsafe(48))") and set DELIVERY_OTP_KEYS = '
            '["<key>"], from the environment (docs/saleor-plugin.md, Install).',
            id="saleor_delivery_otp.W001",
        )
    ]


def check_imported_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E001: a dotted-path setting the project set does not import.

    Only what the project set: the defaults point into Saleor, which does not
    import where Saleor is not installed (such a project sets its own).
    """
    errors: list[checks.CheckMessage] = []
    for name in conf.IMPORTED_SETTINGS:
        value = getattr(django_settings, name, None)
        if value is None:
            continue
        if isinstance(value, str):
            try:
                import_string(value)
                continue
            except Exception as exc:  # any failure to import is the finding
                problem = f"{value!r} does not import ({type(exc).__name__}: {exc})"
        else:
            problem = f"must be a dotted path, not {type(value).__name__}"
        errors.append(
            checks.Error(
                f"{name} {problem}.",
                hint=f"Set {name} to the dotted path of an importable object, "
                "e.g. 'package.module.name', or remove it to use the default.",
                id="saleor_delivery_otp.E001",
            )
        )
    return errors


def check_host(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E002: ``DELIVERY_OTP_HOST`` names something without the Host protocol's
    methods; W004: a setting it replaced is still set (and no longer read)."""
    found: list[checks.CheckMessage] = [
        checks.Warning(
            f"{name} is no longer read: the host (DELIVERY_OTP_HOST) answers it.",
            hint=f"Remove {name}. A host of your own implements "
            "saleor_delivery_otp.ports.Host (docs/architecture.md); in Saleor "
            "the plugin is the host and needs no setting.",
            id="saleor_delivery_otp.W004",
        )
        for name in conf.REPLACED_BY_HOST
        if getattr(django_settings, name, None) is not None
    ]
    path = getattr(django_settings, "DELIVERY_OTP_HOST", None)
    if not isinstance(path, str):
        return found
    try:
        host = import_string(path)
    except Exception:  # E001 reports it
        return found
    missing = sorted(
        name for name in _host_methods() if not callable(getattr(host, name, None))
    )
    if missing:
        found.append(
            checks.Error(
                f"DELIVERY_OTP_HOST {path!r} lacks {', '.join(missing)}.",
                hint="Name a class (or a factory returning an instance) that "
                "implements every method of saleor_delivery_otp.ports.Host.",
                id="saleor_delivery_otp.E002",
            )
        )
    return found


def _host_methods() -> list[str]:
    from .ports import Host

    return [
        name
        for name, value in vars(Host).items()
        if callable(value) and not name.startswith("_")
    ]


def check_beat_schedule(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W002 / W003: Celery beat runs a schedule without the expiry / outbox task.

    Silent where no schedule is configured: beat may run elsewhere.
    """
    scheduled = _scheduled_tasks()
    if scheduled is None:
        return []
    warnings: list[checks.CheckMessage] = []
    if EXPIRE_TASK not in scheduled:
        warnings.append(
            checks.Warning(
                f"Celery beat does not schedule {EXPIRE_TASK}: codes past their "
                "validity are never marked expired.",
                hint=_add_to_schedule("delivery-otp-expire", EXPIRE_TASK, "hours=1"),
                id="saleor_delivery_otp.W002",
            )
        )
    if OUTBOX_TASK not in scheduled:
        warnings.append(
            checks.Warning(
                f"Celery beat does not schedule {OUTBOX_TASK}: a code e-mail the "
                "broker refused or a worker lost is never sent again.",
                hint=_add_to_schedule(
                    "delivery-otp-send-due-emails", OUTBOX_TASK, "minutes=1"
                ),
                id="saleor_delivery_otp.W003",
            )
        )
    return warnings


def _scheduled_tasks() -> set[str] | None:
    """The task names of Celery beat's schedule, None if none is configured.

    Both places are read: Saleor sets CELERY_BEAT_SCHEDULE, which its Celery app
    loads as ``beat_schedule``; another project may configure the app directly.
    """
    schedules: list[object] = []
    if hasattr(django_settings, "CELERY_BEAT_SCHEDULE"):
        # getattr: django-stubs does not know Celery's settings.
        schedules.append(getattr(django_settings, "CELERY_BEAT_SCHEDULE"))  # noqa: B009
    if current_app.conf.beat_schedule:
        schedules.append(current_app.conf.beat_schedule)
    if not schedules:
        return None
    return {
        entry["task"]
        for schedule in schedules
        if isinstance(schedule, Mapping)
        for entry in schedule.values()
        if isinstance(entry, Mapping) and isinstance(entry.get("task"), str)
    }


def _add_to_schedule(entry: str, task: str, every: str) -> str:
    return (
        f'Add CELERY_BEAT_SCHEDULE["{entry}"] = {{"task": "{task}", '
        f'"schedule": timedelta({every})}} (docs/saleor-plugin.md, Install). If '
        "the task is scheduled in the database instead (django-celery-beat), add "
        "this check's id to SILENCED_SYSTEM_CHECKS."
    )

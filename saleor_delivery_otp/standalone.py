"""Django and Celery set up for running the engine on its own, without Saleor.

Used by the command line (the sandbox and its story): an SQLite database and a
generated key in a data folder, tasks run in-process.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

KEY_FILE = "delivery-otp.key"
DATABASE_FILE = "delivery-otp.sqlite3"


class DataDirError(Exception):
    pass


def prepare_data_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(
            f"The data folder {path} cannot be written ({exc.strerror})."
        ) from None
    return path


def _key(data_dir: Path) -> str:
    """A key kept beside the database but never in it, made on first use."""
    key_file = data_dir / KEY_FILE
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def configure(data_dir: Path, *, email_context: str, **extra: object) -> None:
    import django
    from celery import Celery
    from django.conf import settings

    values: dict[str, object] = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "INSTALLED_APPS": ["django.contrib.contenttypes", "saleor_delivery_otp"],
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(data_dir / DATABASE_FILE),
            }
        },
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DEFAULT_FROM_EMAIL": "shop@example.com",
        "DELIVERY_OTP_KEYS": [_key(data_dir)],
        "DELIVERY_OTP_EMAIL_CONTEXT": email_context,
        "DELIVERY_OTP_KEYRING": "saleor_delivery_otp.codes.configured_keyring",
        "DELIVERY_OTP_TASK_DB_ACCESS": "contextlib.nullcontext",
        "LOGGING_CONFIG": None,
    }
    settings.configure(**(values | extra))
    django.setup()
    app = Celery("saleor_delivery_otp_standalone", broker="memory://")
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    app.set_default()
    # Celery's eager path still opens a (memory) producer, and kombu warns that the
    # memory transport has no hostname: true, and of no use to the person watching.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)

    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

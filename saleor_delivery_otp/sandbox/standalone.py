"""Django and Celery set up for running the engine on its own, without Saleor.

Used by the sandbox's command line (the sandbox and its story): an SQLite database
and a generated key in a data folder, tasks run in-process.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

KEY_FILE = "delivery-otp.key"
DATABASE_FILE = "delivery-otp.sqlite3"
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
# Written by the sandbox (saleor_delivery_otp.sandbox): its shop and its e-mails.
SHOP_FILE = "shop.json"
MAIL_DIR = "mail"


class DataDirError(Exception):
    pass


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def prepare_data_dir(path: Path) -> Path:
    """The data folder, private to the user: it holds the key, the database (with
    the codes' encrypted copies) and e-mails that show codes in clear.

    Sets this process's umask to 077, so that every file and folder it creates
    from now on is private too, SQLite's journal files included; and makes private
    what an earlier run left readable.
    """
    os.umask(0o077)
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        path.chmod(PRIVATE_DIR)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        for entry in _own_entries(path):
            entry.chmod(PRIVATE_DIR if entry.is_dir() else PRIVATE_FILE)
    except OSError as exc:
        raise DataDirError(
            f"The data folder {path} cannot be written ({exc.strerror})."
        ) from None
    return path


def _own_entries(path: Path) -> list[Path]:
    """What the sandbox keeps in its data folder, as far as it exists."""
    database = path / DATABASE_FILE
    mail = path / MAIL_DIR
    entries = [
        path / KEY_FILE,
        path / SHOP_FILE,
        database,
        *(database.with_name(database.name + end) for end in SQLITE_SIDE_FILES),
        mail,
        *(mail.glob("*.eml") if mail.is_dir() else ()),
    ]
    return [entry for entry in entries if entry.exists() and not entry.is_symlink()]


def create_private(path: Path) -> int:
    """Opens ``path`` for writing, created or truncated, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # an existing file keeps its mode through os.open
    return fd


def _key(data_dir: Path) -> str:
    """A key kept beside the database but never in it, made on first use."""
    key_file = data_dir / KEY_FILE
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def configure(data_dir: Path, *, host: str, **extra: object) -> None:
    """Django, its database and an in-process Celery; ``host`` is the dotted path
    of the process's :class:`~saleor_delivery_otp.ports.Host`."""
    import django
    from celery import Celery
    from django.conf import settings

    database = data_dir / DATABASE_FILE
    # Created private before SQLite opens it: SQLite gives its journal files the
    # database file's mode.
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    database.chmod(PRIVATE_FILE)
    values: dict[str, object] = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "INSTALLED_APPS": ["django.contrib.contenttypes", "saleor_delivery_otp"],
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(database),
            }
        },
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DEFAULT_FROM_EMAIL": "shop@example.com",
        "DELIVERY_OTP_KEYS": [_key(data_dir)],
        "DELIVERY_OTP_HOST": host,
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

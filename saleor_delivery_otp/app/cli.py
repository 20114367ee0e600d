"""The App's commands of ``saleor-delivery-otp``: ``app serve``, ``app worker``,
``app manage``.

``app serve`` is for a laptop: it migrates the database, then serves the App with
Django's development server on 127.0.0.1. In production the App runs under a
WSGI or ASGI server (``gunicorn saleor_delivery_otp.app.wsgi``, docs/app.md),
``app manage migrate`` migrates before each release, and ``app worker`` runs
the Celery worker, with beat in exactly one of them. Every command reads the
environment through :mod:`saleor_delivery_otp.app.settings` unless
``DJANGO_SETTINGS_MODULE`` names other settings.
"""

from __future__ import annotations

import argparse
import os
import sys

SETTINGS = "saleor_delivery_otp.app.settings"
ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8000


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 < port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number")
    return port


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return int(value)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    app = commands.add_parser(
        "app",
        help="the Saleor App service: serve it, run its worker, manage its database",
        description=(
            "The Saleor App (host 3): a web service Saleor installs from its "
            "manifest. Configured by environment variables (SECRET_KEY, "
            "DATABASE_URL, REDIS_URL, DELIVERY_OTP_APP_URL, ...; see "
            "saleor_delivery_otp/app/settings.py and docs/app.md)."
        ),
    )
    app_commands = app.add_subparsers(
        dest="app_command", metavar="APP_COMMAND", required=True
    )
    serve = app_commands.add_parser(
        "serve",
        help="migrate, then serve the App on 127.0.0.1 (development server)",
        description=(
            "Migrates the App's database, then serves the App on 127.0.0.1 with "
            "Django's development server, for local use. In production run "
            "`gunicorn saleor_delivery_otp.app.wsgi` (or `uvicorn "
            "saleor_delivery_otp.app.asgi:application`) behind TLS instead."
        ),
    )
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help="default 8000")
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not migrate the database first"
    )
    serve.set_defaults(run=run_serve)
    worker = app_commands.add_parser(
        "worker",
        help="the App's Celery worker, with beat (the periodic tasks)",
        description=(
            "Runs the Celery worker that sends the code e-mails and writes the "
            "timeline notes and parcel statuses back to Saleor, with Celery beat "
            "embedded (expiry and the e-mail outbox). Run exactly one worker with "
            "beat; start any further ones with --no-beat."
        ),
    )
    worker.add_argument(
        "--no-beat", action="store_true", help="without beat (further workers)"
    )
    worker.add_argument("--concurrency", type=_positive, help="worker processes")
    worker.add_argument(
        "--loglevel",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
    )
    worker.set_defaults(run=run_worker)
    manage = app_commands.add_parser(
        "manage",
        help="a Django management command with the App's settings (migrate, check)",
        description="e.g. `saleor-delivery-otp app manage migrate`.",
    )
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    manage.set_defaults(run=run_manage)


def _setup() -> str | None:
    """Django with the App's settings, and the App's Celery app; the problem, if
    the settings cannot be read."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        return str(exc)
    from . import celery  # noqa: F401  (the broker the webhooks queue to)

    return None


def run_serve(args: argparse.Namespace) -> int:
    problem = _setup()
    if problem:
        return _fail(problem)
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db.utils import OperationalError

    try:
        if not args.no_migrate:
            call_command("migrate", interactive=False, skip_checks=False)
        call_command(
            "runserver",
            f"{ADDRESS}:{args.port}",
            use_reloader=False,
            use_threading=True,
        )
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return _fail(f"the database in DATABASE_URL cannot be used: {first_line}")
    except CommandError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        pass
    return 0


def run_worker(args: argparse.Namespace) -> int:
    problem = _setup()
    if problem:
        return _fail(problem)
    from .celery import app

    argv = ["worker", f"--loglevel={args.loglevel}"]
    if not args.no_beat:
        argv.append("--beat")
    if args.concurrency:
        argv.append(f"--concurrency={args.concurrency}")
    app.worker_main(argv)
    return 0


def run_manage(args: argparse.Namespace) -> int:
    problem = _setup()
    if problem:
        return _fail(problem)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["saleor-delivery-otp app manage", *args.arguments])
    return 0


def _fail(message: str) -> int:
    print(f"saleor-delivery-otp app: {message}", file=sys.stderr)
    return 2

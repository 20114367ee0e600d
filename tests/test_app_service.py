"""The App as a service: its settings read from the environment, its WSGI and ASGI
entry points, its Celery app and its commands (``saleor-delivery-otp app ...``).

The settings module is loaded fresh for each case, from the file, under an
environment the test sets; the entry points and commands run in subprocesses, as a
server or a shell runs them (they configure Django and Celery for their process).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from saleor_delivery_otp import checks

REPO = Path(__file__).resolve().parent.parent
# Never imported here: it reads (and requires) the process's environment.
SETTINGS_FILE = REPO / "saleor_delivery_otp" / "app" / "settings.py"
FERNET_KEY = "9PuQJ4wFzY27naU41I1Xu3h7O1BQTmyuLml48aVu-XA="
CODE_KEY = "service-test-key-0123456789abcdef0123456789"
# Every task of docs/architecture.md's table.
TASKS = [
    "saleor_delivery_otp.api_timeline",
    "saleor_delivery_otp.app_reconcile",
    "saleor_delivery_otp.code_follow_up",
    "saleor_delivery_otp.expire_codes",
    "saleor_delivery_otp.retry_hook",
    "saleor_delivery_otp.revocation_follow_up",
    "saleor_delivery_otp.send_code_email",
    "saleor_delivery_otp.send_due_emails",
    "saleor_delivery_otp.send_order_confirmation",
]
MINIMAL = {
    "SECRET_KEY": "a-long-random-secret-key-for-the-service-tests-0123456789",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/delivery_otp_app",
    "REDIS_URL": "redis://127.0.0.1:6379/5",
    "DELIVERY_OTP_APP_URL": "https://otp.example.com",
    "DELIVERY_OTP_APP_TOKEN_KEYS": FERNET_KEY,
    "DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS": "https://shop.example.com/graphql/",
    "DELIVERY_OTP_KEYS": CODE_KEY,
}


def load(monkeypatch: pytest.MonkeyPatch, **environment: str) -> ModuleType:
    """The App's settings module as a fresh process would read it under exactly
    ``environment`` (every variable it reads is cleared first)."""
    for name in list(os.environ):
        if name in MINIMAL or name.startswith(("DELIVERY_OTP_", "EMAIL_", "CELERY_")):
            monkeypatch.delenv(name)
    for name in ("ALLOWED_HOSTS", "DEFAULT_FROM_EMAIL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "app_settings_under_test", SETTINGS_FILE
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child_environment(**overrides: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DELIVERY_OTP_", "CELERY_"))
        and name not in MINIMAL
    }
    env.update(MINIMAL, PYTHONPATH=str(REPO))
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def run(args: list[str], **overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=child_environment(**overrides),
        check=False,
    )


def cli(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    return run(["-m", "saleor_delivery_otp.cli", *args], **overrides)


# --- settings -----------------------------------------------------------------------


@pytest.fixture
def app_settings(monkeypatch):
    return load(monkeypatch, **MINIMAL)


def test_a_postgres_url_becomes_djangos_database(app_settings):
    database = app_settings.database_from_url(
        "postgresql://otp%40app:s3cr%2Ft@db.internal:6543/otp_app?sslmode=require"
    )

    assert database == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "otp_app",
        "USER": "otp@app",
        "PASSWORD": "s3cr/t",
        "HOST": "db.internal",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require"},
    }


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://otp:s3cret@db/otp", "must be a PostgreSQL URL"),
        ("sqlite:///otp.sqlite3", "must be a PostgreSQL URL"),
        ("postgres://otp:s3cret@db:5432/", "names no database"),
        ("postgres://otp:s3cret@db:5432", "names no database"),
        ("postgres://otp:s3cret@db:port/otp", "is not a URL"),
    ],
)
def test_a_database_url_the_app_cannot_use_is_refused_without_its_password(
    app_settings, url, problem
):
    with pytest.raises(ImproperlyConfigured) as refused:
        app_settings.database_from_url(url)

    assert problem in str(refused.value)
    assert "DATABASE_URL" in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_the_settings_come_from_the_environment(monkeypatch):
    loaded = load(
        monkeypatch,
        **MINIMAL
        | {
            "DELIVERY_OTP_KEYS": f"{CODE_KEY}, older-key-0123456789abcdef0123456789",
            "DELIVERY_OTP_CHANNEL_KEYS": '{"eu": ["eu-key-2", "eu-key-1"]}',
            "DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS": (
                "https://shop.example.com/graphql/,https://other.example.com/graphql/"
            ),
            "EMAIL_HOST": "smtp.example.com",
            "EMAIL_PORT": "587",
            "EMAIL_USE_TLS": "true",
            "DEFAULT_FROM_EMAIL": "Shop <shop@example.com>",
            "ALLOWED_HOSTS": "10.0.0.7",
        },
    )

    assert loaded.SECRET_KEY == (
        "a-long-random-secret-key-for-the-service-tests-0123456789"
    )
    assert loaded.DEBUG is False
    assert loaded.DATABASES["default"]["NAME"] == "delivery_otp_app"
    assert loaded.DELIVERY_OTP_HOST == "saleor_delivery_otp.app.host.AppHost"
    assert loaded.DELIVERY_OTP_KEYS == [
        CODE_KEY,
        "older-key-0123456789abcdef0123456789",
    ]
    assert loaded.DELIVERY_OTP_CHANNEL_KEYS == {"eu": ["eu-key-2", "eu-key-1"]}
    assert loaded.DELIVERY_OTP_APP_URL == "https://otp.example.com"
    assert loaded.DELIVERY_OTP_APP_TOKEN_KEYS == [FERNET_KEY]
    assert loaded.DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS == [
        "https://shop.example.com/graphql/",
        "https://other.example.com/graphql/",
    ]
    # Only the App's own host name (and the one added) gets an answer.
    assert loaded.ALLOWED_HOSTS == ["otp.example.com", "10.0.0.7"]
    assert loaded.CACHES["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/5",
        "KEY_PREFIX": "delivery-otp-app",
    }
    assert loaded.CELERY_BROKER_URL == "redis://127.0.0.1:6379/5"
    assert loaded.CELERY_TASK_ALWAYS_EAGER is False
    assert (loaded.EMAIL_HOST, loaded.EMAIL_PORT, loaded.EMAIL_USE_TLS) == (
        "smtp.example.com",
        587,
        True,
    )
    assert loaded.EMAIL_TIMEOUT == 10
    assert loaded.DEFAULT_FROM_EMAIL == "Shop <shop@example.com>"
    # Served over https: its cookies are never sent over http.
    assert loaded.CSRF_COOKIE_SECURE is True
    assert loaded.SESSION_COOKIE_SECURE is True
    assert not hasattr(loaded, "SECURE_PROXY_SSL_HEADER")


def test_a_broker_of_its_own_and_a_proxy_are_taken_when_given(monkeypatch):
    loaded = load(
        monkeypatch,
        **MINIMAL
        | {
            "CELERY_BROKER_URL": "amqp://broker.internal//",
            "DELIVERY_OTP_APP_BEHIND_PROXY": "yes",
            "DELIVERY_OTP_APP_URL": "http://127.0.0.1:8000",
        },
    )

    assert loaded.CELERY_BROKER_URL == "amqp://broker.internal//"
    assert loaded.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert loaded.ALLOWED_HOSTS == ["127.0.0.1"]
    # A local http App URL: the cookies could not be set otherwise.
    assert loaded.CSRF_COOKIE_SECURE is False


def test_secret_key_is_required(monkeypatch):
    environment = {k: v for k, v in MINIMAL.items() if k != "SECRET_KEY"}

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is required"):
        load(monkeypatch, **environment)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DELIVERY_OTP_CHANNEL_KEYS", '{"eu": ["secret-key-1"', "is not valid JSON"),
        ("DELIVERY_OTP_CHANNEL_KEYS", '["secret-key-1"]', "must be a JSON object"),
        ("EMAIL_PORT", "secret-port", "must be a whole number"),
        ("EMAIL_USE_TLS", "secret-maybe", "must be true or false"),
        ("DATABASE_URL", "mysql://u:secret-pw@db/x", "must be a PostgreSQL URL"),
    ],
)
def test_a_variable_that_cannot_be_read_names_itself_not_its_value(
    monkeypatch, name, value, problem
):
    with pytest.raises(ImproperlyConfigured) as refused:
        load(monkeypatch, **(MINIMAL | {name: value}))

    assert name in str(refused.value)
    assert problem in str(refused.value)
    assert "secret" not in str(refused.value)


def test_beat_runs_the_expiry_the_outbox_and_the_reconciliation(monkeypatch, settings):
    loaded = load(monkeypatch, **MINIMAL)
    settings.CELERY_BEAT_SCHEDULE = loaded.CELERY_BEAT_SCHEDULE

    assert checks.check_beat_schedule() == []
    assert {entry["task"] for entry in loaded.CELERY_BEAT_SCHEDULE.values()} == {
        checks.EXPIRE_TASK,
        checks.OUTBOX_TASK,
        "saleor_delivery_otp.app_reconcile",
    }


def test_logs_say_nothing_of_requests_or_sql(monkeypatch):
    loaded = load(monkeypatch, **MINIMAL)
    formats = [f["format"] for f in loaded.LOGGING["formatters"].values()]

    assert all("request" not in line for line in formats)
    assert loaded.LOGGING["loggers"]["django.db.backends"]["level"] == "WARNING"
    assert loaded.LOGGING["loggers"]["graphql.execution.utils"]["handlers"] == ["null"]


# --- entry points and Celery, in their own processes --------------------------------

WSGI_PROBE = """
import io, json, sys
from saleor_delivery_otp.app.wsgi import application
import saleor_delivery_otp.app.asgi as asgi
from celery import current_app

def get(path, host):
    answer = {}
    def start(status, headers):
        answer["status"] = status
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": host,
               "SERVER_PORT": "443", "HTTP_HOST": host, "wsgi.url_scheme": "https",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr}
    body = b"".join(application(environ, start))
    return answer["status"], body
status, body = get("/api/manifest", "otp.example.com")
other, _ = get("/api/manifest", "evil.example.com")
print(json.dumps({"status": status, "manifest": json.loads(body), "other": other,
                  "asgi": callable(asgi.application), "celery": current_app.main}))
"""


def test_the_wsgi_and_asgi_entry_points_serve_the_app():
    result = run(["-c", WSGI_PROBE])

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == "200 OK"
    assert (
        answer["manifest"]["tokenTargetUrl"] == "https://otp.example.com/api/register"
    )
    # A Host the App is not served at is refused.
    assert answer["other"].startswith("400")
    assert answer["asgi"] is True
    # What the webhooks queue goes to the App's Celery app.
    assert answer["celery"] == "saleor_delivery_otp_app"


CELERY_PROBE = """
import json
import django
django.setup()
from saleor_delivery_otp.app.celery import app
app.loader.import_default_modules()
print(json.dumps({
    "tasks": sorted(n for n in app.tasks if n.startswith("saleor_delivery_otp.")),
    "broker": app.conf.broker_url,
    "beat": sorted(e["task"] for e in app.conf.beat_schedule.values()),
}))
"""


def test_the_worker_knows_every_task_of_the_engine_and_the_flows():
    result = run(
        ["-c", CELERY_PROBE],
        DJANGO_SETTINGS_MODULE="saleor_delivery_otp.app.settings",
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["tasks"] == TASKS
    assert answer["broker"] == MINIMAL["REDIS_URL"]
    assert answer["beat"] == [
        "saleor_delivery_otp.app_reconcile",
        checks.EXPIRE_TASK,
        checks.OUTBOX_TASK,
    ]


def test_the_apps_system_checks_pass_with_a_complete_environment():
    result = cli("app", "manage", "check")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_apps_system_checks_name_what_is_missing():
    result = cli("app", "manage", "check", DELIVERY_OTP_APP_TOKEN_KEYS="")

    assert result.returncode == 1
    assert "delivery_otp_app.E001" in result.stderr


# --- the command --------------------------------------------------------------------


def test_one_command_has_the_sandbox_and_the_app():
    result = cli("--help")
    app = cli("app", "--help")

    assert result.returncode == 0
    for command in ("sandbox", "story", "app"):
        assert f"    {command} " in result.stdout
    for command in ("serve", "worker", "manage"):
        assert f"    {command} " in app.stdout


def test_the_sandbox_commands_still_run_alone_and_through_the_command():
    alone = run(["-m", "saleor_delivery_otp.sandbox.cli", "sandbox", "--port", "x"])
    through = cli("sandbox", "--port", "x")

    for result in (alone, through):
        assert result.returncode == 2
        assert "'x' is not a port number" in result.stderr


def test_app_serve_without_a_secret_key_says_so():
    result = cli("app", "serve", SECRET_KEY="")

    assert result.returncode == 2
    assert "saleor-delivery-otp app: SECRET_KEY is required" in result.stderr


def test_app_serve_says_when_the_database_cannot_be_reached():
    # Nothing listens on port 1: refused at once.
    result = cli(
        "app",
        "serve",
        "--port",
        "8999",
        DATABASE_URL="postgres://otp:s3cret@127.0.0.1:1/delivery_otp_app",
    )

    assert result.returncode == 2
    assert "the database in DATABASE_URL cannot be used" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["app", "serve", "--port", "0"],
        ["app", "serve", "--port", "70000"],
        ["app", "worker", "--concurrency", "0"],
        ["app", "worker", "--loglevel", "chatty"],
        ["app"],
    ],
)
def test_the_app_commands_refuse_bad_arguments(args):
    result = cli(*args)

    assert result.returncode == 2
    assert "usage: saleor-delivery-otp app" in result.stderr

"""Django settings of the Saleor App service, read from the environment.

``DJANGO_SETTINGS_MODULE=saleor_delivery_otp.app.settings``: what
``saleor-delivery-otp app serve`` and ``app worker`` use, and what a production
server loads (``gunicorn saleor_delivery_otp.app.wsgi`` or ``uvicorn
saleor_delivery_otp.app.asgi:application``). Every value comes from one variable:

=====================================  ==============================================
``SECRET_KEY``                         required; Django's own (never a code key)
``DATABASE_URL``                       ``postgres://user:password@host:5432/name``
                                       (``?sslmode=require`` and other libpq
                                       options as query parameters); default
                                       ``postgres://postgres@127.0.0.1:5432/delivery_otp_app``
``DATABASE_CONN_MAX_AGE``              seconds a connection is kept (default 0)
``REDIS_URL``                          the cache (caller limits, App-token and JWKS
                                       caches); default ``redis://127.0.0.1:6379/0``
``CELERY_BROKER_URL``                  default ``REDIS_URL``
``CELERY_TASK_ALWAYS_EAGER``           ``true``: tasks run in the web process (local
                                       use without a worker only)
``CELERY_BEAT_SCHEDULE_FILENAME``      beat's state file (default
                                       ``celerybeat-schedule``)
``DELIVERY_OTP_KEYS``                  the codes' keys, comma-separated, newest first
``DELIVERY_OTP_CHANNEL_KEYS``          named key sets, JSON: ``{"eu": ["k2", "k1"]}``
``DELIVERY_OTP_APP_URL``               the App's public URL, e.g.
                                       ``https://otp.example.com`` (the manifest's
                                       URLs, and ``ALLOWED_HOSTS``)
``DELIVERY_OTP_APP_TOKEN_KEYS``        Fernet keys sealing the App tokens,
                                       comma-separated, newest first
``DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS``  the Saleor API URLs that may install the
                                       App, comma-separated
``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``,
``EMAIL_USE_TLS``, ``EMAIL_USE_SSL``, ``EMAIL_TIMEOUT``, ``EMAIL_BACKEND``,
``DEFAULT_FROM_EMAIL``                 the code e-mail's SMTP server and sender
``ALLOWED_HOSTS``                      further host names the App answers to,
                                       comma-separated (the App URL's is allowed)
``DELIVERY_OTP_APP_BEHIND_PROXY``      ``true``: trust ``X-Forwarded-Proto`` from the
                                       TLS-terminating proxy in front of the App
``SECURE_SSL_REDIRECT``,
``SECURE_HSTS_SECONDS``                Django's, if the App should redirect to https
                                       and send HSTS itself (default: the proxy's)
``LOG_LEVEL``                          default ``INFO``
=====================================  ==============================================

A value that cannot be read (a malformed URL, JSON or number) stops the process
with ImproperlyConfigured naming the variable, never its value. The App's system
checks (``delivery_otp_app.E001`` ...) then judge what was read.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "pgsql"})
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/delivery_otp_app"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number.") from None


def env_list(name: str) -> list[str]:
    """A comma-separated variable as its non-empty entries."""
    return [
        entry.strip() for entry in os.environ.get(name, "").split(",") if entry.strip()
    ]


def env_json_object(name: str) -> dict[str, Any]:
    value = os.environ.get(name, "").strip()
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        # Never the value: it holds keys.
        raise ImproperlyConfigured(f"{name} is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object.")
    return parsed


def database_from_url(url: str, *, name: str = "DATABASE_URL") -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for a PostgreSQL URL, with the standard
    library: ``postgres://user:password@host:port/database?option=value``. User,
    password and database name may be percent-encoded; query parameters become
    libpq connection options (``sslmode``, ``sslrootcert``, ...)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not a URL.") from None
    if parts.scheme.lower() not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a PostgreSQL URL (postgres://...): the App needs "
            "PostgreSQL."
        )
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ImproperlyConfigured(f"{name} names no database (postgres://.../name).")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(port) if port else "",
        "OPTIONS": dict(parse_qsl(parts.query)),
    }


def allowed_hosts_for(app_url: str) -> list[str]:
    """The App URL's host name: Saleor, the Dashboard and couriers reach the App
    there, and Django refuses any other ``Host``."""
    try:
        host = urlsplit(app_url.strip()).hostname
    except ValueError:
        host = None
    return [host] if host else []


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is required (see {__name__}).")
    return value


# --- Django ---------------------------------------------------------------------

SECRET_KEY = _required("SECRET_KEY")
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "saleor_delivery_otp",
    "saleor_delivery_otp.app",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
# No X-Frame-Options middleware: the Dashboard shows the App's pages in an
# iframe; those pages say which frame ancestors they accept themselves.
ROOT_URLCONF = "saleor_delivery_otp.app.urls"
WSGI_APPLICATION = "saleor_delivery_otp.app.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        **database_from_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 0),
    }
}

REDIS_URL = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "delivery-otp-app",
    }
}

DELIVERY_OTP_APP_URL = os.environ.get("DELIVERY_OTP_APP_URL", "").strip()
# The App URL's host, and any other name the App answers to (a load balancer's
# health check): every other Host header is refused.
ALLOWED_HOSTS = allowed_hosts_for(DELIVERY_OTP_APP_URL) + env_list("ALLOWED_HOSTS")
APPEND_SLASH = False

# --- security headers and cookies -----------------------------------------------

_HTTPS = DELIVERY_OTP_APP_URL.lower().startswith("https://")
SECURE_CONTENT_TYPE_NOSNIFF = True
# Tokens never travel in URLs, and no page's address leaves the App either.
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = _HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_HTTPONLY = True
if env_bool("DELIVERY_OTP_APP_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# TLS is the proxy's: these are its to set unless the App should repeat them.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
# The Dashboard frames the App's pages: no X-Frame-Options (see MIDDLEWARE).
SILENCED_SYSTEM_CHECKS = ["security.W002"]
# A webhook's body is at most 1 MiB (app/webhooks.py); nothing else is larger.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- e-mail ---------------------------------------------------------------------

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
# Django waits forever by default; a hung SMTP server would hold a worker.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- the engine and the App -------------------------------------------------------

DELIVERY_OTP_HOST = "saleor_delivery_otp.app.host.AppHost"
DELIVERY_OTP_KEYS = env_list("DELIVERY_OTP_KEYS")
DELIVERY_OTP_CHANNEL_KEYS = env_json_object("DELIVERY_OTP_CHANNEL_KEYS")
DELIVERY_OTP_APP_TOKEN_KEYS = env_list("DELIVERY_OTP_APP_TOKEN_KEYS")
DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = env_list("DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS")

# --- Celery (saleor_delivery_otp.app.celery reads the CELERY_* names) -------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get(
    "CELERY_BEAT_SCHEDULE_FILENAME", "celerybeat-schedule"
)
# The system checks saleor_delivery_otp.W002 and W003 look for both.
CELERY_BEAT_SCHEDULE = {
    "delivery-otp-expire": {
        "task": "saleor_delivery_otp.expire_codes",
        "schedule": timedelta(hours=1),
    },
    "delivery-otp-send-due-emails": {
        "task": "saleor_delivery_otp.send_due_emails",
        "schedule": timedelta(minutes=1),
    },
    # What Saleor's dropped webhooks would have done (app/reconcile.py).
    "delivery-otp-app-reconcile": {
        "task": "saleor_delivery_otp.app_reconcile",
        "schedule": timedelta(minutes=15),
    },
}

# --- logging: one line per event, never a request's body ---------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # The message only: no %(request)s, whose repr could carry headers.
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line"},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("LOG_LEVEL", "INFO").upper(),
    },
    "loggers": {
        # Django's request logger attaches the request; its default handlers
        # (the admins' e-mail) are replaced by the console line above.
        "django.request": {
            "handlers": ["console"],
            "level": "WARNING",
            "propagate": False,
        },
        "django.security": {
            "handlers": ["console"],
            "level": "WARNING",
            "propagate": False,
        },
        # The database layer logs SQL (with parameters: codes' digests, e-mail
        # addresses) at DEBUG: never that.
        "django.db.backends": {"level": "WARNING"},
        # graphql-core logs every resolver's exception with its traceback, a
        # refusal (PermissionDenied) included; the API answers and logs them
        # itself (saleor_delivery_otp/graphql), as Saleor silences these too.
        "graphql.execution.utils": {"handlers": ["null"], "propagate": False},
        "graphql.execution.executor": {"handlers": ["null"], "propagate": False},
    },
}

"""Django settings for the CI tier: the engine on a real PostgreSQL and Redis.

Connection details come from the environment so the same tests run anywhere:
DELIVERY_OTP_TEST_DB_HOST/PORT/USER/PASSWORD/NAME and DELIVERY_OTP_TEST_REDIS_URL.
"""

import os

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "saleor_delivery_otp",
    "saleor_delivery_otp.app",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("DELIVERY_OTP_TEST_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DELIVERY_OTP_TEST_DB_PORT", "5432"),
        "USER": os.environ.get("DELIVERY_OTP_TEST_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("DELIVERY_OTP_TEST_DB_PASSWORD", ""),
        "NAME": os.environ.get("DELIVERY_OTP_TEST_DB_NAME", "delivery_otp"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "tests.urls"
# pytest-django's live server (the driver's page browser tests) wants one.
STATIC_URL = "/static/"

REDIS_URL = os.environ.get("DELIVERY_OTP_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = False

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "shop@example.com"

DELIVERY_OTP_KEYS = [
    "test-key-0123456789abcdef0123456789abcdef",
]
DELIVERY_OTP_HOST = "tests.hosts.StandInHost"

# The Saleor App (host 3). Tests that register against their fake Saleor allow
# its URL with the settings fixture.
DELIVERY_OTP_APP_URL = "https://otp.example.com"
DELIVERY_OTP_APP_TOKEN_KEYS = ["9PuQJ4wFzY27naU41I1Xu3h7O1BQTmyuLml48aVu-XA="]
DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS = ["https://shop.example.com/graphql/"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "DEBUG"},
}

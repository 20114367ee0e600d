"""The Celery app of the CI tier, on the Redis broker from tests.settings."""

from celery import Celery

app = Celery("delivery_otp_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.set_default()

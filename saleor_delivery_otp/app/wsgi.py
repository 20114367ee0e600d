"""WSGI entry point of the App: ``gunicorn saleor_delivery_otp.app.wsgi``."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_delivery_otp.app.settings")

application = get_wsgi_application()

# What the webhooks queue goes to the App's broker.
from . import celery as _celery  # noqa: E402, F401

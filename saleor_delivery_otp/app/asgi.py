"""ASGI entry point of the App: ``uvicorn saleor_delivery_otp.app.asgi:application``.

The App's views are synchronous; Django runs them in a thread. WSGI with gunicorn
is the simpler choice; this is for a platform that serves ASGI only.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_delivery_otp.app.settings")

application = get_asgi_application()

# What the webhooks queue goes to the App's broker.
from . import celery as _celery  # noqa: E402, F401

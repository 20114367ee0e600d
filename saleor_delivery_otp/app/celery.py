"""The App's Celery app: ``celery -A saleor_delivery_otp.app.celery worker``, or
``saleor-delivery-otp app worker``.

It reads the ``CELERY_*`` settings of :mod:`saleor_delivery_otp.app.settings` and
registers every task of the engine (``saleor_delivery_otp.tasks``) and of the
flows (``saleor_delivery_otp.flows``: the follow-ups of an issued code, the
timeline write-backs, the retries). The web process imports it too
(:mod:`.wsgi`, :mod:`.asgi`), so that what a webhook queues goes to this app's
broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_delivery_otp.app.settings")

app = Celery("saleor_delivery_otp_app")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Imported by the worker once Django is set up (Celery's Django fix-up): the
# engine's tasks, and the flows' tasks, which the engine may not import.
app.autodiscover_tasks(["saleor_delivery_otp"], related_name="tasks")
app.conf.imports = ("saleor_delivery_otp.flows", "saleor_delivery_otp.app.tasks")
app.set_default()

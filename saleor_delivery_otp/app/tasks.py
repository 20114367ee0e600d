"""The App's own Celery tasks (the engine's and the flows' are shared)."""

from __future__ import annotations

import logging

from celery import shared_task

from .reconcile import reconcile_all

logger = logging.getLogger(__name__)


@shared_task(name="saleor_delivery_otp.app_reconcile")
def reconcile_task() -> dict[str, int]:
    """Periodic (beat, every 15 minutes): what Saleor's lost webhooks would have
    done, for every installation (:mod:`.reconcile`)."""
    outcome = reconcile_all()
    if outcome.events or outcome.failed:
        logger.info(
            "Delivery-code App reconciliation: %d orders, %d events, %d failed.",
            outcome.orders,
            outcome.events,
            outcome.failed,
        )
    return {
        "orders": outcome.orders,
        "events": outcome.events,
        "failed": outcome.failed,
    }

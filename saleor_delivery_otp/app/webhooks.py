"""Saleor's webhooks, as flows: ``POST /api/webhooks``, one route for every event
(``Saleor-Event`` names it).

Every delivery is verified before it is read: the installation is the one whose
API URL Saleor sends in ``Saleor-Api-Url``; the body must carry that
installation's JWS signature (``Saleor-Signature``, :mod:`.signatures`) and name
this App of that installation as its recipient, so a body signed by one Saleor
cannot be replayed to another installation. Anything else gets 401 and changes
nothing.

A verified delivery is still only a notice of which order changed: Saleor signs
every app's webhooks with one key, and any app of the shop may have it sign a body
of the app's own making (its own subscription query, aliases included). So the
App asks Saleor for the order with its own token and runs the flows on that
answer (:func:`.reconcile.settle`), as the plugin's hooks do on Saleor's objects:
idempotent (Saleor retries), the e-mail, the timeline note and the parcel status
following on Celery. A delivery that could not be settled gets 500, so Saleor
delivers it again. APP_DELETED is believed only once Saleor refuses the App's
token.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import payloads, reconcile, saleor_api, signatures
from .models import Installation
from .saleor_api import saleor_pk

logger = logging.getLogger(__name__)

# Saleor's payloads for an order with many lines stay well below this.
MAX_BODY_BYTES = 1024 * 1024
APP_DELETED = "APP_DELETED"


def _answer(status: int, code: str) -> JsonResponse:
    response = JsonResponse({"status": code}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _installation(request: HttpRequest) -> Installation | None:
    try:
        api_url = saleor_api.normalize_api_url(request.headers.get("Saleor-Api-Url"))
    except saleor_api.InvalidAPIURL:
        return None
    return Installation.objects.active().filter(saleor_api_url=api_url).first()


# Saleor posts from its server: no CSRF token, no cookie; the signature is the
# proof.
@csrf_exempt
@require_POST
def webhook_view(request: HttpRequest) -> JsonResponse:
    installation = _installation(request)
    if installation is None:
        return _answer(401, "unknown-installation")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _answer(413, "too-large")
    try:
        signatures.verify_webhook(
            body, request.headers.get("Saleor-Signature"), installation.saleor_api_url
        )
    except signatures.SignatureInvalid as exc:
        logger.warning(
            "Delivery-code App: webhook refused for installation %s (%s).",
            installation.public_id,
            exc.reason,
        )
        return _answer(401, "bad-signature")
    try:
        payload = json.loads(body)
        if payloads.recipient_id(payload) != saleor_pk(
            installation.saleor_app_id, "App"
        ):
            return _answer(401, "other-recipient")
        event = str(request.headers.get("Saleor-Event") or "").upper()
        if event == APP_DELETED:
            # The header is not signed, the body is: it must be an AppDeleted.
            if payloads.event_of(payload) != APP_DELETED:
                raise payloads.PayloadError("__typename is not AppDeleted.")
            return _app_deleted(installation, payload)
        if event not in payloads.READERS:
            return _answer(200, "ignored")
        if payloads.event_of(payload) != event:
            raise payloads.PayloadError("__typename names another event.")
        order_id = payloads.order_global_id(payload)
    except (ValueError, payloads.PayloadError) as exc:
        logger.warning(
            "Delivery-code App: webhook of installation %s not understood (%s).",
            installation.public_id,
            exc,
        )
        return _answer(400, "bad-payload")
    # The body says which order changed, nothing more: any app of the shop can
    # have Saleor sign a body of its own making (its own subscription query,
    # aliases included). What the order is now comes from Saleor, asked with
    # this App's token (reconcile.settle).
    try:
        outcome = reconcile.settle(installation, order_id)
    except Exception as exc:
        logger.warning(
            "Delivery-code App: order of installation %s not read (%s); Saleor "
            "delivers again.",
            installation.public_id,
            type(exc).__name__,
        )
        return _answer(500, "failed")
    if outcome.refused:
        # Never another shop's codes to bind or revoke (host.held_elsewhere).
        return _answer(409, "order-of-another-installation")
    if outcome.failed:
        # Saleor delivers it again; the flows are idempotent.
        return _answer(500, "failed")
    return _answer(200, "ok")


def _app_deleted(installation: Installation, payload: object) -> JsonResponse:
    """The shop removed the App: the installation is marked deleted (its token
    no longer works); codes and configuration stay, so that a re-installation
    on the same Saleor finds them (docs/app.md, Uninstall)."""
    if payloads.deleted_app_id(payload) != saleor_pk(installation.saleor_app_id, "App"):
        return _answer(200, "ignored")
    # A signed body is no proof (another app may have Saleor sign one): only a
    # token Saleor no longer accepts is.
    try:
        saleor_api.fetch_app(installation.saleor_api_url, installation.token())
    except saleor_api.TokenRefused:
        pass
    except Exception as exc:
        logger.warning(
            "Delivery-code App: APP_DELETED of installation %s not confirmed (%s).",
            installation.public_id,
            type(exc).__name__,
        )
        return _answer(500, "unconfirmed")
    else:
        logger.warning(
            "Delivery-code App: APP_DELETED of installation %s, but Saleor still "
            "accepts its token; ignored.",
            installation.public_id,
        )
        return _answer(200, "ignored")
    installation.deleted_at = timezone.now()
    installation.save(update_fields=["deleted_at", "updated_at"])
    logger.info("Delivery-code App: installation %s deleted.", installation.public_id)
    return _answer(200, "deleted")

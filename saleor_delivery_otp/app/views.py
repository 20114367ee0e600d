"""The App's endpoints for Saleor's installation: the manifest and registration."""

from __future__ import annotations

import json
import logging
import uuid

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import manifest, registration
from .registration import Refused

logger = logging.getLogger(__name__)

# Saleor posts {"auth_token": "<30 characters>"}; anything far larger is not it.
MAX_BODY_BYTES = 4096
MAX_TOKEN_LENGTH = 512
MAX_DOMAIN_LENGTH = 255


def _error(status: int, code: str, message: str) -> JsonResponse:
    # Saleor shows error.message to the user who installs the App
    # (saleor/app/installation_utils.py validate_app_install_response).
    response = JsonResponse(
        {"error": {"code": code, "message": message}}, status=status
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def manifest_view(request: HttpRequest) -> JsonResponse:
    try:
        document = manifest.build_manifest(manifest.webhook_definitions())
    except ImproperlyConfigured as exc:
        logger.error("The App's manifest cannot be built: %s", exc)
        return _error(503, "NOT_CONFIGURED", "The App is not configured: see its logs.")
    return JsonResponse(document)


# Saleor posts here from its server, with no CSRF token to give; the request
# proves nothing by itself (the token is confirmed with Saleor), and it sets no
# cookie and reads none.
@csrf_exempt
@require_POST
def register_view(request: HttpRequest) -> JsonResponse:
    try:
        api_url = registration.check_allowed(request.headers.get("Saleor-Api-Url"))
        token = _token_from(request)
        domain = _domain_from(request, api_url)
        installation = registration.register(api_url, domain, token)
    except Refused as refusal:
        return _error(refusal.status, refusal.code, refusal.message)
    logger.debug("Registered installation %s.", installation.pk)
    response = JsonResponse({"success": True})
    response["Cache-Control"] = "no-store"
    return response


def _token_from(request: HttpRequest) -> str:
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Refused(
            413, "BODY_TOO_LARGE", f"The body exceeds {MAX_BODY_BYTES} bytes."
        )
    # At most one byte past the cap: a body without Content-Length is not read
    # whole either.
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise Refused(
            413, "BODY_TOO_LARGE", f"The body exceeds {MAX_BODY_BYTES} bytes."
        )
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "INVALID_BODY", "The body is not JSON.") from None
    token = data.get("auth_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise Refused(
            400, "INVALID_BODY", 'The body must be {"auth_token": "<App token>"}.'
        )
    # It goes into an Authorization header: printable ASCII without spaces.
    if (
        len(token) > MAX_TOKEN_LENGTH
        or not token.isascii()
        or not token.isprintable()
        or " " in token
    ):
        raise Refused(400, "INVALID_BODY", "auth_token is not an App token.")
    return token


def _domain_from(request: HttpRequest, api_url: str) -> str:
    domain = (request.headers.get("Saleor-Domain") or "").strip()
    if not domain or len(domain) > MAX_DOMAIN_LENGTH or not domain.isprintable():
        # Only for messages: the API URL's host says the same.
        return api_url.split("/")[2][:MAX_DOMAIN_LENGTH]
    return domain


# Bearer tokens, no cookies: a storefront or a courier's server calls it.
@csrf_exempt
def graphql_view(request: HttpRequest, installation: uuid.UUID) -> HttpResponse:
    """The delivery-code API (docs/graphql.md) of one installation: the same
    schema and errors as the plugin's, its customers' Saleor JWTs and its courier
    apps' tokens."""
    from ..graphql.view import handle
    from .host import AppHost
    from .models import Installation

    found = Installation.objects.active().filter(public_id=installation).first()
    if found is None:
        response = JsonResponse({"errors": [{"message": "Unknown shop."}]}, status=404)
        response["Cache-Control"] = "no-store"
        return response
    return handle(request, host=AppHost(found), channel=None)

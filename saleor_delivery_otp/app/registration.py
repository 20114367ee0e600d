"""Registration: Saleor hands the App its token (``POST tokenTargetUrl``) and the
App keeps it as an :class:`~saleor_delivery_otp.app.models.Installation`.

Who may register: a Saleor whose API URL the shop owner listed in
``DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS`` (compared in normalize_api_url's form),
presenting a token with which that API URL names an app installed from this
App's manifest. The token is confirmed by asking that URL, never by what the
request claims: anyone can post to the endpoint.

Re-registration of a Saleor already installed:

- the same app id (a new token of the same app): the token is replaced;
- another app id: Saleor re-installed the App. The old token is asked first; if
  Saleor still accepts it, the old app is alive and the new one is not ours to
  trust (Saleor allows one app per identifier; a second is someone's local app
  claiming it): refused, 409. If Saleor refuses it, the old app is gone: the new
  app id and token take over the row (and a deleted installation is live again),
  keeping the shop's configuration and the codes of parcels on their way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from . import saleor_api, tokens
from .manifest import APP_IDENTIFIER
from .models import Installation
from .saleor_api import InvalidAPIURL, normalize_api_url

logger = logging.getLogger(__name__)

ALLOWED_SETTING = "DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS"


@dataclass
class Refused(Exception):
    """A registration the App does not accept: ``status`` and ``code`` for the
    answer, ``message`` for Saleor to show the installing user."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def allowed_saleor_urls() -> frozenset[str]:
    """The allow-list in normalized form; an entry that is no API URL is left
    out (the system check delivery_otp_app.E003 names it)."""
    value = getattr(settings, ALLOWED_SETTING, None) or []
    if isinstance(value, str):
        value = value.split(",")
    allowed = set()
    for entry in value:
        try:
            allowed.add(normalize_api_url(entry))
        except InvalidAPIURL:
            continue
    return frozenset(allowed)


def check_allowed(header: str | None) -> str:
    """The normalized API URL of a registration, if it may register."""
    if header is None or not header.strip():
        raise Refused(400, "MISSING_API_URL", "The Saleor-Api-Url header is missing.")
    try:
        api_url = normalize_api_url(header)
    except InvalidAPIURL as exc:
        raise Refused(400, "INVALID_API_URL", f"Saleor-Api-Url {exc}.") from None
    allowed = allowed_saleor_urls()
    if not allowed:
        logger.warning(
            "App registration from %s refused: %s is empty, so the App accepts no "
            "Saleor; add this Saleor's API URL to it to allow the installation.",
            api_url,
            ALLOWED_SETTING,
        )
        raise Refused(
            403, "SALEOR_NOT_ALLOWED", "This App accepts no Saleor installation yet."
        )
    if api_url not in allowed:
        logger.warning(
            "App registration from %s refused: not in %s.", api_url, ALLOWED_SETTING
        )
        raise Refused(
            403,
            "SALEOR_NOT_ALLOWED",
            f"This App does not accept installations from {api_url}.",
        )
    return api_url


def register(api_url: str, domain: str, token: str) -> Installation:
    """Confirm ``token`` at ``api_url`` (already :func:`check_allowed`) and store
    it sealed. Nothing is stored when it raises :class:`Refused`."""
    try:
        tokens.sealer()
    except ImproperlyConfigured as exc:
        # Before asking Saleor: a token the App cannot seal is not taken at all.
        logger.error("App registration from %s refused: %s", api_url, exc)
        raise Refused(
            503, "NOT_CONFIGURED", "The App cannot store tokens: see its logs."
        ) from None
    app = _confirm(api_url, token)
    if app.identifier != APP_IDENTIFIER:
        logger.warning(
            "App registration from %s refused: the token is app %s's, installed "
            "from %r, not from this App's manifest.",
            api_url,
            app.id,
            app.identifier,
        )
        raise Refused(
            403,
            "WRONG_APP",
            "The token does not belong to an installation of this App.",
        )
    try:
        installation = _store(api_url, app.id, domain, token)
    except IntegrityError:
        # A concurrent first registration of the same Saleor inserted the row
        # first; now there is a row to lock.
        installation = _store(api_url, app.id, domain, token)
    logger.info(
        "App registered: %s, app %s (installation %s).",
        api_url,
        app.id,
        installation.pk,
    )
    return installation


def _store(api_url: str, app_id: str, domain: str, token: str) -> Installation:
    with transaction.atomic():
        # The row lock orders two registrations of one Saleor (Saleor retrying).
        installation = (
            Installation.objects.select_for_update()
            .filter(saleor_api_url=api_url)
            .first()
        )
        if installation is None:
            installation = Installation(saleor_api_url=api_url)
        elif installation.saleor_app_id != app_id:
            _take_over(installation, app_id)
        installation.saleor_app_id = app_id
        installation.domain = domain
        installation.deleted_at = None
        installation.set_token(token)
        installation.save()
    return installation


def _confirm(api_url: str, token: str) -> saleor_api.SaleorApp:
    try:
        return saleor_api.fetch_app(api_url, token)
    except saleor_api.TokenRefused as exc:
        logger.warning("App registration from %s refused: %s.", api_url, exc)
        raise Refused(
            403, "TOKEN_REFUSED", "Saleor does not accept the token as an App token."
        ) from None
    except saleor_api.SaleorUnavailable as exc:
        logger.warning(
            "App registration from %s failed: Saleor could not confirm the token (%s).",
            api_url,
            exc,
        )
        raise Refused(
            502, "SALEOR_UNAVAILABLE", f"Saleor could not confirm the token ({exc})."
        ) from None


def _take_over(installation: Installation, new_app_id: str) -> None:
    """Refuse unless the installation's previous app is gone from Saleor."""
    if installation.deleted_at is None:
        try:
            previous_token = installation.token()
        except tokens.TokenUnreadable:
            logger.error(
                "App registration from %s refused: no key in %s opens the token of "
                "installation %s, so the App cannot ask whether app %s is still "
                "installed; restore the key that sealed it.",
                installation.saleor_api_url,
                tokens.SETTING,
                installation.pk,
                installation.saleor_app_id,
            )
            raise Refused(
                503, "NOT_CONFIGURED", "The App cannot read its keys: see its logs."
            ) from None
        try:
            saleor_api.fetch_app(installation.saleor_api_url, previous_token)
        except saleor_api.TokenRefused:
            pass  # the previous app is gone: the new one takes over
        except saleor_api.SaleorUnavailable as exc:
            raise Refused(
                502,
                "SALEOR_UNAVAILABLE",
                f"Saleor could not confirm the previous installation ({exc}).",
            ) from None
        else:
            logger.warning(
                "App registration from %s refused: app %s is still installed there, "
                "and app %s claims to be this App.",
                installation.saleor_api_url,
                installation.saleor_app_id,
                new_app_id,
            )
            raise Refused(
                409,
                "ALREADY_INSTALLED",
                "This App is already installed in this Saleor; uninstall it first.",
            )
    logger.info(
        "App re-installed at %s: app %s takes over installation %s from app %s.",
        installation.saleor_api_url,
        new_app_id,
        installation.pk,
        installation.saleor_app_id,
    )

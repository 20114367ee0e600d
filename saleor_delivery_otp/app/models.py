"""One Saleor installation of the App: where its Saleor is, which app it is there,
and its App token, sealed (:mod:`saleor_delivery_otp.app.tokens`)."""

from __future__ import annotations

from django.db import models

from . import tokens


class InstallationQuerySet(models.QuerySet["Installation"]):
    def active(self) -> InstallationQuerySet:
        return self.filter(deleted_at__isnull=True)


class Installation(models.Model):
    """One Saleor, one row.

    ``saleor_api_url`` is unique, which makes (API URL, app id) unique too: Saleor
    refuses a second app with the manifest's ``id`` while one is installed, so a
    Saleor holds at most one installation of the App at a time. A re-installation
    (a new app id there) takes over the row, so the shop's configuration and the
    codes of parcels still on their way stay with it
    (:mod:`saleor_delivery_otp.app.registration`).
    """

    # normalize_api_url's form: exactly what Saleor sends in ``Saleor-Api-Url``.
    saleor_api_url = models.CharField(max_length=2048, unique=True)
    # Saleor's global ID of the app (``query { app { id } }`` with the token).
    saleor_app_id = models.CharField(max_length=255)
    # Saleor's ``Saleor-Domain`` header at registration: for messages, not a key.
    domain = models.CharField(max_length=255, blank=True)
    # Fernet token of the App token; never the token itself (see token()).
    sealed_token = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when Saleor reports the app deleted (APP_DELETED); cleared when the same
    # Saleor installs the App again.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = InstallationQuerySet.as_manager()

    def __str__(self) -> str:
        return self.saleor_api_url

    def token(self) -> str:
        """The App token in clear, for a request to Saleor; never log or store it.
        :class:`~saleor_delivery_otp.app.tokens.TokenUnreadable` if no configured
        key opens it."""
        return tokens.open_sealed(self.sealed_token)

    def set_token(self, token: str) -> None:
        """Seal ``token`` under the newest key (saved by the caller)."""
        self.sealed_token = tokens.seal(token)

    def reseal_token(self) -> None:
        """Seal the token again under the newest key and save it: after a new key
        was prepended, before the old one is dropped."""
        self.sealed_token = tokens.reseal(self.sealed_token)
        self.save(update_fields=["sealed_token", "updated_at"])

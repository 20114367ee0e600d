"""One Saleor installation of the App: where its Saleor is, which app it is there,
and its App token, sealed (:mod:`saleor_delivery_otp.app.tokens`)."""

from __future__ import annotations

import uuid

from django.db import models

from . import tokens

# A channel as the engine names it (DeliveryCode.channel, driver keys, the API):
# "<installation>/<slug>". Saleor installations share the App's database, and
# their channel slugs and fulfillment ids repeat: the engine tells them apart by
# channel (docs/architecture.md, "parcel").
CHANNEL_SEPARATOR = "/"


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

    # The installation's name in URLs (its GraphQL API route) and in the engine's
    # channel names: stable across re-installations, never the database id.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    objects = InstallationQuerySet.as_manager()

    def __str__(self) -> str:
        return self.saleor_api_url

    def channel(self, slug: str) -> str:
        """The engine's name of this installation's channel ``slug``."""
        return f"{self.public_id}{CHANNEL_SEPARATOR}{slug}"

    def scoped_id(self, pk: str) -> str:
        """The engine's name of this installation's user or app ``pk``: Saleor's
        ids repeat across installations, and the engine keys pins, audit and
        per-caller limits by them. "" stays "" (a guest has no account)."""
        return f"{self.public_id}:{pk}" if pk else ""

    @staticmethod
    def split_channel(channel: str) -> tuple[str, str]:
        """``(public id, slug)`` of an engine channel name; ValueError if it is
        not one of the App's."""
        public_id, separator, slug = channel.partition(CHANNEL_SEPARATOR)
        if not separator or not slug:
            raise ValueError("not an App channel")
        return str(uuid.UUID(public_id)), slug

    @classmethod
    def of_channel(cls, channel: str) -> tuple[Installation, str] | None:
        """The active installation and the Saleor slug of an engine channel."""
        try:
            public_id, slug = cls.split_channel(channel)
        except ValueError:
            return None
        found = cls.objects.active().filter(public_id=public_id).first()
        return (found, slug) if found is not None else None

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


class ChannelConfiguration(models.Model):
    """One channel's delivery-code configuration in one installation: the same
    form as the plugin's Dashboard configuration
    (:mod:`saleor_delivery_otp.plugin_config`), stored as Saleor stores a
    plugin's (``[{"name": ..., "value": ...}]``)."""

    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="channels"
    )
    # Saleor's channel slug and currency, as the configuration page saw them.
    slug = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    active = models.BooleanField(default=False)
    items = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "slug"],
                name="delivery_otp_app_one_configuration_per_channel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.installation} {self.slug}"


class OrderMail(models.Model):
    """What the code e-mail says about an order, kept from the webhooks that
    carried it (Saleor sends it with the order and each parcel): the e-mail task
    then needs no call to Saleor. Never a code."""

    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="order_mails"
    )
    order_id = models.UUIDField()
    # {"number", "language", "customer_name", "recipient", "items": [[name, qty]],
    #  "parcels": {"<fulfillment id>": {"number": n, "items": [[name, qty]]}}}
    facts = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "order_id"],
                name="delivery_otp_app_one_mail_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.installation} {self.order_id}"

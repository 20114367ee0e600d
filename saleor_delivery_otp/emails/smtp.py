"""The way out: the channel's SMTP server, or Django's e-mail settings.

Saleor's UserEmailPlugin sends through an SMTP backend built from its own
per-channel configuration and ignores ``EMAIL_BACKEND``; the code e-mail follows the
same server, so it comes from the same address as the shop's other e-mails. Without
one (no active UserEmailPlugin, or the sandbox) Django's configured backend and
``DEFAULT_FROM_EMAIL`` are used.
"""

from __future__ import annotations

from email.headerregistry import Address

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from .context import SmtpTransport

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def connection_for(transport: SmtpTransport | None) -> BaseEmailBackend:
    """An e-mail connection that raises on failure, so the Celery task retries."""
    if transport is None:
        return get_connection(fail_silently=False)
    return get_connection(
        SMTP_BACKEND,
        fail_silently=False,
        host=transport.host,
        port=transport.port,
        # "" rather than None: None would fall back to EMAIL_HOST_USER/PASSWORD,
        # Django-wide credentials that do not belong to this server.
        username=transport.username,
        password=transport.password,
        use_tls=transport.use_tls,
        use_ssl=transport.use_ssl,
        timeout=transport.timeout,
    )


def sender_for(transport: SmtpTransport | None) -> str:
    """The From header: "Name <address>" as Saleor builds it, else Django's default."""
    if transport is None or not transport.sender_address:
        return settings.DEFAULT_FROM_EMAIL
    return str(Address(transport.sender_name or "", addr_spec=transport.sender_address))

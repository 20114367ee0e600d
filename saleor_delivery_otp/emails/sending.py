"""Sends the delivery-code e-mail, and the order confirmation of single-e-mail mode.

What a message says about the order comes from the host
(:class:`~saleor_delivery_otp.ports.Host`: ``email_context``, and
``confirmation_context`` for single mode), which is the only code that reads
orders. Nothing here logs or raises with
the code in it: the Celery task turns any failure into a sanitized
``CodeEmailFailed`` and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMultiAlternatives

from ..ports import get_host
from .context import (
    EmailContext,
    EmailTemplates,
    ParcelItem,
    SmtpTransport,
    with_reveal_token,
)
from .rendering import (
    RenderedEmail,
    build_code_block,
    pick_language,
    render_code_email,
    render_order_confirmation,
)
from .smtp import connection_for, sender_for

if TYPE_CHECKING:
    from ..models import DeliveryCode

logger = logging.getLogger(__name__)

__all__ = [
    "EmailContext",
    "EmailTemplates",
    "ParcelItem",
    "SmtpTransport",
    "confirmation_context",
    "deliver",
    "email_context",
    "send_code_email",
    "send_order_confirmation",
    "send_order_confirmation_email",
]


def email_context(record: DeliveryCode) -> EmailContext:
    """The host's context for a code's e-mail (:class:`~..ports.Host`)."""
    return get_host().email_context(record)


def confirmation_context(
    payload: Mapping[str, Any], record: DeliveryCode | None
) -> EmailContext:
    """The host's context for an order confirmation, with or without a code."""
    return get_host().confirmation_context(payload, record)


def deliver(
    rendered: RenderedEmail, recipient: str, transport: SmtpTransport | None
) -> None:
    """One multipart/alternative message (text, then HTML) to one recipient."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=sender_for(transport),
        to=[recipient],
        connection=connection_for(transport),
        headers={
            # Tells mail servers and clients not to auto-reply (RFC 3834).
            "Auto-Submitted": "auto-generated",
            "Content-Language": rendered.language,
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    message.send(fail_silently=False)


def _for_pinned_reader(
    context: EmailContext, record: DeliveryCode, recipient: str
) -> EmailContext | None:
    """The context with the code's reveal token in its order link, or None when
    ``recipient`` is not the address the code was issued to (the order's e-mail
    changed since): a code never goes to an address it was not pinned to."""
    from .. import service

    keyring = service.reading_keyring()
    if not service.is_pinned_to(record, recipient, keyring):
        logger.warning(
            "Delivery code %s of order %s not e-mailed: the order's address is not "
            "the one the code was issued to.",
            record.pk,
            record.order_id,
        )
        return None
    token = keyring.reveal_token(record.order_id, record.recipient_digest)
    return replace(context, order_url=with_reveal_token(context.order_url, token))


def send_code_email(record: DeliveryCode, code: str) -> bool:
    """The Celery sender (``DELIVERY_OTP_EMAIL_SENDER``): e-mail one code, to the
    address it is pinned to; returns False (nothing sent) for any other address."""
    found = email_context(record)
    context = _for_pinned_reader(found, record, found.recipient)
    if context is None:
        return False
    deliver(
        render_code_email(context, code, record), context.recipient, context.transport
    )
    return True


def send_order_confirmation(
    payload: Mapping[str, Any],
    context: EmailContext,
    *,
    code: str | None = None,
    record: DeliveryCode | None = None,
) -> None:
    """Single-e-mail mode: the order confirmation, with the code block when the
    order has a code (``code`` and ``record`` given) and without it otherwise."""
    block = (
        build_code_block(context, code, record)
        if code is not None and record is not None
        else None
    )
    order = payload.get("order") or {}
    language = pick_language(
        context.language_code,
        order.get("language_code"),
        context.channel_language_code,
    )
    rendered = render_order_confirmation(
        payload,
        block,
        language,
        templates=context.confirmation_email,
        shop_name=context.shop_name,
        brand_color=context.brand_color,
        logo_url=context.logo_url,
        order_url=context.order_url,
        customer_name=context.customer_name,
    )
    recipient = context.recipient or str(payload.get("recipient_email") or "")
    deliver(rendered, recipient, context.transport)


def send_order_confirmation_email(
    payload: Mapping[str, Any], record: DeliveryCode | None, code: str | None
) -> None:
    """The Celery sender of single-e-mail mode, the twin of :func:`send_code_email`.

    The task passes the payload Saleor built for ORDER_CONFIRMATION, and the order's
    code record and its plain code when the order has a usable one (else None).
    """
    context = confirmation_context(payload, record)
    recipient = context.recipient or str(payload.get("recipient_email") or "")
    pinned = (
        _for_pinned_reader(context, record, recipient) if record is not None else None
    )
    if pinned is None:
        # No code, or not for this address: the confirmation goes without it.
        send_order_confirmation(payload, context)
        return
    send_order_confirmation(payload, pinned, code=code, record=record)

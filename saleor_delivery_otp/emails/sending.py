"""Sends the delivery-code e-mail, and the order confirmation of single-e-mail mode.

What a message says about the order comes from the host adapter
(``DELIVERY_OTP_EMAIL_CONTEXT``, and ``DELIVERY_OTP_CONFIRMATION_CONTEXT`` for single
mode), which is the only code that reads orders. Nothing here logs or raises with
the code in it: the Celery task turns any failure into a sanitized
``CodeEmailFailed`` and retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMultiAlternatives
from django.utils.module_loading import import_string

from ..conf import settings
from .context import EmailContext, EmailTemplates, ParcelItem, SmtpTransport
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
    return import_string(settings.DELIVERY_OTP_EMAIL_CONTEXT)(record)


def confirmation_context(
    payload: Mapping[str, Any], record: DeliveryCode | None
) -> EmailContext:
    """The host's context for an order confirmation, with or without a code."""
    return import_string(settings.DELIVERY_OTP_CONFIRMATION_CONTEXT)(payload, record)


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


def send_code_email(record: DeliveryCode, code: str) -> None:
    """The Celery sender (``DELIVERY_OTP_EMAIL_SENDER``): e-mail one code."""
    context = email_context(record)
    deliver(
        render_code_email(context, code, record), context.recipient, context.transport
    )


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
    send_order_confirmation(payload, context, code=code, record=record)

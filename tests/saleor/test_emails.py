"""The customer's e-mails inside Saleor: separate code e-mails and single-e-mail
mode, where the plugin sends the order confirmation with the code in it."""

from __future__ import annotations

import pytest
from django.core import mail
from saleor.graphql.tests.utils import get_graphql_content
from saleor.plugins.models import PluginConfiguration

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import service

from .fixtures import USER_EMAIL_PLUGIN, codes_of, global_id
from .test_configuration import PLUGIN_UPDATE


def _bodies(message) -> str:
    return message.body + "".join(content for content, _ in message.alternatives)


def test_separate_mode_links_the_order_page_and_names_the_parcel(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout, fulfill
):
    configure_otp(
        channel_USD,
        threshold="300",
        order_url="https://shop.example.com/orders/{token}",
    )
    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 2)]))
    fulfill(order, {catalog.phone: 1})
    fulfill(order, {catalog.phone: 1})

    first, second = mail.outbox
    assert f"https://shop.example.com/orders/{order.pk}" in _bodies(first)
    assert "Phone X" in _bodies(first)
    parcel_code = service.open_code(codes_of(order)[1])
    assert parcel_code in second.body
    assert parcel_code not in second.subject
    assert "2" in second.subject or "Parcel 2" in _bodies(second)


@pytest.fixture
def single_mode(channel_USD, configure_otp):
    configure_otp(channel_USD, threshold="300", email_mode="single")
    return channel_USD


def test_single_mode_sends_one_confirmation_with_the_code(
    single_mode, catalog, make_checkout, complete_checkout
):
    order = complete_checkout(make_checkout(single_mode, [(catalog.phone, 1)]))

    (record,) = codes_of(order)
    code = service.open_code(record)
    (message,) = mail.outbox
    assert code in message.body
    assert code not in message.subject
    assert str(order.number) in message.subject


def test_single_mode_confirms_orders_without_code_too(
    single_mode, catalog, make_checkout, complete_checkout
):
    order = complete_checkout(make_checkout(single_mode, [(catalog.case, 1)]))

    assert codes_of(order) == []
    (message,) = mail.outbox
    assert str(order.number) in message.subject


def test_single_mode_later_parcels_still_get_their_own_code_email(
    single_mode, catalog, make_checkout, complete_checkout, fulfill
):
    order = complete_checkout(make_checkout(single_mode, [(catalog.phone, 2)]))
    fulfill(order, {catalog.phone: 1})
    fulfill(order, {catalog.phone: 1})

    order_code, parcel_code = (service.open_code(r) for r in codes_of(order))
    confirmation, parcel_mail = mail.outbox
    assert order_code in confirmation.body
    assert parcel_code in parcel_mail.body


def test_single_mode_is_refused_while_user_emails_would_confirm_too(
    plugins_staff, channel_USD, settings
):
    settings.PLUGINS = [*settings.PLUGINS, USER_EMAIL_PLUGIN]
    PluginConfiguration.objects.create(
        identifier=c.USER_EMAIL_PLUGIN_ID,
        channel=channel_USD,
        active=True,
        configuration=[],
    )

    response = plugins_staff.post_graphql(
        PLUGIN_UPDATE,
        {
            "id": c.PLUGIN_ID,
            "channel": global_id("Channel", channel_USD.pk),
            "active": True,
            "configuration": [{"name": c.EMAIL_MODE, "value": "single"}],
        },
    )

    errors = get_graphql_content(response)["data"]["pluginUpdate"]["errors"]
    assert [error["field"] for error in errors] == [c.EMAIL_MODE]
    assert "two" in errors[0]["message"]


def test_bad_template_is_refused_on_its_field(plugins_staff, channel_USD):
    response = plugins_staff.post_graphql(
        PLUGIN_UPDATE,
        {
            "id": c.PLUGIN_ID,
            "channel": global_id("Channel", channel_USD.pk),
            "active": True,
            "configuration": [
                {"name": c.CODE_EMAIL_HTML, "value": "<p>Thanks!</p>"},
                {"name": c.TIME_ZONE, "value": "Europe/Rome"},
            ],
        },
    )

    errors = get_graphql_content(response)["data"]["pluginUpdate"]["errors"]
    assert [error["field"] for error in errors] == [c.CODE_EMAIL_HTML]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""
    import socket

    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_code_email_goes_through_the_channels_user_emails_smtp_server(
    channel_USD,
    configure_otp,
    catalog,
    make_checkout,
    complete_checkout,
    settings,
    smtp_server,
):
    """With Saleor's User emails plugin active in the channel, the code e-mail uses
    its SMTP server and sender, not Django's e-mail backend."""
    import email
    from email import policy

    received, port = smtp_server
    settings.PLUGINS = [*settings.PLUGINS, USER_EMAIL_PLUGIN]
    PluginConfiguration.objects.create(
        identifier=c.USER_EMAIL_PLUGIN_ID,
        channel=channel_USD,
        active=True,
        configuration=[
            {"name": "host", "value": "127.0.0.1"},
            {"name": "port", "value": str(port)},
            {"name": "use_tls", "value": False},
            {"name": "use_ssl", "value": False},
            {"name": "sender_name", "value": "Example Shop"},
            {"name": "sender_address", "value": "shop@example.com"},
        ],
    )
    configure_otp(channel_USD, threshold="300")

    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))

    (record,) = codes_of(order)
    code = service.open_code(record)
    ours = [
        email.message_from_bytes(raw, policy=policy.default)
        for _, raw in received.messages
        if code.encode() in raw
    ]
    assert len(ours) == 1
    assert ours[0]["From"] == "Example Shop <shop@example.com>"
    assert ours[0]["To"] == order.get_customer_email()
    assert not any(code in message.body for message in mail.outbox)
    # The e-mail names the shop as its From line does, not by Saleor's default
    # site name, and the phone (whose only variant Saleor named after it) once.
    text = ours[0].get_body(preferencelist=("plain",)).get_content()
    html = ours[0].get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert "Example Shop" in body
        assert "Saleor e-commerce" not in body
        assert "Phone X" in body and "Phone X (Phone X)" not in body


def test_without_a_sender_name_the_e_mail_names_the_shop_by_its_site_name(
    channel_USD, configure_otp, catalog, make_checkout, complete_checkout, site_settings
):
    site = site_settings.site
    site.name = "Negozio Roma"
    site.save(update_fields=["name"])
    configure_otp(channel_USD, threshold="300")

    complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))

    (message,) = mail.outbox
    assert "Negozio Roma" in _bodies(message)

"""Who reads and who acts, in a real Saleor (issue 9): what Saleor hands out (an
order's id and e-mail) opens no code; staff changing the order or deleting the
account make no code readable by anyone new; channel-restricted staff stay in their
channels, on both of the plugin's routes."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from django.core import mail
from saleor.account.models import Group, User
from saleor.channel.models import Channel
from saleor.graphql.account.utils import get_user_accessible_channels
from saleor.graphql.tests.fixtures import ApiClient
from saleor.graphql.tests.utils import get_graphql_content

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import service
from saleor_delivery_otp.models import CodeStatus
from saleor_delivery_otp.plugin.host import accessible_channels

from .fixtures import CUSTOMER_EMAIL, codes_of, global_id

CODES = """
query codes($id: ID!, $token: String) {
  orderDeliveryCodes(orderId: $id, revealToken: $token) { id status code }
}
"""
CODES_BY_EMAIL = """
query codes($id: ID!, $email: String) {
  orderDeliveryCodes(orderId: $id, email: $email) { code }
}
"""
ENTITIES = """
query entities($r: [_Any!]!, $token: String) {
  _entities(representations: $r) {
    ... on Order { deliveryCodes(revealToken: $token) { code status } }
  }
}
"""
VERIFY = """
mutation verify($fulfillment: ID, $code: String!) {
  deliveryCodeVerify(fulfillmentId: $fulfillment, code: $code) {
    accepted attemptsLeft errors { code }
  }
}
"""
UNLOCK = """
mutation unlock($id: ID!) {
  deliveryCodeUnlock(id: $id, reason: "called") { errors { code message } }
}
"""
RESEND = """
mutation resend($id: ID!, $token: String) {
  deliveryCodeResend(id: $id, revealToken: $token) { errors { code message } }
}
"""
SALEOR_ORDER = "query order($id: ID!) { order(id: $id) { id userEmail } }"
ORDER_UPDATE = """
mutation update($id: ID!, $email: String!) {
  orderUpdate(id: $id, input: {userEmail: $email}) {
    order { userEmail user { id } } errors { field code }
  }
}
"""
CUSTOMER_DELETE = """
mutation delete($id: ID!) { customerDelete(id: $id) { errors { field code } } }
"""
REFUSAL = "You do not have access to this order's codes."
ORDER_PAGE = "https://shop.example.com/orders/{token}"


def channel_route(channel) -> str:
    return f"/plugins/channel/{channel.slug}/{c.PLUGIN_ID}/graphql/"


GLOBAL_ROUTE = f"/plugins/{c.PLUGIN_ID}/graphql/"


def _post(client: ApiClient, query: str, variables: dict) -> dict:
    response = client.post_graphql(query, variables)
    assert response.status_code == 200, response.content
    return response.json()


def _token_of(message) -> str:
    """The reveal token of the order page link in a code e-mail."""
    (token,) = set(re.findall(r"#delivery-code=([A-Za-z0-9._-]+)", message.body))
    return token


@pytest.fixture
def guest_order(
    channel_USD, configure_otp, app, catalog, make_checkout, complete_checkout, fulfill
):
    """A guest's phone, shipped; its code e-mailed with the order page link."""
    configure_otp(
        channel_USD, threshold="300", allowed_apps=str(app.pk), order_url=ORDER_PAGE
    )
    order = complete_checkout(make_checkout(channel_USD, [(catalog.phone, 1)]))
    (parcel,) = fulfill(order, {catalog.phone: 1})
    (record,) = codes_of(order)
    (message,) = [m for m in mail.outbox if service.open_code(record) in m.body]
    return order, parcel, record, _token_of(message)


@pytest.fixture
def customer_order(
    channel_USD,
    configure_otp,
    app,
    catalog,
    make_checkout,
    complete_checkout,
    fulfill,
    customer_user,
):
    configure_otp(
        channel_USD, threshold="300", allowed_apps=str(app.pk), order_url=ORDER_PAGE
    )
    order = complete_checkout(
        make_checkout(channel_USD, [(catalog.phone, 1)], user=customer_user)
    )
    (parcel,) = fulfill(order, {catalog.phone: 1})
    (record,) = codes_of(order)
    (message,) = [m for m in mail.outbox if service.open_code(record) in m.body]
    return order, parcel, record, _token_of(message)


def test_the_email_saleor_hands_out_opens_no_code(guest_order, api_client, channel_USD):
    order, _, record, _ = guest_order
    code = service.open_code(record)
    saleor = _post(api_client, SALEOR_ORDER, {"id": global_id("Order", order.pk)})
    assert saleor["data"]["order"]["userEmail"] == CUSTOMER_EMAIL  # public

    for path in (channel_route(channel_USD), GLOBAL_ROUTE):
        anonymous = ApiClient(user=None, api_path=path)
        response = anonymous.post_graphql(
            CODES_BY_EMAIL,
            {"id": global_id("Order", order.pk), "email": CUSTOMER_EMAIL},
        )
        plain = _post(anonymous, CODES, {"id": global_id("Order", order.pk)})
        assert code not in response.content.decode()
        assert [e["message"] for e in plain["errors"]] == [REFUSAL]


def test_guest_reads_her_code_with_the_link_of_her_code_email(guest_order, channel_USD):
    order, _, record, token = guest_order

    for path in (channel_route(channel_USD), GLOBAL_ROUTE):
        guest = ApiClient(user=None, api_path=path)
        body = _post(guest, CODES, {"id": global_id("Order", order.pk), "token": token})
        (shown,) = body["data"]["orderDeliveryCodes"]
        assert shown["code"] == service.open_code(record)


def test_staff_and_apps_get_no_code_even_with_the_token(
    guest_order, order_staff, app, channel_USD
):
    order, parcel, record, token = guest_order
    code = service.open_code(record)
    order_gid = global_id("Order", order.pk)

    for path in (channel_route(channel_USD), GLOBAL_ROUTE):
        for client in (
            ApiClient(user=order_staff.user, api_path=path),
            ApiClient(app=app, api_path=path),
        ):
            listed = _post(client, CODES, {"id": order_gid, "token": token})
            entities = _post(
                client,
                ENTITIES,
                {"r": [{"__typename": "Order", "id": order_gid}], "token": token},
            )
            assert code not in json.dumps(listed) + json.dumps(entities)
    # The courier app still verifies the code the customer tells at the door.
    courier = ApiClient(app=app, api_path=GLOBAL_ROUTE)
    verdict = _post(
        courier,
        VERIFY,
        {"fulfillment": global_id("Fulfillment", parcel.pk), "code": code},
    )
    assert verdict["data"]["deliveryCodeVerify"]["accepted"] is True


def test_staff_changing_the_orders_email_opens_nothing_new(
    customer_order, customer_user, staff_mutation, channel_USD
):
    """orderUpdate(userEmail) to an address of no account also detaches the user."""
    order, _, record, token = customer_order
    code = service.open_code(record)
    mail.outbox.clear()

    updated = staff_mutation(
        ORDER_UPDATE, {"id": global_id("Order", order.pk), "email": "new@example.com"}
    )["orderUpdate"]
    assert updated["errors"] == [] and updated["order"]["user"] is None

    route = channel_route(channel_USD)
    stranger = ApiClient(user=None, api_path=route)
    by_email = stranger.post_graphql(
        CODES_BY_EMAIL, {"id": global_id("Order", order.pk), "email": "new@example.com"}
    )
    customer = ApiClient(user=customer_user, api_path=route)
    own = _post(customer, CODES, {"id": global_id("Order", order.pk)})
    resend = _post(customer, RESEND, {"id": global_id("DeliveryCode", record.pk)})
    by_link = _post(
        stranger, CODES, {"id": global_id("Order", order.pk), "token": token}
    )

    assert code not in by_email.content.decode()
    # The customer the code was issued to keeps it, by her account and her link.
    assert own["data"]["orderDeliveryCodes"][0]["code"] == code
    assert by_link["data"]["orderDeliveryCodes"][0]["code"] == code
    assert resend["data"]["deliveryCodeResend"]["errors"] == [
        {"code": "INVALID_STATE", "message": service.ADDRESS_CHANGED}
    ]
    assert not any(code in m.body for m in mail.outbox)


def test_staff_changing_the_email_then_regenerating_receive_no_code(
    customer_order, customer_user, staff_mutation, order_staff, channel_USD
):
    """Staff set their own address on the order, then replace the code: the new
    code stays with the customer it was issued to, and nothing is e-mailed to the
    address staff typed in."""
    order, _, record, token = customer_order
    staff_mutation(
        ORDER_UPDATE,
        {"id": global_id("Order", order.pk), "email": "staff-private@example.com"},
    )
    mail.outbox.clear()
    route = channel_route(channel_USD)
    staff = ApiClient(user=order_staff.user, api_path=route)

    body = _post(
        staff,
        """mutation r($id: ID!) { deliveryCodeRegenerate(id: $id) {
             deliveryCode { code } errors { code } } }""",
        {"id": global_id("DeliveryCode", record.pk)},
    )

    assert body["data"]["deliveryCodeRegenerate"] == {
        "deliveryCode": {"code": None},
        "errors": [],
    }
    (new,) = codes_of(order)
    code = service.open_code(new)
    assert not any(code in m.body for m in mail.outbox)
    assert "staff-private@example.com" not in [to for m in mail.outbox for to in m.to]
    record.refresh_from_db()
    assert record.status == CodeStatus.SUPERSEDED
    assert (new.customer_id, new.recipient_digest) == (
        record.customer_id,
        record.recipient_digest,
    )
    # Her account and the link of her first e-mail open the new code; staff never.
    customer = ApiClient(user=customer_user, api_path=route)
    own = _post(customer, CODES, {"id": global_id("Order", order.pk)})
    by_link = _post(
        ApiClient(user=None, api_path=route),
        CODES,
        {"id": global_id("Order", order.pk), "token": token},
    )
    as_staff = _post(staff, CODES, {"id": global_id("Order", order.pk), "token": token})
    assert own["data"]["orderDeliveryCodes"][0]["code"] == code
    assert by_link["data"]["orderDeliveryCodes"][0]["code"] == code
    assert code not in json.dumps(as_staff)


def test_deleting_the_account_opens_nothing_new(
    customer_order, staff_api_client, permission_manage_users, channel_USD
):
    order, _, record, token = customer_order
    code = service.open_code(record)
    staff_api_client.user.user_permissions.add(permission_manage_users)

    deleted = get_graphql_content(
        staff_api_client.post_graphql(
            CUSTOMER_DELETE, {"id": global_id("User", order.user_id)}
        )
    )["data"]["customerDelete"]
    order.refresh_from_db()
    assert deleted["errors"] == [] and order.user_id is None

    stranger = ApiClient(user=None, api_path=GLOBAL_ROUTE)
    by_email = stranger.post_graphql(
        CODES_BY_EMAIL, {"id": global_id("Order", order.pk), "email": CUSTOMER_EMAIL}
    )
    by_id = _post(stranger, CODES, {"id": global_id("Order", order.pk)})
    by_link = _post(
        stranger, CODES, {"id": global_id("Order", order.pk), "token": token}
    )

    assert code not in by_email.content.decode() + json.dumps(by_id)
    assert by_link["data"]["orderDeliveryCodes"][0]["code"] == code


@pytest.fixture
def restricted_staff(db, permission_manage_orders, channel_PLN):
    """A staff member with MANAGE_ORDERS in a group restricted to channel PLN only
    (not ``staff_user``: the fixtures that fulfil put that one in an unrestricted
    group)."""
    user = User.objects.create(
        email="pln-staff@example.com", is_staff=True, is_active=True
    )
    group = Group.objects.create(name="PLN orders", restricted_access_to_channels=True)
    group.permissions.add(permission_manage_orders)
    group.channels.add(channel_PLN)
    group.user_set.add(user)
    return user


def test_accessible_channels_follow_saleors_rule(
    restricted_staff,
    staff_users,
    permission_group_manage_orders,
    channel_PLN,
    django_assert_num_queries,
):
    context = SimpleNamespace(allow_replica=False)
    unrestricted = permission_group_manage_orders.user_set.first()

    for user in (restricted_staff, unrestricted, staff_users[0]):
        saleor = {
            channel.slug
            for channel in get_user_accessible_channels(
                SimpleNamespace(context=context), user
            )
        }
        ours = accessible_channels(user)
        if ours is None:
            assert saleor == set(Channel.objects.values_list("slug", flat=True))
        else:
            assert ours == saleor
    with django_assert_num_queries(1):  # on every staff request
        assert accessible_channels(restricted_staff) == {channel_PLN.slug}


def test_channel_restricted_staff_are_refused_in_other_channels(
    customer_order, restricted_staff, channel_USD
):
    order, parcel, record, _ = customer_order
    code = service.open_code(record)

    for path in (channel_route(channel_USD), GLOBAL_ROUTE):
        staff = ApiClient(user=restricted_staff, api_path=path)
        listed = _post(staff, CODES, {"id": global_id("Order", order.pk)})
        verdict = _post(
            staff,
            VERIFY,
            {"fulfillment": global_id("Fulfillment", parcel.pk), "code": code},
        )["data"]["deliveryCodeVerify"]
        unlock = _post(staff, UNLOCK, {"id": global_id("DeliveryCode", record.pk)})

        assert [e["message"] for e in listed["errors"]] == [REFUSAL]
        assert verdict["accepted"] is False
        assert unlock["data"]["deliveryCodeUnlock"]["errors"] == [
            {"code": "NOT_FOUND", "message": "No such delivery code."}
        ]
    record.refresh_from_db()
    assert record.status == CodeStatus.ACTIVE and record.attempts == 0

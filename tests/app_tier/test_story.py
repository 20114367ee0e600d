"""A delivery through a real Saleor 3.23 and the App, over their public APIs only.

Saleor installs the App from its manifest (``appInstall``); a customer buys a
349 EUR watch and a 20 EUR strap (checkoutCreate ... checkoutComplete, paid by a
payment app's transaction); staff ship them in two parcels (orderFulfill twice);
the App e-mails the code (caught by a real SMTP server); the customer reads it
through the App's API with her Saleor JWT; a courier app verifies it; a second
use is refused; Saleor's order timeline and the parcel's metadata show the
status, and never the code.

Each step is a module fixture, so a step that fails fails every test after it
with the same message, which names the step and quotes the processes' logs. The
one shortcut: the channel's configuration is written into the App's table
directly, as its configuration page would store it.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from .stack import (
    Stack,
    StackError,
    html_of,
    text_of,
    wait_for,
)

APP_NAME = "Delivery codes"
APP_IDENTIFIER = "saleor-delivery-otp"
TRACKING = "1Z999AA10123456784"
ORDER_URL = "https://shop.example.com/orders/{token}"
WEBHOOK_TIMEOUT = 90
# The App's webhook events (its manifest), as Saleor lists them.
APP_EVENTS = {
    "ORDER_CREATED",
    "FULFILLMENT_CREATED",
    "FULFILLMENT_APPROVED",
    "FULFILLMENT_TRACKING_NUMBER_UPDATED",
    "FULFILLMENT_CANCELED",
    "ORDER_CANCELLED",
    "ORDER_EXPIRED",
    "ORDER_FULLY_REFUNDED",
    "APP_DELETED",
}
ADDRESS = {
    "firstName": "Lena",
    "lastName": "Weber",
    "streetAddress1": "Friedrichstraße 123",
    "city": "Berlin",
    "postalCode": "10117",
    "country": "DE",
    "phone": "+493012345678",
}

TOKEN_CREATE = """
mutation token($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) {
    token
    errors { field code message }
  }
}"""
APP_INSTALL = """
mutation install($name: String!, $manifest: String!, $permissions: [PermissionEnum!]) {
  appInstall(input: {
    appName: $name, manifestUrl: $manifest, permissions: $permissions,
    activateAfterInstallation: true
  }) {
    appInstallation { id status }
    errors { field code message }
  }
}"""
INSTALLATIONS = "query { appsInstallations { id status message } }"
APPS = """
query apps {
  apps(first: 20) {
    edges { node {
      id name identifier isActive
      permissions { code }
      webhooks { name isActive asyncEvents { eventType } }
    } }
  }
}"""
APP_CREATE = """
mutation app($name: String!, $permissions: [PermissionEnum!]) {
  appCreate(input: {name: $name, permissions: $permissions}) {
    authToken
    app { id name }
    errors { field code message }
  }
}"""
DELIVERIES = """
query deliveries($id: ID!) {
  app(id: $id) {
    webhooks {
      name
      eventDeliveries(first: 20) { edges { node {
        eventType status
        attempts(first: 5) { edges { node { status responseStatusCode response } } }
      } } }
    }
  }
}"""
CHECKOUT_CREATE = """
mutation checkout($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) {
    checkout { id shippingMethods { id } }
    errors { field code message }
  }
}"""
DELIVERY_METHOD = """
mutation delivery($id: ID!, $method: ID!) {
  checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $method) {
    checkout { totalPrice { gross { amount currency } } }
    errors { field code message }
  }
}"""
TRANSACTION_CREATE = """
mutation pay($id: ID!, $amount: PositiveDecimal!, $currency: String!) {
  transactionCreate(id: $id, transaction: {
    name: "Card", pspReference: "psp-apptier-1",
    amountCharged: {amount: $amount, currency: $currency}
  }) {
    transaction { id }
    errors { field code message }
  }
}"""
CHECKOUT_COMPLETE = """
mutation complete($id: ID!) {
  checkoutComplete(id: $id) {
    order { id number status lines { id productSku } }
    errors { field code message }
  }
}"""
ORDER_FULFILL = """
mutation fulfill($order: ID!, $input: OrderFulfillInput!) {
  orderFulfill(order: $order, input: $input) {
    fulfillments { id fulfillmentOrder trackingNumber }
    errors { field code message }
  }
}"""
ORDER = """
query order($id: ID!) {
  order(id: $id) {
    number status customerNote
    metadata { key value }
    privateMetadata { key value }
    events { type message app { name } }
    fulfillments {
      id fulfillmentOrder trackingNumber
      metadata { key value }
      privateMetadata { key value }
    }
    lines { metadata { key value } privateMetadata { key value } }
  }
}"""
CODES = """
query codes($id: ID!) {
  orderDeliveryCodes(orderId: $id) {
    status code trackingNumber fulfillmentId attemptsLeft
  }
}"""
VERIFY = """
mutation verify($tracking: String, $code: String!) {
  deliveryCodeVerify(trackingNumber: $tracking, code: $code) {
    accepted attemptsLeft
    errors { field code message }
  }
}"""


def pk(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


def token(stack: Stack, who: str) -> str:
    """A fresh access token of the customer or the staff member (Saleor's live
    five minutes)."""
    email = stack.shop[who]["email"]
    payload = stack.saleor.mutate(
        "tokenCreate",
        TOKEN_CREATE,
        {"email": email, "password": stack.passwords[who]},
    )
    return str(payload["token"])


def deliveries(stack: Stack, app_id: str) -> str:
    """Saleor's record of its webhook deliveries to the App, for messages."""
    try:
        data = stack.saleor(DELIVERIES, {"id": app_id}, token(stack, "staff"))
    except Exception as exc:
        return f"(Saleor's deliveries unreadable: {exc})"
    lines = []
    for webhook in (data.get("app") or {}).get("webhooks") or []:
        for edge in webhook["eventDeliveries"]["edges"]:
            node = edge["node"]
            attempts = [a["node"] for a in node["attempts"]["edges"]]
            last = attempts[-1] if attempts else {}
            lines.append(
                f"{node['eventType']}: {node['status']} after {len(attempts)} "
                f"attempt(s), last HTTP {last.get('responseStatusCode')} "
                f"{(last.get('response') or '')[:120]!r}"
            )
    return "Saleor's webhook deliveries to the App:\n" + ("\n".join(lines) or "(none)")


def explain(stack: Stack, installed: Installed | None = None) -> str:
    head = deliveries(stack, installed.app_id) + "\n" if installed else ""
    return head + stack.diagnose()


# --- the story's steps --------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    app_id: str  # Saleor's global ID of the installed App
    public_id: str  # the App's name of the installation, in its API's URL


@pytest.fixture(scope="module")
def installed(stack: Stack) -> Installed:
    """Step 1: staff install the App from its manifest URL; Saleor posts the App
    token to the App, which registers the installation."""
    return install_app(stack)


def install_app(stack: Stack) -> Installed:
    """:func:`installed`, as a function (the App's benchmarks install it too)."""
    staff = token(stack, "staff")
    # appInstall grants what ``permissions`` lists (Saleor replaces the
    # manifest's permissions by them), as the Dashboard passes the manifest's.
    started = stack.saleor.mutate(
        "appInstall",
        APP_INSTALL,
        {
            "name": APP_NAME,
            "manifest": f"{stack.app_url}/api/manifest",
            "permissions": ["MANAGE_ORDERS"],
        },
        staff,
    )["appInstallation"]

    def finished() -> bool:
        listed = stack.saleor(INSTALLATIONS, None, staff)["appsInstallations"]
        mine = [entry for entry in listed if entry["id"] == started["id"]]
        if mine and mine[0]["status"] == "FAILED":
            raise StackError(
                f"Saleor could not install the App: {mine[0]['message']}\n"
                + stack.diagnose()
            )
        return not mine  # Saleor drops an installation once it succeeded

    wait_for(
        "Saleor to install the App (appsInstallations)",
        finished,
        timeout=60,
        diagnose=stack.diagnose,
    )
    apps = [
        edge["node"]
        for edge in stack.saleor(APPS, None, staff)["apps"]["edges"]
        if edge["node"]["identifier"] == APP_IDENTIFIER
    ]
    if len(apps) != 1:
        raise StackError(f"Saleor lists {len(apps)} apps {APP_IDENTIFIER!r}: {apps}")
    with stack.app_db() as db:
        rows = db.execute(
            "SELECT saleor_api_url, saleor_app_id, public_id, sealed_token "
            "FROM delivery_otp_app_installation WHERE deleted_at IS NULL"
        ).fetchall()
    if len(rows) != 1 or rows[0][0] != stack.saleor_api_url:
        raise StackError(
            f"The App registered {rows!r} in {stack.names.app_database}, not one "
            f"installation of {stack.saleor_api_url}.\n{stack.diagnose()}"
        )
    api_url, app_id, public_id, _ = rows[0]
    if app_id != apps[0]["id"]:
        raise StackError(
            f"The App registered app {app_id}, Saleor installed {apps[0]['id']}."
        )
    return Installed(app_id=apps[0]["id"], public_id=str(public_id))


@dataclass(frozen=True)
class Courier:
    id: str
    name: str
    token: str


@pytest.fixture(scope="module")
def couriers(stack: Stack, installed: Installed) -> dict[str, Courier]:
    """Step 2: two courier apps the shop allows to verify, and one it does not
    (local apps with their own tokens, ``appCreate``; they need no permission)."""
    staff = token(stack, "staff")
    made = {}
    for name in ("Courier A", "Courier B", "Stranger"):
        payload = stack.saleor.mutate(
            "appCreate", APP_CREATE, {"name": name, "permissions": []}, staff
        )
        made[name] = Courier(payload["app"]["id"], name, payload["authToken"])
    return made


@pytest.fixture(scope="module")
def configured(
    stack: Stack, installed: Installed, couriers: dict[str, Courier]
) -> list[dict[str, str]]:
    """Step 3: codes on in the EUR channel, as the configuration page would store
    them: the plugin's form, default threshold (300 EUR), the two couriers."""
    items = [
        {
            "name": "allowedApps",
            "value": ",".join(
                pk(couriers[name].id) for name in ("Courier A", "Courier B")
            ),
        },
        {"name": "orderUrl", "value": ORDER_URL},
    ]
    with stack.app_db() as db:
        db.execute(
            "INSERT INTO delivery_otp_app_channelconfiguration "
            "(installation_id, slug, currency, active, items, updated_at) "
            "SELECT id, %s, %s, true, %s, now() FROM delivery_otp_app_installation "
            "WHERE public_id = %s",
            (
                stack.shop["channel"],
                stack.shop["currency"],
                json.dumps(items),
                installed.public_id,
            ),
        )
    return items


@dataclass(frozen=True)
class Order:
    id: str
    number: str
    status: str
    lines: dict[str, str]  # sku -> order line id


@pytest.fixture(scope="module")
def order(stack: Stack, installed: Installed, configured: object) -> Order:
    """Step 4: the customer checks out a 349 EUR watch and a 20 EUR strap, a
    payment app charges the total, checkoutComplete places the order."""
    customer = token(stack, "customer")
    staff = token(stack, "staff")
    variants = stack.shop["variants"]
    checkout = stack.saleor.mutate(
        "checkoutCreate",
        CHECKOUT_CREATE,
        {
            "input": {
                "channel": stack.shop["channel"],
                "email": stack.shop["customer"]["email"],
                "lines": [
                    {"variantId": variants["watch"], "quantity": 1},
                    {"variantId": variants["strap"], "quantity": 1},
                ],
                "shippingAddress": ADDRESS,
                "billingAddress": ADDRESS,
            }
        },
        customer,
    )["checkout"]
    total = stack.saleor.mutate(
        "checkoutDeliveryMethodUpdate",
        DELIVERY_METHOD,
        {"id": checkout["id"], "method": stack.shop["shipping_method"]},
        customer,
    )["checkout"]["totalPrice"]["gross"]
    if total != {"amount": 374.0, "currency": "EUR"}:
        raise StackError(f"The checkout totals {total}, not 349 + 20 + 5 EUR.")
    payments = stack.saleor.mutate(
        "appCreate",
        APP_CREATE,
        {"name": "Payments", "permissions": ["HANDLE_PAYMENTS"]},
        staff,
    )["authToken"]
    stack.saleor.mutate(
        "transactionCreate",
        TRANSACTION_CREATE,
        {"id": checkout["id"], "amount": total["amount"], "currency": "EUR"},
        payments,
    )
    placed = stack.saleor.mutate(
        "checkoutComplete", CHECKOUT_COMPLETE, {"id": checkout["id"]}, customer
    )["order"]
    return Order(
        id=placed["id"],
        number=placed["number"],
        status=placed["status"],
        lines={line["productSku"]: line["id"] for line in placed["lines"]},
    )


@pytest.fixture(scope="module")
def code_email(stack: Stack, installed: Installed, order: Order) -> Any:
    """Step 5: ORDER_CREATED reaches the App, which issues the order's code and
    e-mails it (its worker, through the SMTP server)."""
    customer = stack.shop["customer"]["email"]
    return wait_for(
        f"the code e-mail to {customer}",
        lambda: stack.mailbox.to(customer),
        timeout=WEBHOOK_TIMEOUT,
        diagnose=lambda: explain(stack, installed),
    )[0]


@pytest.fixture(scope="module")
def emailed_code(code_email: Any) -> str:
    found = re.findall(r"^\s+(\d{6})\s*$", text_of(code_email), re.MULTILINE)
    if len(found) != 1:
        raise StackError(
            f"The code e-mail shows {found!r}, not one code:\n{text_of(code_email)}"
        )
    return str(found[0])


@dataclass(frozen=True)
class Parcel:
    id: str
    number: int
    tracking: str


def parcel_status(stack: Stack, order_id: str) -> dict[str, str | None]:
    data = stack.saleor(ORDER, {"id": order_id}, token(stack, "staff"))
    return {
        f["id"]: {m["key"]: m["value"] for m in f["metadata"]}.get(
            "delivery_otp_status"
        )
        for f in data["order"]["fulfillments"]
    }


@pytest.fixture(scope="module")
def parcels(
    stack: Stack, installed: Installed, order: Order, code_email: object
) -> list[Parcel]:
    """Step 6: staff ship the watch (tracking number) and the strap in two
    parcels; the App binds the order's code to the watch's parcel and writes its
    status into the parcel's metadata."""
    staff = token(stack, "staff")
    shipped = []
    for sku, tracking in (("watch", TRACKING), ("strap", "")):
        fulfillment = stack.saleor.mutate(
            "orderFulfill",
            ORDER_FULFILL,
            {
                "order": order.id,
                "input": {
                    "lines": [
                        {
                            "orderLineId": order.lines[sku],
                            "stocks": [
                                {"quantity": 1, "warehouse": stack.shop["warehouse"]}
                            ],
                        }
                    ],
                    "notifyCustomer": False,
                    "trackingNumber": tracking,
                },
            },
            staff,
        )["fulfillments"][0]
        shipped.append(
            Parcel(
                fulfillment["id"],
                fulfillment["fulfillmentOrder"],
                fulfillment["trackingNumber"],
            )
        )
    wait_for(
        "the App to mark the watch's parcel 'active' (FULFILLMENT_CREATED)",
        lambda: parcel_status(stack, order.id).get(shipped[0].id) == "active",
        timeout=WEBHOOK_TIMEOUT,
        interval=1,
        diagnose=lambda: explain(stack, installed),
    )
    return shipped


def read_codes(stack: Stack, installed: Installed, order: Order, bearer: str) -> Any:
    return stack.app_api(installed.public_id).document(CODES, {"id": order.id}, bearer)


@pytest.fixture(scope="module")
def verified(
    stack: Stack,
    installed: Installed,
    couriers: dict[str, Courier],
    parcels: list[Parcel],
    emailed_code: str,
) -> dict[str, Any]:
    """Step 7: at the door, Courier A mistypes the code, then enters it; Courier
    B tries the same code again; a stranger app tries it too."""
    api = stack.app_api(installed.public_id)

    def verify(courier: str, code: str) -> Any:
        return api(
            VERIFY, {"tracking": TRACKING, "code": code}, couriers[courier].token
        )["deliveryCodeVerify"]

    wrong = str((int(emailed_code) + 1) % 1_000_000).zfill(6)
    return {
        "stranger": verify("Stranger", emailed_code),
        "wrong": verify("Courier A", wrong),
        "right": verify("Courier A", emailed_code),
        "second": verify("Courier B", emailed_code),
    }


# --- the tests ----------------------------------------------------------------------


def test_saleor_installs_the_app_from_its_manifest(stack, installed):
    apps = stack.saleor(APPS, None, token(stack, "staff"))["apps"]["edges"]
    app = next(e["node"] for e in apps if e["node"]["id"] == installed.app_id)

    assert app["name"] == APP_NAME
    assert app["isActive"] is True
    assert [p["code"] for p in app["permissions"]] == ["MANAGE_ORDERS"]
    events = {
        event["eventType"]
        for webhook in app["webhooks"]
        for event in webhook["asyncEvents"]
    }
    assert events == APP_EVENTS
    assert all(webhook["isActive"] for webhook in app["webhooks"])


def test_the_order_code_is_emailed_to_the_customer(
    stack, order, code_email, emailed_code
):
    assert order.status == "UNFULFILLED"
    text = text_of(code_email)

    assert code_email["To"] == stack.shop["customer"]["email"]
    assert code_email["From"] == "Watch shop <shop@example.com>"
    assert code_email["Subject"] == f"Your delivery code for order #{order.number}"
    # The watch needs the code; the 20 EUR strap does not.
    assert "Chronograph watch x 1" in text
    assert "Leather strap" not in text
    assert emailed_code in html_of(code_email)
    # The link to the order page carries the guest's reveal token.
    assert ORDER_URL.format(token=pk(order.id)) + "#delivery-code=" in text


def test_the_customer_reads_her_code_through_the_app(
    stack, installed, order, parcels, emailed_code
):
    answer = read_codes(stack, installed, order, token(stack, "customer"))

    assert answer.get("errors") is None, answer
    assert answer["data"]["orderDeliveryCodes"] == [
        {
            "status": "ACTIVE",
            "code": emailed_code,
            "trackingNumber": TRACKING,
            "fulfillmentId": parcels[0].id,
            "attemptsLeft": 5,
        }
    ]


def test_staff_couriers_and_strangers_never_read_the_code(
    stack, installed, couriers, order, parcels
):
    staff = read_codes(stack, installed, order, token(stack, "staff"))
    courier = read_codes(stack, installed, order, couriers["Courier A"].token)
    anonymous = read_codes(stack, installed, order, "")

    # Staff see the parcel's status, without its code.
    assert [(c["status"], c["code"]) for c in staff["data"]["orderDeliveryCodes"]] == [
        ("ACTIVE", None)
    ]
    for refused in (courier, anonymous):
        assert refused["data"]["orderDeliveryCodes"] is None
        assert [e["extensions"]["exception"]["code"] for e in refused["errors"]] == [
            "PermissionDenied"
        ]


def test_the_courier_verifies_and_a_second_use_is_refused(
    stack, installed, order, verified
):
    assert verified["stranger"]["accepted"] is False
    assert [e["code"] for e in verified["stranger"]["errors"]] == ["PERMISSION_DENIED"]
    assert verified["wrong"] == {"accepted": False, "attemptsLeft": 4, "errors": []}
    assert verified["right"] == {"accepted": True, "attemptsLeft": 0, "errors": []}
    assert verified["second"]["accepted"] is False
    assert verified["second"]["errors"] == []
    # The customer's code is used up.
    after = read_codes(stack, installed, order, token(stack, "customer"))
    assert [(c["status"], c["code"]) for c in after["data"]["orderDeliveryCodes"]] == [
        ("VERIFIED", None)
    ]


def test_saleor_shows_the_status_and_never_the_code(
    stack, installed, order, parcels, verified, emailed_code
):
    accepted = "accepted by Courier A: handed over."

    def notes() -> list[str] | None:
        events = stack.saleor(ORDER, {"id": order.id}, token(stack, "staff"))["order"][
            "events"
        ]
        found = [
            e["message"]
            for e in events
            if e["type"] == "NOTE_ADDED" and (e["app"] or {}).get("name") == APP_NAME
        ]
        return found if any(accepted in note for note in found) else None

    written = wait_for(
        "the App's timeline note of the verification",
        notes,
        timeout=WEBHOOK_TIMEOUT,
        interval=1,
        diagnose=lambda: explain(stack, installed),
    )
    statuses = wait_for(
        "the watch's parcel marked 'verified'",
        lambda: (s := parcel_status(stack, order.id))[parcels[0].id] == "verified"
        and s,
        timeout=WEBHOOK_TIMEOUT,
        interval=1,
        diagnose=lambda: explain(stack, installed),
    )
    everything = stack.saleor(ORDER, {"id": order.id}, token(stack, "staff"))["order"]

    assert written == [
        "Delivery code issued and e-mailed to the customer; it will protect the "
        "first parcel that needs one.",
        f"The order's delivery code now protects parcel #{order.number}-1.",
        f"Delivery code for parcel {TRACKING} {accepted}",
    ]
    # The strap's parcel needs no code: no status.
    assert statuses == {parcels[0].id: "verified", parcels[1].id: None}
    # Every text Saleor keeps about the order, its lines and parcels.
    texts = [everything["customerNote"] or ""]
    texts += [e["message"] or "" for e in everything["events"]]
    for holder in [everything, *everything["fulfillments"], *everything["lines"]]:
        for entry in holder["metadata"] + holder["privateMetadata"]:
            texts += [entry["key"], entry["value"]]
    assert [text for text in texts if emailed_code in text] == []
    # One e-mail: the order's code, none for binding it or for the strap.
    assert len(stack.mailbox.to(stack.shop["customer"]["email"])) == 1
    # Nor does any process log it (the App, its worker, Saleor, Saleor's worker).
    assert [
        process.name
        for process in stack.processes.started
        if emailed_code in process.log.read_text(errors="replace")
    ] == []
    # Saleor delivered every webhook to the App: none failed, none pending.
    report = deliveries(stack, installed.app_id)
    assert "FAILED" not in report and "PENDING" not in report, report


WIDGET_TOKEN = """query DeliveryOtpWidgetToken($id: ID!) {
  app(id: $id) { accessToken }
}"""


def test_the_order_widget_shows_the_parcel_verified_and_never_the_code(
    stack, installed, order, parcels, verified, emailed_code
):
    """Step 9: staff open the order in the Dashboard: Saleor gives the App's widget
    a Dashboard token for them (``App.accessToken``), posted as the Dashboard
    posts its widget form."""
    staff = token(stack, "staff")
    access = stack.saleor(WIDGET_TOKEN, {"id": installed.app_id}, staff)["app"][
        "accessToken"
    ]
    assert access, "Saleor gave staff no Dashboard token for the App"

    response = requests.post(
        f"{stack.app_url}/dashboard/order-widget",
        data={
            "saleorApiUrl": stack.saleor_api_url,
            "appId": installed.app_id,
            "accessToken": access,
            "orderId": order.id,
        },
        timeout=10,
    )

    assert response.status_code == 200, response.text[:500]
    page = response.text
    assert "Verified" in page
    assert emailed_code not in page

"""The whole delivery, played against a running sandbox over HTTP, step by step."""

from __future__ import annotations

import email
import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email import policy as email_policy
from pathlib import Path
from typing import Any

from graphene import relay

from ..constants import PLUGIN_ID
from .host import SandboxHost

CODES = """query($id: ID!, $revealToken: String) {
  orderDeliveryCodes(orderId: $id, revealToken: $revealToken) {
    status code trackingNumber
  }
}"""
VERIFY = """mutation($tracking: String, $code: String!) {
  deliveryCodeVerify(trackingNumber: $tracking, code: $code) {
    accepted attemptsLeft errors { code message }
  }
}"""


@dataclass
class Outcome:
    code_emailed: bool = False
    page_shows_emailed_code: bool = False
    cable_parcel_without_code: bool = False
    wrong_code_refused: bool = False
    right_code_accepted: bool = False
    second_use_refused: bool = False
    cheap_order_without_code: bool = False
    # Played through the driver's page only (None otherwise).
    doorstep_resend_sent_nothing: bool | None = None

    @property
    def as_expected(self) -> bool:
        return all(value is not False for value in vars(self).values())


class Client:
    def __init__(self, base_url: str):
        self.url = f"{base_url}/plugins/{PLUGIN_ID}/graphql/"

    def __call__(self, query: str, variables: dict[str, Any], token: str = "") -> Any:
        request = urllib.request.Request(  # noqa: S310 (our own http:// URL)
            self.url,
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {token}"} if token else {}),
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)["data"]


def emailed_codes(mail_dir: Path, recipient: str) -> list[tuple[str, str]]:
    """(subject, code) of each code e-mail to ``recipient``, oldest first."""
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(
            path.read_bytes(), policy=email_policy.default
        )
        if message["To"] != recipient:
            continue
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(r"^\s*(\d{4,10})\s*$", text, re.MULTILINE)
        if match:
            found.append((str(message["Subject"]), match.group(1)))
    return found


def play(
    host: SandboxHost,
    base_url: str,
    say: Callable[[str], None],
    *,
    through_page: bool = False,
) -> Outcome:
    """The story; ``through_page``: the door is played on the driver's page, in
    the system's Chromium, as a shop's own driver with the sandbox's driver key."""
    outcome = Outcome()
    api = Client(base_url)
    shop = host.shop
    anna = shop.token_of("customer")
    courier = shop.token_of("app")
    order = shop.order_by_number("1001")
    order_gid = relay.Node.to_global_id("Order", order.id)

    say("1. Purchase: order 1001, Smartphone X 349.00 EUR + USB-C cable 20.00 EUR")
    say("   the plugin's policy (a code above 300 EUR per item): the phone needs one")
    say("2. Order confirmation: the code e-mail goes out")
    mails = emailed_codes(Path(host.data_dir) / "mail", order.email)
    if mails:
        subject, emailed = mails[0]
        outcome.code_emailed = True
        say(f"   {order.email} receives {subject!r} with the code {emailed}")
    say("3. Shipped in two parcels: SBX-1001-1 (phone), SBX-1001-2 (cable)")
    say("4. Anna opens 'track my package' on her order page (her token)")
    parcels = api(CODES, {"id": order_gid}, anna)["orderDeliveryCodes"]
    for parcel in parcels:
        say(
            f"   parcel {parcel['trackingNumber']}: {parcel['status']}, "
            f"code {parcel['code']}"
        )
    shown = {p["trackingNumber"]: p["code"] for p in parcels}
    code = shown.get("SBX-1001-1") or ""
    outcome.page_shows_emailed_code = bool(mails) and code == mails[0][1]
    outcome.cable_parcel_without_code = "SBX-1001-2" not in shown
    say("   parcel SBX-1001-2 (the cable) has no code: it is handed over as usual")

    door = Page(base_url, shop.token_of("driver")) if through_page else None
    try:
        if door is not None:
            _at_the_door_on_the_page(door, api, courier, code, host, outcome, say)
        else:
            _at_the_door_by_api(
                api, courier, shop.token_of("staff"), code, outcome, say
            )
    finally:
        if door is not None:
            door.close()

    say("8. Order 1002, headphones 50.00 EUR, a guest checkout")
    cheap = shop.order_by_number("1002")
    cheap_mails = emailed_codes(Path(host.data_dir) / "mail", cheap.email)
    # The order id alone (which couriers and webhooks see) opens nothing: a guest
    # reads her codes with the reveal token of her code e-mail's link.
    codes = api(CODES, {"id": relay.Node.to_global_id("Order", cheap.id)})[
        "orderDeliveryCodes"
    ]
    outcome.cheap_order_without_code = not cheap_mails and codes is None
    say("   no code e-mail: below the threshold, nothing changes")

    say(
        "Story complete: every step as expected."
        if outcome.as_expected
        else "Story FAILED: a step did not go as expected."
    )
    return outcome


def _wrong(code: str) -> str:
    return f"{(int(code or 0) + 1) % 10 ** len(code or '0'):0{len(code or '0')}d}"


def _at_the_door_by_api(
    api: Client,
    courier: str,
    staff: str,
    code: str,
    outcome: Outcome,
    say: Callable[[str], None],
) -> None:
    say("5. At the door the courier's app sends a wrong code")
    wrong = _wrong(code)
    answer = api(VERIFY, {"tracking": "SBX-1001-1", "code": wrong}, courier)
    answer = answer["deliveryCodeVerify"]
    outcome.wrong_code_refused = answer["accepted"] is False
    say(f"   accepted={answer['accepted']}, attempts left {answer['attemptsLeft']}")

    say("6. Anna tells the right code")
    answer = api(VERIFY, {"tracking": "SBX-1001-1", "code": code}, courier)
    answer = answer["deliveryCodeVerify"]
    outcome.right_code_accepted = answer["accepted"] is True
    say(f"   accepted={answer['accepted']}: the parcel is handed over")

    _someone_else_tries(api, staff, "the staff token", code, outcome, say)


def _someone_else_tries(
    api: Client,
    token: str,
    who: str,
    code: str,
    outcome: Outcome,
    say: Callable[[str], None],
) -> None:
    say(f"7. Someone else (here {who}) tries the same code again")
    # Whoever was accepted would be told so again for a few minutes (a retry after
    # a lost answer); anyone else is refused.
    answer = api(VERIFY, {"tracking": "SBX-1001-1", "code": code}, token)
    answer = answer["deliveryCodeVerify"]
    outcome.second_use_refused = answer["accepted"] is False
    say(f"   accepted={answer['accepted']}: a code works once")


class Page:
    """The driver's page on the sandbox's phone."""

    def __init__(self, base_url: str, driver_key: str):
        from . import phone

        self.url = f"{base_url}/plugins/{PLUGIN_ID}/driver/"
        self.browser = phone.start()
        self.page = phone.DriverPage(self.browser, self.url).open()
        self.page.sign_in(driver_key)

    def check(self, tracking: str, code: str) -> tuple[str, str]:
        kind = self.page.check(tracking, code)
        return kind, " | ".join(self.page.answer().splitlines())

    def resend(self, tracking: str) -> str:
        self.page.resend(tracking)
        return self.page.answer()

    def close(self) -> None:
        self.browser.quit()


def _at_the_door_on_the_page(
    door: Page,
    api: Client,
    someone_else: str,
    code: str,
    host: SandboxHost,
    outcome: Outcome,
    say: Callable[[str], None],
) -> None:
    mail_dir = Path(host.data_dir) / "mail"
    say(f"5. The shop's driver opens {door.url} on a phone and signs in")
    say(f"   {door.page.element('who').text}")
    say("   a wrong code at the door")
    kind, text = door.check("SBX-1001-1", _wrong(code))
    outcome.wrong_code_refused = kind == "wrong"
    say(f"   the page says: {text}")

    say("   Anna cannot find the e-mail: the driver asks for it again")
    before = len(list(mail_dir.glob("*.eml")))
    say(f"   the page says: {door.resend('SBX-1001-1')}")
    outcome.doorstep_resend_sent_nothing = len(list(mail_dir.glob("*.eml"))) == before
    say("   (the code was e-mailed moments ago: within the cooldown, nothing is sent)")

    say("6. Anna tells the right code")
    kind, text = door.check("SBX-1001-1", code)
    outcome.right_code_accepted = kind == "handed-over"
    say(f"   the page says: {text}")

    _someone_else_tries(api, someone_else, "the courier's app", code, outcome, say)

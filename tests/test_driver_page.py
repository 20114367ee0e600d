"""The driver's page in a real headless Chromium at a phone's size (360 x 740).

Against the CI tier's test host (a live server on PostgreSQL, tests/urls.py) and
against the sandbox started as a user starts it. What a driver does: sign in, a
wrong code, the right one, a second use, the lock, a revoked key, the doorstep
resend; what must never reach the page: a code or an e-mail address.
"""

import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from saleor_delivery_otp import drivers, service, tasks
from saleor_delivery_otp.audit import Actor, ActorKind
from saleor_delivery_otp.models import DriverKey, VerificationAttempt
from saleor_delivery_otp.sandbox.story import emailed_codes

from . import browser as phone
from .conftest import wrong_code
from .graphql_host import HOST, SHOP_PHONE
from .test_sandbox import environment, free_port

pytestmark = pytest.mark.django_db(transaction=True)

STAFF = Actor(ActorKind.STAFF, "5", "Sam")
TRACKING = "TRK-PAGE-1"


@pytest.fixture(scope="module")
def browser():
    started = phone.start_browser()
    yield started
    started.quit()


@pytest.fixture(autouse=True)
def clean_host():
    HOST.orders.clear()
    HOST.notes.clear()


@pytest.fixture
def queued(monkeypatch):
    """The code e-mails the page's resend queues (record ids)."""
    sent = []
    monkeypatch.setattr(tasks, "schedule_email", lambda record: sent.append(record.pk))
    return sent


@pytest.fixture
def door(parcels):
    """A shipped parcel in channel eu, its code, and a driver key for eu."""
    order = HOST.add_order()
    # Pinned to the order's customer, as the plugin's hooks pin it.
    reader = service.Reader(customer_id=order.user_id, email=order.email)
    record = parcels.ship(order.id, tracking=TRACKING, channel="eu", reader=reader)
    _, key = drivers.create("Marco", ["eu"], by=STAFF)
    return order, record, str(parcels.code_of(record)), key


@pytest.fixture
def page(browser, live_server):
    return phone.TestedPage(browser, f"{live_server.url}/plugins/global/driver/")


def no_secrets(page, *secrets):
    dom = page.dom()
    responses = "\n".join(page.responses())
    for secret in secrets:
        assert secret not in dom
        assert secret not in responses
    assert "@" not in dom and "@" not in responses


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def keep_screenshot(page, tmp_path, name):
    png = page.screenshot(tmp_path / name)
    # Rendered at the phone's width (360 CSS px at a pixel ratio of 2).
    assert png_size(png)[0] == phone.WIDTH * phone.PIXEL_RATIO
    if phone.WRITE_SCREENSHOTS:
        shutil.copyfile(tmp_path / name, phone.DOCS / name)


def test_sign_in_wrong_code_right_code_second_use(page, door, tmp_path):
    order, record, code, key = door
    page.open()

    page.sign_in(key)
    assert page.element("who").text == "Signed in as Marco"
    wrong = page.check(TRACKING, wrong_code(code))
    wrong_text = page.answer()
    keep_screenshot(page, tmp_path, "driver-page-wrong.png")
    right = page.check(TRACKING, code)
    right_text = page.answer()
    keep_screenshot(page, tmp_path, "driver-page-handed-over.png")
    # Marco retrying (a lost answer) is told so again; another driver is refused.
    retried = page.check(TRACKING, code)
    _, other_key = drivers.create("Luca", ["eu"], by=STAFF)
    page.element("sign-out").click()
    page.wait(lambda: page.element("driver-key").is_displayed())
    page.sign_in(other_key)
    again = page.check(TRACKING, code)

    assert wrong == "wrong" and wrong_text.startswith("Wrong code")
    assert retried == "handed-over"
    assert "4 attempts left." in wrong_text
    assert right == "handed-over" and right_text.startswith("Handed over")
    assert f"Parcel {TRACKING}" in right_text
    assert again == "wrong"
    answer = page.element("answer")
    assert answer.get_attribute("aria-live") == "assertive"
    assert answer.get_attribute("aria-atomic") == "true"
    no_secrets(page, code, order.email)
    assert page.csp_violations() == []
    marco, luca = (DriverKey.objects.get(name=name).pk for name in ("Marco", "Luca"))
    assert set(VerificationAttempt.objects.values_list("actor", flat=True)) == {
        f"driver:{marco}",
        f"driver:{luca}",
    }
    assert "accepted by driver Marco" in HOST.notes[0][1]


def test_locked_after_the_limit_says_call_the_shop(page, door, tmp_path):
    order, _, code, key = door
    page.open().sign_in(key)

    answers = [page.check(TRACKING, wrong_code(code)) for _ in range(5)]
    text = page.answer()
    keep_screenshot(page, tmp_path, "driver-page-locked.png")
    after = page.check(TRACKING, code)

    assert answers == ["wrong"] * 4 + ["locked"]
    assert text.startswith("No more attempts")
    assert f"Call {SHOP_PHONE}" in text
    call = page.browser.find_element("css selector", "#answer a.call")
    assert call.get_attribute("href") == "tel:+390298765432"
    assert after == "locked"  # even the right code, once locked
    no_secrets(page, code, order.email)


def test_the_same_answers_in_italian(page, door):
    _, _, code, key = door
    page.open("?lang=it").sign_in(key)

    page.check(TRACKING, wrong_code(code))
    wrong = page.answer()
    page.check(TRACKING, code)

    assert page.browser.find_element("css selector", "html").get_attribute("lang") == (
        "it"
    )
    assert wrong.startswith("Codice errato") and "Restano 4 tentativi." in wrong
    assert page.answer().startswith("Consegnato")


def test_a_revoked_key_is_refused_on_the_next_request(page, door):
    _, record, code, key = door
    page.open().sign_in(key)
    assert page.check(TRACKING, wrong_code(code)) == "wrong"

    drivers.revoke(DriverKey.objects.get(), by=STAFF)
    refused = page.check(TRACKING, code)

    assert refused == "refused"
    assert "not valid or was revoked" in page.answer()
    assert page.element("check").get_attribute("hidden") is not None
    assert (
        page.browser.execute_script(
            "return window.localStorage.getItem('delivery-otp-driver-key')"
        )
        is None
    )
    record.refresh_from_db()
    assert (record.attempts, record.status) == (1, "active")
    # Signing in again with it is refused too.
    page.sign_in(key)
    assert page.answer_kind() == "refused"


def test_a_wrong_key_never_signs_in(page, door):
    page.open().sign_in("dk_00000000_" + "A" * 43)

    assert page.answer_kind() == "refused"
    assert page.element("check").get_attribute("hidden") is not None


def test_sign_in_is_remembered_until_sign_out(page, door):
    *_, key = door
    page.open().sign_in(key)

    page.open(fresh=False)
    page.wait(lambda: not page.element("check").get_attribute("hidden"))
    page.element("sign-out").click()

    assert page.element("signin").get_attribute("hidden") is None
    assert (
        page.browser.execute_script(
            "return window.localStorage.getItem('delivery-otp-driver-key')"
        )
        is None
    )


def test_doorstep_resend_is_throttled_and_says_nothing_of_the_parcel(
    page, door, queued
):
    order, record, code, key = door
    page.open().sign_in(key)

    first = page.resend(TRACKING)
    first_text = page.answer()
    second = page.resend(TRACKING)
    second_text = page.answer()
    unknown = page.resend("NO-SUCH-PARCEL")

    assert queued == [record.pk]  # the second request sent nothing
    assert first == second == unknown == "info"
    assert first_text == second_text
    assert page.answer() == first_text.replace(TRACKING, "NO-SUCH-PARCEL")
    assert first_text.startswith("If this parcel has a code")
    no_secrets(page, code, order.email)


def test_offline_the_page_says_nothing_was_checked(page, door):
    _, record, code, key = door
    page.open().sign_in(key)
    conditions = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    page.browser.execute_cdp_cmd("Network.enable", {})
    page.browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions", {"offline": True, **conditions}
    )
    try:
        answer = page.check(TRACKING, code)
    finally:
        page.browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions", {"offline": False, **conditions}
        )

    assert answer == "error"
    assert page.answer() == "No connection: nothing was checked. Try again."
    assert page.element("code").get_attribute("value") == ""
    record.refresh_from_db()
    assert record.attempts == 0


def test_keyboard_only(page, door):
    from selenium.webdriver.common.keys import Keys

    _, _, code, key = door
    page.open()
    active = page.browser.switch_to.active_element
    assert active.get_attribute("id") == "driver-key"  # focused on load

    active.send_keys(key, Keys.ENTER)
    page.wait(lambda: not page.element("check").get_attribute("hidden"))
    focused = page.browser.switch_to.active_element
    assert focused.get_attribute("id") == "tracking"
    focused.send_keys(TRACKING, Keys.TAB)
    # The scan button is skipped where the browser cannot read barcodes.
    page.browser.switch_to.active_element.send_keys(code, Keys.ENTER)

    assert page.settled() == "handed-over"


def test_fits_a_phone_with_large_labelled_controls(page, door):
    *_, key = door
    page.open().sign_in(key)

    script = page.browser.execute_script
    assert script("return document.documentElement.scrollWidth") <= phone.WIDTH
    heights = script(
        "return Array.from(document.querySelectorAll('button, input'))"
        ".filter(function (e) { return e.offsetParent !== null; })"
        ".map(function (e) { return e.getBoundingClientRect().height; })"
    )
    assert heights and min(heights) >= 48  # docs/driver-page.md; WCAG 2.5.5: 44
    unlabelled = script(
        "return Array.from(document.querySelectorAll('input')).filter("
        "function (i) { return !document.querySelector('label[for=' + i.id + ']'); })"
        ".length"
    )
    assert unlabelled == 0
    assert page.csp_violations() == []


# --- the sandbox, started as a user starts it -----------------------------------


@pytest.fixture
def sandbox(tmp_path):
    port = free_port()
    data = tmp_path / "sandbox"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "saleor_delivery_otp.sandbox.cli",
            "sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(data),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    banner = []
    assert process.stdout is not None
    for line in process.stdout:
        banner.append(line)
        if "Press Ctrl-C" in line:
            break
    try:
        yield "".join(banner), data
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_page_in_the_sandbox(browser, sandbox):
    banner, data = sandbox
    url = re.search(r"Driver's page\s+(\S+)", banner).group(1)
    key = re.search(r"driver\s+Dario \(driver\)\s+(dk_\S+)", banner).group(1)
    ((_, code),) = emailed_codes(data / "mail", "anna@example.com")[:1]
    mails = len(list((data / "mail").glob("*.eml")))
    with urllib.request.urlopen(url) as response:
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = phone.TestedPage(browser, url).open()

    page.sign_in(key)
    wrong = page.check("SBX-1001-1", wrong_code(code))
    wrong_text = page.answer()
    resend = page.resend("SBX-1001-1")
    right = page.check("SBX-1001-1", code)
    # The same driver again within minutes: a retry, answered as before.
    again = page.check("SBX-1001-1", code)

    assert page.element("who").text == "Signed in as Dario"
    assert wrong == "wrong" and "4 attempts left." in wrong_text
    assert resend == "info"
    # The shop e-mailed the code moments ago: the resend is in its cooldown.
    time.sleep(0.5)
    assert len(list((data / "mail").glob("*.eml"))) == mails
    assert right == "handed-over" and again == "handed-over"
    no_secrets(page, code, "anna@example.com")
    assert page.csp_violations() == []
    shop = (data / "shop.json").read_text()
    assert "accepted by driver Dario: handed over." in shop
    assert Path(data / "delivery-otp.sqlite3").exists()


def test_the_story_through_the_page(browser):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "saleor_delivery_otp.sandbox.cli",
            "story",
            "--through-page",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment(),
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "signs in\n   Signed in as Dario" in out
    assert "the page says: Wrong code | Parcel SBX-1001-1 | 4 attempts left." in out
    assert "the page says: Handed over | Parcel SBX-1001-1" in out
    assert "accepted=False: a code works once" in out
    assert "Story complete: every step as expected." in out

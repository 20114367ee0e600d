"""The App's Dashboard pages in a real headless Chromium at a phone's width (360
px), framed as Saleor's Dashboard frames them: a page of the fake Saleor (another
origin than the App) POSTs the widget's form into a sandboxed iframe
(saleor-dashboard ``IframePost``), or frames the configuration page and hands it
the token by App Bridge's handshake (``AppFrame``: ``postMessage({type:
"handshake", payload: {token, version: 1}})`` on load).

What staff do: read the parcel's status and attempts, unlock it; save a channel's
form, see a field's error, correct it. What must never reach the page: a code.
"""

from __future__ import annotations

import html
import json
from urllib.parse import urlencode

import pytest
from graphql_relay import to_global_id

from saleor_delivery_otp import constants as c
from saleor_delivery_otp import flows, service
from saleor_delivery_otp.app.host import AppHost
from saleor_delivery_otp.app.models import ChannelConfiguration
from saleor_delivery_otp.models import CodeStatus
from saleor_delivery_otp.service import Lookup

from . import browser as phone
from .conftest import COURIER, wrong_code
from .dashboard_saleor import APP_ID, CHANNEL, shop

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING = "TRK-BROWSER-1"
CUSTOMER = "anna@example.com"
WIDGET_FRAME = "ext-frame-delivery-codes"
CONFIG_FRAME = "app-frame"


@pytest.fixture(scope="module")
def browser():
    started = phone.start_browser()
    yield started
    started.quit()


@pytest.fixture
def saleor():
    with shop(1) as one:
        yield one


@pytest.fixture(autouse=True)
def timeline(monkeypatch):
    """The order notes the actions queue (a worker writes them to Saleor)."""
    notes = []
    monkeypatch.setattr(
        flows,
        "queue_timeline",
        lambda order_id, message, requestor, *, channel: notes.append(message),
    )
    return notes


def dashboard_order_page(saleor, live_server, order_id) -> str:
    """The order page of the fake Dashboard: IframePost's hidden form, submitted
    on load into the widget's sandboxed iframe; the widget's height messages
    resize it."""
    fields = {
        "saleorApiUrl": saleor.api_url,
        "accessToken": saleor.dashboard_token(),
        "appId": APP_ID,
        "orderId": to_global_id("Order", str(order_id)),
    }
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return f"""<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body {{ margin: 0; }} iframe {{ border: 0; width: 100%; height: 200px; }}</style>
</head><body>
<h1>Order #1042</h1>
<form id="post" action="{live_server.url}/dashboard/order-widget" method="POST"
 target="{WIDGET_FRAME}">{inputs}</form>
<iframe name="{WIDGET_FRAME}" id="frame"
 sandbox="allow-same-origin allow-forms allow-scripts allow-downloads"></iframe>
<script>
window.__heights = [];
window.addEventListener("message", function (event) {{
  var frame = document.getElementById("frame");
  if (event.source !== frame.contentWindow) return;
  if (event.data && event.data.type === "saleor:widget:resize") {{
    frame.style.height = event.data.height + "px";
    window.__heights.push(event.data.height);
  }}
}});
document.getElementById("post").submit();
</script>
</body></html>"""


def dashboard_app_page(saleor, live_server, token) -> str:
    """The fake Dashboard's app page: the configuration page framed with the
    Dashboard's query string, the token handed over by App Bridge's handshake."""
    query = urlencode(
        {
            "domain": saleor.api_url.split("/")[2],
            "saleorApiUrl": saleor.api_url,
            "id": APP_ID,
            "theme": "light",
        }
    )
    src = f"{live_server.url}/dashboard/configuration?{query}"
    return f"""<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body {{ margin: 0; }} iframe {{ border: 0; width: 100%; height: 700px; }}</style>
</head><body>
<iframe id="{CONFIG_FRAME}" name="{CONFIG_FRAME}" src="{html.escape(src)}"
 sandbox="allow-same-origin allow-forms allow-scripts allow-downloads allow-popups">
</iframe>
<script>
var frame = document.getElementById("{CONFIG_FRAME}");
frame.addEventListener("load", function () {{
  frame.contentWindow.postMessage(
    {{ type: "handshake", payload: {{ token: {json.dumps(token)}, version: 1 }} }},
    new URL(frame.src).origin
  );
}});
</script>
</body></html>"""


def in_frame(page, name):
    """Switch into the App's iframe once the App's page is in it."""
    browser = page.browser
    browser.switch_to.default_content()
    page.wait(lambda: browser.find_elements("name", name))
    browser.switch_to.frame(name)
    return page


def no_horizontal_scroll(page) -> bool:
    return page.browser.execute_script(
        "var d = document.documentElement; return d.scrollWidth <= d.clientWidth;"
    )


@pytest.fixture
def locked_parcel(saleor, limits, order_id):
    saleor.saleor.add_order(order_id, CUSTOMER)
    record = service.issue_for_parcel(
        order_id,
        7001,
        channel=saleor.channel(),
        tracking_number=TRACKING,
        reader=service.Reader(customer_id="7", email=CUSTOMER),
        limits=limits,
    ).record
    code = str(service.open_code(record))
    for _ in range(limits.max_attempts):
        service.verify(Lookup(fulfillment_id=7001), wrong_code(code), COURIER)
    return record, code


def test_the_widget_shows_status_and_attempts_and_unlock_works(
    browser, live_server, saleor, locked_parcel, order_id, timeline
):
    record, code = locked_parcel
    saleor.saleor.pages["/dashboard/orders/1042"] = dashboard_order_page(
        saleor, live_server, order_id
    )
    page = phone.TestedPage(browser, f"{saleor.saleor.origin}/dashboard/orders/1042")
    browser.get(page.url)
    in_frame(page, WIDGET_FRAME)
    card = page.wait(lambda: page.browser.find_elements("id", f"parcel-{record.pk}"))[0]

    status = card.find_element("css selector", "[data-role=status]")
    attempts = card.find_element("css selector", "[data-role=attempts]")
    assert status.text == "Locked"
    assert attempts.text == "5 of 5 used, 0 left"
    assert TRACKING in card.text
    assert code not in page.dom()
    assert no_horizontal_scroll(page)
    assert browser.execute_script("return window.innerWidth") <= phone.WIDTH

    card.find_element("css selector", f"#unlock-{record.pk} summary").click()
    reason = page.element(f"unlock-reason-{record.pk}")
    page.wait(reason.is_displayed)
    reason.send_keys("Customer confirmed by phone")
    card.find_element("css selector", f"#unlock-{record.pk} button").click()

    notice = page.wait(lambda: page.browser.find_elements("id", "notice"))[0]
    assert notice.text == f"Unlocked: 5 attempts again for parcel {TRACKING}."
    card = page.element(f"parcel-{record.pk}")
    assert card.find_element("css selector", "[data-role=status]").text == "Active"
    assert (
        card.find_element("css selector", "[data-role=attempts]").text
        == "0 of 5 used, 5 left"
    )
    assert code not in page.dom()
    assert no_horizontal_scroll(page)
    record.refresh_from_db()
    assert (record.status, record.attempts) == (CodeStatus.ACTIVE, 0)
    assert timeline == ["Delivery code unlocked: Customer confirmed by phone"]
    # The widget told the Dashboard its height, which framed it to fit.
    browser.switch_to.default_content()
    assert browser.execute_script("return window.__heights.length") > 0
    assert not page.csp_violations()


def test_the_configuration_page_signs_in_by_handshake_and_saves_a_channel(
    browser, live_server, saleor
):
    token = saleor.dashboard_token(
        permissions=["MANAGE_ORDERS"], user_permissions=["MANAGE_APPS"]
    )
    saleor.saleor.pages["/dashboard/apps/delivery-codes"] = dashboard_app_page(
        saleor, live_server, token
    )
    page = phone.TestedPage(
        browser, f"{saleor.saleor.origin}/dashboard/apps/delivery-codes"
    )
    browser.get(page.url)
    in_frame(page, CONFIG_FRAME)
    card = page.wait(lambda: page.browser.find_elements("id", f"channel-{CHANNEL}"))[0]
    threshold = page.element(f"f-{CHANNEL}-{c.THRESHOLD}")
    assert threshold.get_attribute("value") == "300"
    assert "Delivery codes on in this channel" in card.text
    card.find_element("css selector", "details.settings summary").click()
    page.wait(threshold.is_displayed)
    assert no_horizontal_scroll(page)

    threshold.clear()
    threshold.send_keys("a lot")
    card.find_element("css selector", "button[type=submit]").click()
    error = page.element(f"f-{CHANNEL}-{c.THRESHOLD}-error")
    page.wait(error.is_displayed)
    assert error.text.startswith("Enter an amount")
    assert threshold.get_attribute("aria-invalid") == "true"
    # The field in error has the focus, its message beside it.
    assert browser.switch_to.active_element == threshold
    assert ChannelConfiguration.objects.count() == 0

    threshold.clear()
    threshold.send_keys("450")
    card.find_element("css selector", "input[name=active]").click()
    card.find_element("css selector", "button[type=submit]").click()
    page.wait(lambda: "Saved." in card.text)
    assert not error.is_displayed()
    assert card.find_element("css selector", "[data-role=state]").text == "On"
    settings = AppHost(saleor.installation).channel_settings(saleor.channel())
    assert settings is not None
    assert settings.policy.thresholds == {"EUR": 450}
    browser.switch_to.default_content()
    assert not page.csp_violations()

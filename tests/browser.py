"""A phone-sized Chromium for the driver's page tests: Debian's browser and driver.

Selenium is pointed at /usr/bin/chromedriver and told to stay offline, so it never
downloads a browser or a driver. The tests skip, saying why, only where Chromium
is not installed; ``.ci/run`` installs it, so in CI they run.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTH, HEIGHT, PIXEL_RATIO = 360, 740, 2
DOCS = Path(__file__).resolve().parents[1] / "docs"
# Set to write the page's screenshots into docs/ (make driver-screenshots).
WRITE_SCREENSHOTS = os.environ.get("DELIVERY_OTP_WRITE_SCREENSHOTS") == "1"

# Records the body of every response the page's script receives, before the
# page's own script runs (DevTools injects it, so the page's CSP does not apply).
RECORD_RESPONSES = """
(function () {
  var original = window.fetch;
  window.__responses = [];
  window.fetch = function () {
    return original.apply(this, arguments).then(function (response) {
      response.clone().text().then(function (text) { window.__responses.push(text); });
      return response;
    });
  };
})();
"""


def chromium_missing() -> str | None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return (
            "Debian's chromium and chromium-driver are not installed "
            "(apt-get install chromium chromium-driver; .ci/run does it)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def start_browser():
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download anything
    # The root logger is at DEBUG in the CI tier: keep WebDriver's chatter out.
    for name in ("selenium", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "mobileEmulation",
        {
            "deviceMetrics": {
                "width": WIDTH,
                "height": HEIGHT,
                "pixelRatio": PIXEL_RATIO,
                "touch": True,
            }
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(
        service=Service(executable_path=CHROMEDRIVER), options=options
    )
    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_RESPONSES}
    )
    return browser


class DriverPage:
    """What a driver does on the page, and what the test reads back."""

    def __init__(self, browser, url: str):
        self.browser = browser
        self.url = url

    def open(self, query: str = "", *, fresh: bool = True) -> DriverPage:
        self.browser.get(self.url + query)
        if fresh:
            self.browser.execute_script("window.localStorage.clear()")
            self.browser.get(self.url + query)
        self.browser.get_log("browser")  # start each test with an empty console
        return self

    def element(self, element_id: str):
        from selenium.webdriver.common.by import By

        return self.browser.find_element(By.ID, element_id)

    def wait(self, condition, timeout: float = 10):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.browser, timeout, poll_frequency=0.05).until(
            lambda _: condition()
        )

    def answer_kind(self) -> str:
        classes = self.element("answer").get_attribute("class").split()
        return next((c for c in classes if c != "answer"), "")

    def settled(self) -> str:
        """The answer's kind once the page has one (not while it is working)."""
        self.wait(lambda: self.answer_kind() not in ("", "working"))
        return self.answer_kind()

    def answer(self) -> str:
        return self.element("answer").text

    def sign_in(self, key: str) -> None:
        field = self.element("driver-key")
        field.clear()
        field.send_keys(key)
        self.element("signin-form").submit()
        self.wait(
            lambda: (
                not self.element("check").get_attribute("hidden")
                or self.answer_kind() == "refused"
            )
        )

    def check(self, tracking: str, code: str) -> str:
        self._clear_answer()
        self.element("tracking").clear()
        self.element("tracking").send_keys(tracking)
        self.element("code").clear()
        self.element("code").send_keys(code)
        self.element("check-form").submit()
        return self.settled()

    def resend(self, tracking: str) -> str:
        self._clear_answer()
        self.element("tracking").clear()
        self.element("tracking").send_keys(tracking)
        self.element("resend").click()
        return self.settled()

    def _clear_answer(self) -> None:
        self.browser.execute_script(
            "var a = document.getElementById('answer');"
            "a.textContent = ''; a.className = 'answer';"
        )

    def responses(self) -> list[str]:
        return self.browser.execute_script("return window.__responses || []")

    def dom(self) -> str:
        """The whole document, with every field's current value."""
        return self.browser.execute_script(
            "return document.documentElement.outerHTML + '\\n' + "
            "Array.from(document.querySelectorAll('input'))"
            ".map(function (i) { return i.value; }).join('\\n')"
        )

    def csp_violations(self) -> list[str]:
        return [
            entry["message"]
            for entry in self.browser.get_log("browser")
            if "Content Security Policy" in entry["message"]
        ]

    def screenshot(self, path: Path) -> bytes:
        """The whole page at the phone's width, as the driver scrolls through it."""
        height = self.browser.execute_script(
            "return document.documentElement.scrollHeight"
        )
        shot = self.browser.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
            },
        )
        png = base64.b64decode(shot["data"])
        path.write_bytes(png)
        return png

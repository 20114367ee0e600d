"""A driver's phone: the system's Chromium at 360 x 740, driven by Selenium.

For ``saleor-delivery-otp story --through-page`` and the browser tests. It uses
Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium
chromium-driver``) and keeps Selenium Manager offline: nothing is downloaded.
Selenium comes with the project's test extras (``pip install -e '.[test]'``).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTH, HEIGHT, PIXEL_RATIO = 360, 740, 2


def missing() -> str | None:
    """Why no phone can be started here, or None."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return (
            "Debian's chromium and chromium-driver are not installed "
            "(apt-get install chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def start() -> Any:
    """A headless Chromium with a phone's screen (raises if :func:`missing`)."""
    reason = missing()
    if reason:
        raise RuntimeError(reason)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download anything
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
    return webdriver.Chrome(
        service=Service(executable_path=CHROMEDRIVER), options=options
    )


class DriverPage:
    """What a driver does on the page, and what the page answers."""

    def __init__(self, browser: Any, url: str):
        self.browser = browser
        self.url = url

    def open(self, query: str = "", *, fresh: bool = True) -> DriverPage:
        self.browser.get(self.url + query)
        if fresh:
            self.browser.execute_script("window.localStorage.clear()")
            self.browser.get(self.url + query)
        self.browser.get_log("browser")  # start with an empty console
        return self

    def element(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.browser.find_element(By.ID, element_id)

    def wait(self, condition: Callable[[], Any], timeout: float = 10) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.browser, timeout, poll_frequency=0.05).until(
            lambda _: condition()
        )

    def answer_kind(self) -> str:
        classes = self.element("answer").get_attribute("class").split()
        return next((name for name in classes if name != "answer"), "")

    def settled(self) -> str:
        """The answer's kind once the page has one (not while it is working)."""
        self.wait(lambda: self.answer_kind() not in ("", "working"))
        return self.answer_kind()

    def answer(self) -> str:
        return str(self.element("answer").text)

    def signed_in(self) -> bool:
        return not self.element("check").get_attribute("hidden")

    def sign_in(self, key: str) -> None:
        field = self.element("driver-key")
        field.clear()
        field.send_keys(key)
        self.element("signin-form").submit()
        self.wait(lambda: self.signed_in() or self.answer_kind() == "refused")

    def check(self, tracking: str, code: str) -> str:
        self._clear_answer()
        self._type("tracking", tracking)
        self._type("code", code)
        self.element("check-form").submit()
        return self.settled()

    def resend(self, tracking: str) -> str:
        self._clear_answer()
        self._type("tracking", tracking)
        self.element("resend").click()
        return self.settled()

    def _type(self, element_id: str, text: str) -> None:
        field = self.element(element_id)
        field.clear()
        field.send_keys(text)

    def _clear_answer(self) -> None:
        self.browser.execute_script(
            "var a = document.getElementById('answer');"
            "a.textContent = ''; a.className = 'answer';"
        )

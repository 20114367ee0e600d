"""The driver's page tests' phone: :mod:`saleor_delivery_otp.sandbox.phone` (Debian's
Chromium at 360 x 740, Selenium kept offline), plus what only tests read back.

The tests skip, saying why, only where Chromium is not installed; ``.ci/run``
installs it, so in CI they run.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from saleor_delivery_otp.sandbox import phone
from saleor_delivery_otp.sandbox.phone import HEIGHT, PIXEL_RATIO, WIDTH

__all__ = ["HEIGHT", "PIXEL_RATIO", "WIDTH", "TestedPage", "start_browser"]

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


def start_browser():
    reason = phone.missing()
    if reason:
        pytest.skip(reason)
    browser = phone.start()
    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_RESPONSES}
    )
    return browser


class TestedPage(phone.DriverPage):
    __test__ = False  # not a test class, whatever its name

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

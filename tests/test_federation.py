"""The subgraph composes with Saleor 3.23.28's own, by Apollo's composition library.

`make test` installs the library (federation/package-lock.json) with npm.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from saleor_delivery_otp.graphql.schema import SDL_PATH

ROOT = Path(__file__).resolve().parents[1]
FEDERATION = ROOT / "federation"
SALEOR_SDL = ROOT.parent / "shared" / "saleor" / "subgraph-sdl-3.23.28.graphql"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed"),
    pytest.mark.skipif(
        not (FEDERATION / "node_modules" / "@apollo" / "composition").exists(),
        reason="run `npm ci --prefix federation` (make test does)",
    ),
    pytest.mark.skipif(
        not SALEOR_SDL.exists(), reason=f"Saleor's SDL not found at {SALEOR_SDL}"
    ),
]


def compose(plugin_sdl: Path) -> tuple[int, dict]:
    result = subprocess.run(
        [str(NODE), "compose.mjs", str(SALEOR_SDL), str(plugin_sdl)],
        cwd=FEDERATION,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


def test_plugin_subgraph_composes_with_saleor():
    returncode, report = compose(SDL_PATH)

    assert returncode == 0, report
    assert report["composed"] is True
    assert report["orderHasDeliveryCodes"] and report["orderHasNumber"]
    assert report["deliveryCodeType"] == "[DeliveryCode!]"
    assert report["mutations"] == [
        "deliveryCodeVerify",
        "deliveryCodeResend",
        "deliveryCodesResend",
        "deliveryCodeRegenerate",
        "deliveryCodeUnlock",
        "deliveryCodeHandoverWithoutCode",
        "deliveryCodeResendToCustomer",
    ]


def test_a_conflicting_extension_does_not_compose(tmp_path):
    """The check can fail: a field that clashes with Saleor's Order is refused."""
    clash = tmp_path / "clash.graphql"
    clash.write_text(
        'extend type Order @key(fields: "id") {\n'
        "  id: ID! @external\n  number: Int\n}\n"
        "type Query {\n  x: Int\n}\n"
    )

    returncode, report = compose(clash)

    assert returncode == 1
    assert report["composed"] is False
    assert "Order.number" in report["errors"][0]

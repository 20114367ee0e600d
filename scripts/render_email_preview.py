#!/usr/bin/env python3
"""Render the delivery-code e-mail with sample data, and screenshot it.

Writes the HTML part of the e-mail a customer receives for parcel 2 of a sample
order, then photographs it with headless Chromium so that a shop owner can see the
e-mail before installing (docs/email-preview.png). Without Chromium on the PATH it
prints the command to run.

    .venv/bin/python scripts/render_email_preview.py                 # English
    .venv/bin/python scripts/render_email_preview.py --language it   # Italian
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def render(language: str) -> str:
    """The HTML part of a sample code e-mail; no database, no real code."""
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True, TIME_ZONE="UTC")
        django.setup()

    from saleor_delivery_otp.emails.context import EmailContext, ParcelItem
    from saleor_delivery_otp.emails.rendering import render_code_email

    context = EmailContext(
        recipient="anna.rossi@example.com",
        order_reference="1042",
        language_code=language,
        order_url="https://shop.example.com/account/orders/1042",
        items=(
            ParcelItem("Smartphone X Pro, 256 GB, Midnight", 1),
            ParcelItem("Leather folio case", 1),
        ),
        shop_name="Northwind Electronics",
        parcel_number=2,
        time_zone="Europe/Rome",
        customer_name="Anna",
    )
    # The record's two facts the e-mail shows: shipped, and until when it is valid.
    record = SimpleNamespace(
        fulfillment_id=2,
        expires_at=datetime(2025, 4, 12, 16, 0, tzinfo=UTC),
    )
    return render_code_email(context, "482913", record).html  # a sample, not a code


def chromium_command(browser: str, html: Path, png: Path, size: str) -> list[str]:
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tempfile.mkdtemp(prefix='email-preview-')}",
        f"--screenshot={png}",
        f"--window-size={size}",
        html.resolve().as_uri(),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--language", choices=("en", "it"), default="en")
    parser.add_argument("--html", type=Path, help="where to write the HTML")
    parser.add_argument("--png", type=Path, help="where to write the screenshot")
    parser.add_argument("--window-size", default="800,1240")
    args = parser.parse_args(argv)

    suffix = "" if args.language == "en" else f"-{args.language}"
    png = args.png or ROOT / "docs" / f"email-preview{suffix}.png"
    html = args.html or Path(tempfile.mkdtemp(prefix="email-preview-")) / "email.html"
    html.write_text(render(args.language), encoding="utf-8")
    print(f"HTML: {html}")

    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    command = chromium_command(browser or "chromium", html, png, args.window_size)
    if browser is None:
        print("Chromium is not installed; run:")
        print(shlex.join(command))
        return 0
    subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603
    print(f"PNG: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

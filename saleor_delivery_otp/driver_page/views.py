"""Serves the driver's page and its two assets, with headers that lock it down.

Host-agnostic: the plugin's ``webhook()``, the sandbox and the test host call
:func:`page` with what follows ``driver/`` in the URL. Nothing here reads the
database: the page holds no data until the driver's key fetches it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine

from .strings import LANGUAGES, STRINGS

HERE = Path(__file__).parent
ROUTE = "driver"
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# Nothing from elsewhere, no inline script or style, not framed, no referrer:
# the page handles a key and the code a customer says at the door.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


@cache
def _engine() -> Engine:
    # A private engine: works in Saleor, the sandbox and tests alike, whatever
    # their TEMPLATES setting.
    return Engine(dirs=[str(HERE / "templates")], autoescape=True)


@cache
def _asset(name: str) -> bytes:
    return (HERE / "static" / name).read_bytes()


def language(request: HttpRequest) -> str:
    """``?lang=`` if it names a language the page speaks, else Accept-Language."""
    asked = request.GET.get("lang", "").strip().lower()[:8]
    if asked in LANGUAGES:
        return asked
    weighted = []
    for position, part in enumerate(
        request.headers.get("Accept-Language", "")[:500].split(",")
    ):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            weighted.append((-quality, position, primary))
    return min(weighted)[2] if weighted else LANGUAGES[0]


def _locked_down(response: HttpResponse) -> HttpResponse:
    for name, value in HEADERS.items():
        response[name] = value
    return response


def page(request: HttpRequest, asset: str = "") -> HttpResponse:
    """The page (``asset`` empty) or one of its assets; 404 for anything else."""
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse("Use GET.", status=405, content_type="text/plain")
        response["Allow"] = "GET, HEAD"
        return _locked_down(response)
    asset = asset.strip("/")
    if asset:
        if asset not in ASSETS:
            return _locked_down(
                HttpResponse("Not found.", status=404, content_type="text/plain")
            )
        return _locked_down(HttpResponse(_asset(asset), content_type=ASSETS[asset]))
    # Everything is addressed from the page's own URL, so one page serves the
    # plugin's channel route, its channel-less route and the sandbox's.
    base = request.path[: request.path.rindex(f"/{ROUTE}") + 1]
    lang = language(request)
    html = (
        _engine()
        .get_template("driver.html")
        .render(
            Context(
                {
                    "lang": lang,
                    "t": STRINGS[lang],
                    "strings": STRINGS[lang],
                    "languages": LANGUAGES,
                    "api": f"{base}graphql/",
                    "assets": f"{base}{ROUTE}/",
                }
            )
        )
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Language"] = lang
    response["Vary"] = "Accept-Language"
    return _locked_down(response)


def split(path: str) -> str | None:
    """The asset part of a plugin path (``driver``, ``driver/app.js``), or None
    when the path is not the driver's page."""
    head, _, rest = (path or "").strip("/").partition("/")
    return rest if head == ROUTE else None

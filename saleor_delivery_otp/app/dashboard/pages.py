"""What both Dashboard pages share: their template engine, their assets and the
headers that lock them down.

Both pages live in the Dashboard's iframes, on another origin than the
Dashboard: they are framed by design (no ``frame-ancestors`` or
``X-Frame-Options``: the Dashboard's origin is the shop's, and neither page does
anything without the Dashboard's token, which a framing stranger cannot give
them). Nothing else loads: no script or style from elsewhere or inline, fetches
only to the App itself, forms only to the App itself.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine
from django.urls import NoReverseMatch, reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

HERE = Path(__file__).parent
ASSETS = {
    "dashboard.css": "text/css; charset=utf-8",
    "widget.js": "text/javascript; charset=utf-8",
    "configuration.js": "text/javascript; charset=utf-8",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@cache
def _engine() -> Engine:
    # A private engine: the App's pages render the same whatever TEMPLATES the
    # deployment has.
    return Engine(dirs=[str(HERE / "templates")], autoescape=True)


@cache
def _asset(name: str) -> bytes:
    return (HERE / "static" / name).read_bytes()


def locked_down(response: HttpResponse) -> HttpResponse:
    for name, value in HEADERS.items():
        response[name] = value
    return response


def url(route: str, /, **kwargs: Any) -> str:
    """The path of one of the App's routes (:mod:`saleor_delivery_otp.app.urls`),
    wherever the deployment mounts them."""
    try:
        return reverse(f"delivery_otp_app:{route}", kwargs=kwargs or None)
    except NoReverseMatch:  # mounted without the namespace
        return reverse(route, kwargs=kwargs or None)


def render(
    template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    html = (
        _engine()
        .get_template(template)
        .render(
            Context({"css": url("dashboard-asset", name="dashboard.css"), **context})
        )
    )
    response = HttpResponse(
        html, status=status, content_type="text/html; charset=utf-8"
    )
    response["Content-Language"] = "en"
    return locked_down(response)


def refusal(status: int, message: str) -> HttpResponse:
    """A page that says why nothing is shown."""
    return render("refused.html", {"message": message}, status=status)


@xframe_options_exempt
@require_safe
def asset(request: HttpRequest, name: str) -> HttpResponse:
    if name not in ASSETS:
        return locked_down(
            HttpResponse("Not found.", status=404, content_type="text/plain")
        )
    response = HttpResponse(_asset(name), content_type=ASSETS[name])
    locked_down(response)
    # Versioned by the package: cached for a while, not forever.
    response["Cache-Control"] = "public, max-age=3600"
    return response

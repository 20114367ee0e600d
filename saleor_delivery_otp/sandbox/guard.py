"""The sandbox answers only to its own address (DNS rebinding).

It listens on 127.0.0.1, but a web page on any site can make the browser call it by
a name that resolves to 127.0.0.1 (DNS rebinding); the browser then sends that site's
name as Host, and treats the answers (codes, tokens) as the site's own. Django's
``ALLOWED_HOSTS`` ignores the port, so this middleware compares the whole Host.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(port: int) -> list[str]:
    """The Host values the sandbox on ``port`` answers to."""
    return [f"{name}:{port}" for name in LOOPBACK_NAMES]


class LoopbackHostOnly:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.hosts = frozenset(getattr(settings, "SANDBOX_HOSTS"))  # noqa: B009 (set at run time)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("HTTP_HOST", "").lower() not in self.hosts:
            return JsonResponse(
                {
                    "errors": [
                        {
                            "message": "The sandbox answers only to "
                            + ", ".join(sorted(self.hosts))
                            + " (the request's Host header is another name)."
                        }
                    ]
                },
                status=400,
            )
        return self.get_response(request)

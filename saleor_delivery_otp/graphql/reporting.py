"""Keep the API's requests out of error reports.

A courier's verify carries a live code in its body (as a GraphQL variable), and a
customer's query asks for one. Saleor's Sentry integration attaches the request
body to every event captured while a request is served, and the local variables of
each frame to exceptions; an error logged during a verify would send the code to
Sentry. While the API serves a request, its events lose both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    import sentry_sdk
except ImportError:  # Saleor always has it; the sandbox may not.
    sentry_sdk = None  # type: ignore[assignment]

# What Sentry copies from the request that may hold a code: the body (variables)
# and the query string (a GET's variables).
_REQUEST_KEYS = ("data", "query_string")


@contextmanager
def request_kept_out_of_error_events() -> Iterator[None]:
    """Events captured inside the block carry neither request body nor frame
    variables."""
    if sentry_sdk is None:
        yield
        return
    # A scope of its own, forked from the request's: its processor runs after the
    # one Sentry's Django integration put on the request's scope (which adds the
    # body), and it goes away with the block instead of piling up.
    with sentry_sdk.new_scope() as scope:
        scope.add_event_processor(scrub_event)
        yield


def scrub_event(event: Any, hint: Any) -> Any:
    """An event processor: ``event`` is Sentry's event dict, returned scrubbed."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in _REQUEST_KEYS:
            request.pop(key, None)
    for kind in ("exception", "threads"):
        for value in (event.get(kind) or {}).get("values") or ():
            for frame in (value.get("stacktrace") or {}).get("frames") or ():
                frame.pop("vars", None)
    return event

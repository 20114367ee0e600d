"""Keep the API's requests out of error reports.

A courier's verify carries a live code in its body (as a GraphQL variable), and a
customer's query asks for one. Saleor's Sentry integration attaches the request
body to every event captured while a request is served, and the local variables of
each frame to exceptions; an error logged during a verify would send the code to
Sentry. Once the API starts serving a request, that request's events lose both.
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
    """Events captured from here to the end of the request carry neither request
    body nor frame variables."""
    client = sentry_sdk.get_client() if sentry_sdk is not None else None
    if client is None or not client.is_active():
        yield
        return
    if client.get_integration("django") is not None:
        # Sentry's Django integration adds the body with a processor on the
        # request's isolation scope (ASGI) or current scope (WSGI), both forked per
        # request; ours, on the current one, runs after either and lives as long:
        # events after the view returns (the plugin logging a 500) are covered.
        sentry_sdk.get_current_scope().add_event_processor(scrub_event)
        yield
        return
    # No request scope to join: a scope of our own for the block.
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

"""Starts the sandbox: settings, the shop, and an HTTP server on 127.0.0.1."""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import guard, standalone

if TYPE_CHECKING:
    from .host import SandboxHost


class PortInUse(Exception):
    pass


DataDirError = standalone.DataDirError


def set_up(data_dir: Path, port: int) -> tuple[SandboxHost, bool]:
    """Settings, database and shop for the sandbox on ``port``; seeds the shop on
    first use.

    Returns the host and whether the shop was new.
    """
    standalone.prepare_data_dir(data_dir)
    standalone.configure(
        data_dir,
        host="saleor_delivery_otp.sandbox.host.current",
        ROOT_URLCONF="saleor_delivery_otp.sandbox.urls",
        ALLOWED_HOSTS=list(guard.LOOPBACK_NAMES),
        SANDBOX_HOSTS=guard.allowed_hosts(port),
        MIDDLEWARE=["saleor_delivery_otp.sandbox.guard.LoopbackHostOnly"],
        EMAIL_BACKEND="saleor_delivery_otp.sandbox.mail.EmlFileBackend",
        SANDBOX_MAIL_DIR=str(data_dir / standalone.MAIL_DIR),
        DEFAULT_FROM_EMAIL="Sandbox Shop <shop@sandbox.invalid>",
    )
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    # Models can be imported once Django is configured.
    from .host import SandboxHost, install
    from .shop import Shop, new_tokens

    shop = Shop.load(data_dir)
    new = shop is None
    host = SandboxHost(shop or Shop(tokens=new_tokens()), data_dir)
    install(host)
    if new:
        from .seed import seed

        host.shop.save(data_dir)
        seed(host)
    else:
        # The sandbox sends e-mails in-process, without beat: what an earlier run
        # failed to write is sent on the next start.
        from ..tasks import send_due_emails_task

        send_due_emails_task.apply()
    # Also for a shop made before the driver's page existed.
    host.ensure_driver_key()
    return host, new


class _RequestLog(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        # One line per request, without the query string (codes travel in bodies).
        print(f"  {self.command} {self.path.split('?')[0]} -> {args[1]}")


class _Silent(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def bind(address: str, port: int, *, log_requests: bool = True) -> WSGIServer:
    """The listening socket, before anything is set up, so that a port in use is
    reported before the data folder is touched. Port 0 takes a free one."""
    try:
        return make_server(
            address,
            port,
            _not_ready,
            handler_class=_RequestLog if log_requests else _Silent,
        )
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"Port {port} on {address} is in use: choose another with --port."
            ) from None
        raise


def start_serving(http: WSGIServer) -> None:
    """Hands requests to Django, once :func:`set_up` has configured it."""
    from django.core.handlers.wsgi import WSGIHandler

    http.set_app(WSGIHandler())


def _not_ready(environ: dict, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"The sandbox is starting."]

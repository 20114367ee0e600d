"""The sandbox's commands of ``saleor-delivery-otp``: ``sandbox`` and ``story``.

:func:`add_commands` adds them to the command's parser
(:mod:`saleor_delivery_otp.cli`); ``python -m saleor_delivery_otp.sandbox.cli``
runs them alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

DEFAULT_PORT = 8000
ADDRESS = "127.0.0.1"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saleor-delivery-otp",
        description="One-time delivery codes for valuable parcels.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_commands(commands)
    return parser


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``sandbox`` and ``story``, each with its ``run(args) -> exit status``."""
    sandbox = commands.add_parser(
        "sandbox",
        help="serve the plugin's API on 127.0.0.1 with a sample shop, no Saleor needed",
        description=(
            "Starts the delivery-code API on 127.0.0.1 with a small sample shop in a "
            "data folder (SQLite, e-mails as .eml files), and prints tokens and "
            "ready curl lines."
        ),
    )
    sandbox.add_argument(
        "--data-dir",
        type=Path,
        default=Path("sandbox-data"),
        help="folder for the shop, database, key and e-mails (default: ./sandbox-data)",
    )
    sandbox.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="default 8000"
    )
    sandbox.set_defaults(run=lambda args: run_sandbox(args.data_dir, args.port))
    story = commands.add_parser(
        "story",
        help="play a whole delivery against a fresh sandbox and print each step",
        description=(
            "Starts a fresh sandbox on a free port and plays a purchase, its code "
            "e-mail, the customer's order page and the courier at the door, over HTTP."
        ),
    )
    story.add_argument(
        "--data-dir", type=Path, help="where to keep it (default: a temporary folder)"
    )
    story.add_argument(
        "--through-page",
        action="store_true",
        help=(
            "play the door on the driver's page in the system's Chromium, as a "
            "shop's own driver (needs chromium, chromium-driver and selenium)"
        ),
    )
    story.set_defaults(run=_story)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


def _story(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="delivery-otp-") as tmp:
        return run_story(
            args.data_dir or Path(tmp) / "sandbox", through_page=args.through_page
        )


def run_sandbox(data_dir: Path, port: int) -> int:
    from . import server

    try:
        http = server.bind(ADDRESS, port)
    except server.PortInUse as error:
        return _fail(str(error))
    with http:
        try:
            host, new = server.set_up(data_dir, http.server_port)
        except server.DataDirError as error:
            return _fail(str(error))
        server.start_serving(http)
        from .banner import banner

        print(banner(host, f"http://{ADDRESS}:{http.server_port}", new), flush=True)
        try:
            http.serve_forever()
        except KeyboardInterrupt:
            print("\nSandbox stopped.")
    return 0


def run_story(data_dir: Path, *, through_page: bool = False) -> int:
    from . import phone, server

    if through_page and (reason := phone.missing()):
        return _fail(f"--through-page needs a browser: {reason}.")

    http = server.bind(ADDRESS, 0, log_requests=False)
    with http:
        print(f"A fresh sandbox shop in {data_dir}: orders placed and shipped")
        try:
            host, _ = server.set_up(data_dir, http.server_port)
        except server.DataDirError as error:
            return _fail(str(error))
        server.start_serving(http)
        from .story import play

        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            outcome = play(
                host,
                f"http://{ADDRESS}:{http.server_port}",
                print,
                through_page=through_page,
            )
        finally:
            http.shutdown()
    return 0 if outcome.as_expected else 1


def _fail(message: str) -> int:
    print(f"saleor-delivery-otp: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

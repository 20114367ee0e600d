"""The ``saleor-delivery-otp`` command: each host's commands under one name.

``sandbox`` and ``story`` are the sandbox's (:mod:`saleor_delivery_otp.sandbox.cli`),
``app`` the Saleor App's (:mod:`saleor_delivery_otp.app.cli`). Each host's module
adds its own; neither imports the other, and what a command needs (Django, the
sandbox's shop, the App's settings) is imported only when it runs.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from .app import cli as app_cli
    from .sandbox import cli as sandbox_cli

    parser = argparse.ArgumentParser(
        prog="saleor-delivery-otp",
        description="One-time delivery codes for valuable parcels.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sandbox_cli.add_commands(commands)
    app_cli.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())

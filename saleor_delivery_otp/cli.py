"""The ``saleor-delivery-otp`` command."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saleor-delivery-otp",
        description="One-time delivery codes for valuable parcels.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    story = commands.add_parser(
        "story",
        help="walk one purchase through the engine and print each step",
        description=(
            "Plays a purchase, its e-mail, the customer's order page and the courier "
            "at the door on sample data, in a fresh SQLite database."
        ),
    )
    story.add_argument(
        "--data-dir",
        type=Path,
        help="folder for the database and key (default: a temporary folder)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from . import standalone

    if args.command == "story":
        with tempfile.TemporaryDirectory(prefix="delivery-otp-") as tmp:
            try:
                data_dir = standalone.prepare_data_dir(args.data_dir or Path(tmp))
            except standalone.DataDirError as error:
                print(f"saleor-delivery-otp: {error}", file=sys.stderr)
                return 2
            standalone.configure(
                data_dir, email_context="saleor_delivery_otp.story.email_context"
            )
            from .story import play

            outcome = play(print)
            return 0 if outcome.as_expected else 1
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())

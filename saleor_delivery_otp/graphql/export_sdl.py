"""Writes the subgraph SDL to ``schema.graphql``: ``python -m
saleor_delivery_otp.graphql.export_sdl`` (``--check`` only compares)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "saleor_delivery_otp"],
            USE_TZ=True,
        )
        django.setup()
    from .schema import SDL_PATH, federation_sdl

    printed = federation_sdl()
    if "--check" in argv:
        if SDL_PATH.read_text(encoding="utf-8") != printed:
            print(f"{SDL_PATH} is out of date.", file=sys.stderr)
            return 1
        return 0
    SDL_PATH.write_text(printed, encoding="utf-8")
    print(f"Wrote {SDL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

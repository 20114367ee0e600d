"""System checks of the App's settings: each fails at ``manage.py check`` (and at
every start), not at the first installation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import manifest, registration, tokens
from .saleor_api import InvalidAPIURL, normalize_api_url


def check_token_keys(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E001: DELIVERY_OTP_APP_TOKEN_KEYS empty or not Fernet keys."""
    return [
        checks.Error(
            problem,
            hint='Generate one with python -c "from cryptography.fernet import '
            'Fernet; print(Fernet.generate_key().decode())" and set '
            f"{tokens.SETTING} from the environment, outside the database.",
            id="delivery_otp_app.E001",
        )
        for problem in tokens.key_problems()
    ]


def check_app_url(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E002: DELIVERY_OTP_APP_URL unset or not a URL Saleor may post a token to."""
    try:
        manifest.base_url()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="The manifest's URLs are built from it.",
                id="delivery_otp_app.E002",
            )
        ]
    return []


def check_allowed_saleor_urls(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W001: the allow-list is empty; E003: an entry is no Saleor API URL."""
    value = getattr(settings, registration.ALLOWED_SETTING, None) or []
    entries = value.split(",") if isinstance(value, str) else list(value)
    found: list[checks.CheckMessage] = []
    for entry in entries:
        try:
            normalize_api_url(entry)
        except InvalidAPIURL as exc:
            found.append(
                checks.Error(
                    f"{registration.ALLOWED_SETTING}: {entry!r} {exc}; it is ignored.",
                    hint="List each Saleor's API URL, e.g. "
                    "https://shop.example.com/graphql/.",
                    id="delivery_otp_app.E003",
                )
            )
    if not registration.allowed_saleor_urls():
        found.append(
            checks.Warning(
                f"{registration.ALLOWED_SETTING} lists no Saleor: every "
                "installation of the App is refused.",
                hint="Add the API URL of each Saleor that may install the App, "
                "e.g. https://shop.example.com/graphql/.",
                id="delivery_otp_app.W001",
            )
        )
    return found

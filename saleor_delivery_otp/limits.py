"""Per-channel limits for codes: length, attempts, validity and resend limits.

The unlock cap and the retry window are not in the Dashboard configuration: they
default to the project settings, whatever the channel.

The plugin builds one from its Dashboard configuration; code running outside a channel
uses :meth:`CodeLimits.from_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from . import codes
from .conf import settings
from .exceptions import ConfigurationError

MAX_ATTEMPTS_LIMIT = 20


@dataclass(frozen=True)
class CodeLimits:
    length: int
    max_attempts: int
    validity: timedelta
    resend_cooldown: timedelta
    resend_daily_cap: int
    max_unlocks: int = field(default_factory=lambda: settings.DELIVERY_OTP_MAX_UNLOCKS)
    retry_window: timedelta = field(
        default_factory=lambda: settings.DELIVERY_OTP_RETRY_WINDOW
    )

    def __post_init__(self) -> None:
        codes.check_length(self.length)
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise ConfigurationError(
                f"The attempt limit must be from 1 to {MAX_ATTEMPTS_LIMIT}."
            )
        if self.validity <= timedelta(0):
            raise ConfigurationError("The validity must be positive.")
        if self.resend_cooldown < timedelta(0):
            raise ConfigurationError("The resend cooldown cannot be negative.")
        if self.resend_daily_cap < 1:
            raise ConfigurationError("The daily resend cap must be at least 1.")
        if self.max_unlocks < 0:
            raise ConfigurationError("The unlock cap cannot be negative.")
        if self.retry_window < timedelta(0):
            raise ConfigurationError("The retry window cannot be negative.")

    @classmethod
    def from_settings(cls, **overrides: object) -> CodeLimits:
        values: dict[str, object] = {
            "length": settings.DELIVERY_OTP_CODE_LENGTH,
            "max_attempts": settings.DELIVERY_OTP_MAX_ATTEMPTS,
            "validity": settings.DELIVERY_OTP_VALIDITY,
            "resend_cooldown": settings.DELIVERY_OTP_RESEND_COOLDOWN,
            "resend_daily_cap": settings.DELIVERY_OTP_RESEND_DAILY_CAP,
            "max_unlocks": settings.DELIVERY_OTP_MAX_UNLOCKS,
            "retry_window": settings.DELIVERY_OTP_RETRY_WINDOW,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

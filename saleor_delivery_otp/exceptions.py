"""Errors the engine raises. Their messages are safe to show: no code, no key."""

from __future__ import annotations

from collections.abc import Mapping


class DeliveryOTPError(Exception):
    """Base class; ``code`` is a stable, machine-readable name for API error enums."""

    code = "error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DeliveryOTPError):
    """Malformed input: nothing was read or changed because of it."""

    code = "invalid"

    def __init__(self, field: str, message: str):
        super().__init__(message, field)


class NotFound(DeliveryOTPError):
    code = "not_found"


class InvalidState(DeliveryOTPError):
    """The operation does not apply to the code as it is now (e.g. already used)."""

    code = "invalid_state"


class RateLimited(DeliveryOTPError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(DeliveryOTPError):
    """The caller may not do this (Saleor's ``PermissionDenied``)."""

    code = "permission_denied"


class ConfigurationError(DeliveryOTPError):
    """Settings, keys or a channel's configuration are unusable; raised at use,
    logged without key material. ``errors`` names every bad field of a channel's
    configuration at once (field name to message), so a form can show them all."""

    code = "configuration"

    def __init__(self, message: str = "", errors: Mapping[str, str] | None = None):
        self.errors = dict(errors or {})
        super().__init__(
            message or "Invalid delivery-code configuration: " + ", ".join(self.errors)
        )

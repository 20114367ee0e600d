from django.apps import AppConfig
from django.core import checks


class DeliveryOTPAppConfig(AppConfig):
    """The Saleor App's own tables (installations) and checks; a Django app apart
    from the engine's, so the plugin's Saleor never gets the App's tables."""

    name = "saleor_delivery_otp.app"
    label = "delivery_otp_app"
    verbose_name = "Delivery OTP: Saleor App"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks as app_checks

        checks.register(app_checks.check_token_keys, checks.Tags.security)
        checks.register(app_checks.check_app_url)
        checks.register(app_checks.check_allowed_saleor_urls, checks.Tags.security)

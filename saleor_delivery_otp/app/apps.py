from django.apps import AppConfig


class DeliveryOTPAppConfig(AppConfig):
    """The Saleor App's own tables (installations); a Django app apart from the
    engine's, so the plugin's Saleor never gets the App's tables."""

    name = "saleor_delivery_otp.app"
    label = "delivery_otp_app"
    verbose_name = "Delivery OTP: Saleor App"
    default_auto_field = "django.db.models.BigAutoField"

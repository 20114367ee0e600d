from django.apps import AppConfig
from django.core import checks


class DeliveryOTPConfig(AppConfig):
    name = "saleor_delivery_otp"
    label = "saleor_delivery_otp"
    verbose_name = "Delivery OTP"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks as otp_checks

        checks.register(otp_checks.check_keys, checks.Tags.security)
        checks.register(otp_checks.check_imported_settings)
        checks.register(otp_checks.check_host)
        checks.register(otp_checks.check_beat_schedule)

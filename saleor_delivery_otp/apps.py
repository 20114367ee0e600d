from django.apps import AppConfig


class DeliveryOTPConfig(AppConfig):
    name = "saleor_delivery_otp"
    label = "saleor_delivery_otp"
    verbose_name = "Delivery OTP"
    default_auto_field = "django.db.models.BigAutoField"

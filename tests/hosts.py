"""A stand-in host for the CI tier: what the Saleor layer provides in production."""

from saleor_delivery_otp.emails.sending import EmailContext

CUSTOMER_EMAIL = "customer@example.com"


def email_context(record):
    return EmailContext(
        recipient=CUSTOMER_EMAIL,
        order_reference="1042",
        order_url=f"https://shop.example.com/orders/{record.order_id}",
        item_names=("Smartphone X",),
        shop_name="Example Shop",
    )

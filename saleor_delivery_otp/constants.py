"""Names and defaults the Saleor plugin shares with its configuration parser.

Kept apart from :mod:`saleor_delivery_otp.plugin` so that the parser, its CI-tier
tests and the documentation can use them without importing Saleor.
"""

from __future__ import annotations

from typing import Final

# Stored in ``PluginConfiguration.identifier`` and used in the plugin's URLs
# (``/plugins/channel/<slug>/<PLUGIN_ID>/``): never change it once released, or
# every shop's configuration would be orphaned.
PLUGIN_ID: Final = "saleor.delivery-otp"
PLUGIN_NAME: Final = "Delivery OTP"
PLUGIN_DESCRIPTION: Final = (
    "Valuable parcels are handed over only against a one-time code that the "
    "customer receives by e-mail and tells the courier at the door."
)

# Dashboard configuration fields. camelCase on purpose: Saleor camel-cases the
# ``field`` of every mutation error, so only camelCase names let the Dashboard match
# a validation error to the field it belongs to.
THRESHOLD: Final = "threshold"
CATEGORY_SLUGS: Final = "categorySlugs"
PRODUCT_TYPE_SLUGS: Final = "productTypeSlugs"
PARCEL_RULE: Final = "parcelRule"
CODE_LENGTH: Final = "codeLength"
MAX_ATTEMPTS: Final = "maxAttempts"
VALIDITY_DAYS: Final = "validityDays"
RESEND_COOLDOWN_SECONDS: Final = "resendCooldownSeconds"
RESEND_DAILY_CAP: Final = "resendDailyCap"
EMAIL_MODE: Final = "emailMode"
ALLOWED_APPS: Final = "allowedApps"
EMAIL_LANGUAGE: Final = "emailLanguage"
TIME_ZONE: Final = "timeZone"
ORDER_URL: Final = "orderUrl"
BRAND_COLOR: Final = "brandColor"
LOGO_URL: Final = "logoUrl"
CODE_EMAIL_SUBJECT: Final = "codeEmailSubject"
CODE_EMAIL_HTML: Final = "codeEmailHtml"
CODE_EMAIL_TEXT: Final = "codeEmailText"
CONFIRMATION_SUBJECT: Final = "confirmationSubject"
CONFIRMATION_HTML: Final = "confirmationHtml"
CONFIRMATION_TEXT: Final = "confirmationText"
KEY_SET: Final = "keySet"
# Fields of earlier versions that held keys in the database. Stored values are
# never used; their presence is logged until the configuration is saved again.
LEGACY_KEY_FIELDS: Final = ("currentKey", "previousKeys")
DRIVER_PHONE: Final = "driverPhone"

# The fields' defaults are in plugin_config's field table (plugin_config.DEFAULTS).

# Bounds the configuration accepts. Code length and attempts follow the engine
# (codes.MIN_LENGTH/MAX_LENGTH, limits.MAX_ATTEMPTS_LIMIT).
MAX_VALIDITY_DAYS: Final = 365
MAX_RESEND_COOLDOWN_SECONDS: Final = 86_400
MAX_RESEND_DAILY_CAP: Final = 100
MAX_THRESHOLD: Final = 10**12
MAX_LIST_ITEMS: Final = 200

# Placeholders an order page URL may use.
ORDER_URL_PLACEHOLDERS: Final = ("{token}", "{number}")

# Saleor's User emails plugin, whose SMTP settings the code e-mail reuses and whose
# order confirmation single-e-mail mode replaces.
USER_EMAIL_PLUGIN_ID: Final = "mirumee.notifications.user_email"
USER_EMAIL_ORDER_CONFIRMATION_TEMPLATE: Final = "order_confirmation"

# Product metadata key a shop sets to force a product in or out:
# ``always`` (every parcel holding it needs a code) or ``never``.
PRODUCT_FLAG_METADATA_KEY: Final = "delivery_otp"
# Public metadata key on a fulfillment with the status of its code (``active``,
# ``verified``, ``locked``, ``expired``, ``revoked``) for storefronts and apps.
# Never the code itself.
FULFILLMENT_STATUS_METADATA_KEY: Final = "delivery_otp_status"

"""The App's routes, mounted at the root of ``DELIVERY_OTP_APP_URL``; the paths are
the manifest's (:mod:`saleor_delivery_otp.app.manifest`)."""

from django.urls import path

from . import manifest, views, webhooks

app_name = "delivery_otp_app"

urlpatterns = [
    path(manifest.MANIFEST_PATH, views.manifest_view, name="manifest"),
    path(manifest.REGISTER_PATH, views.register_view, name="register"),
    path(manifest.WEBHOOK_PATH, webhooks.webhook_view, name="webhooks"),
    path(manifest.GRAPHQL_PATH, views.graphql_view, name="graphql"),
]

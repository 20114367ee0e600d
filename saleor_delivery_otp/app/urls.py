"""The App's routes, mounted at the root of ``DELIVERY_OTP_APP_URL``; the paths are
the manifest's (:mod:`saleor_delivery_otp.app.manifest`)."""

from django.urls import path

from . import manifest, views, webhooks
from .dashboard import configuration, pages, widget

app_name = "delivery_otp_app"

urlpatterns = [
    path(manifest.MANIFEST_PATH, views.manifest_view, name="manifest"),
    path(manifest.REGISTER_PATH, views.register_view, name="register"),
    path(manifest.WEBHOOK_PATH, webhooks.webhook_view, name="webhooks"),
    path(manifest.GRAPHQL_PATH, views.graphql_view, name="graphql"),
    # The Dashboard's pages: the order widget (POSTed by the Dashboard) and its
    # staff actions, the configuration page and its JSON endpoint, their assets.
    path(manifest.ORDER_WIDGET_PATH, widget.order_widget, name="order-widget"),
    path(
        f"{manifest.ORDER_WIDGET_PATH}/action",
        widget.order_widget_action,
        name="order-widget-action",
    ),
    path(manifest.CONFIGURATION_PATH, configuration.page, name="configuration"),
    path(
        f"{manifest.CONFIGURATION_PATH}/channels",
        configuration.channels_api,
        name="configuration-channels",
    ),
    path("dashboard/assets/<str:name>", pages.asset, name="dashboard-asset"),
]

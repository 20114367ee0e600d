"""Routes of the CI tier: the API served as the plugin serves it inside Saleor, and
the Saleor App's own routes."""

from django.urls import include, path

from saleor_delivery_otp.driver_page.views import page as driver_page
from saleor_delivery_otp.graphql.view import handle

from .graphql_host import HOST

urlpatterns = [
    # The Saleor App's routes, at the root as DELIVERY_OTP_APP_URL serves them.
    path("", include("saleor_delivery_otp.app.urls")),
    path("plugins/global/graphql/", lambda r: handle(r, host=HOST, channel=None)),
    path(
        "plugins/channel/<slug:channel>/graphql/",
        lambda r, channel: handle(r, host=HOST, channel=channel),
    ),
    path("plugins/global/driver/", driver_page),
    path("plugins/global/driver/<str:asset>", driver_page),
    path(
        "plugins/channel/<slug:channel>/driver/",
        lambda r, channel: driver_page(r),
    ),
]

"""Routes of the CI tier: the API served as the plugin serves it inside Saleor."""

from django.urls import path

from saleor_delivery_otp.graphql.view import handle

from .graphql_host import HOST

urlpatterns = [
    path("plugins/global/graphql/", lambda r: handle(r, host=HOST, channel=None)),
    path(
        "plugins/channel/<slug:channel>/graphql/",
        lambda r, channel: handle(r, host=HOST, channel=channel),
    ),
]

"""The sandbox's routes: the same paths as the plugin's routes inside Saleor."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..constants import PLUGIN_ID
from ..driver_page.views import page as driver_page
from ..graphql.view import handle
from .host import current


def channel_api(request: HttpRequest, channel: str) -> HttpResponse:
    return handle(request, host=current(), channel=channel)


def global_api(request: HttpRequest) -> HttpResponse:
    return handle(request, host=current(), channel=None)


def channel_driver_page(
    request: HttpRequest, channel: str, asset: str = ""
) -> HttpResponse:
    return driver_page(request, asset)


urlpatterns = [
    path(f"plugins/channel/<slug:channel>/{PLUGIN_ID}/graphql/", channel_api),
    path(f"plugins/{PLUGIN_ID}/graphql/", global_api),
    # The driver's page, beside each API route as inside Saleor.
    path(f"plugins/channel/<slug:channel>/{PLUGIN_ID}/driver/", channel_driver_page),
    path(
        f"plugins/channel/<slug:channel>/{PLUGIN_ID}/driver/<str:asset>",
        channel_driver_page,
    ),
    path(f"plugins/{PLUGIN_ID}/driver/", driver_page),
    path(f"plugins/{PLUGIN_ID}/driver/<str:asset>", driver_page),
]

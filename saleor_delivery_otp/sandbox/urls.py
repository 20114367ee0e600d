"""The sandbox's routes: the same paths as the plugin's routes inside Saleor."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..constants import PLUGIN_ID
from ..graphql.view import handle
from .host import current


def channel_api(request: HttpRequest, channel: str) -> HttpResponse:
    return handle(request, host=current(), channel=channel)


def global_api(request: HttpRequest) -> HttpResponse:
    return handle(request, host=current(), channel=None)


urlpatterns = [
    path(f"plugins/channel/<slug:channel>/{PLUGIN_ID}/graphql/", channel_api),
    path(f"plugins/{PLUGIN_ID}/graphql/", global_api),
]

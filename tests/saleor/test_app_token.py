"""What Saleor 3.23.28 answers the App's registration query, read by the App's
client: the same answers the CI tier's fake Saleor (tests/fake_saleor.py) gives.

The App's HTTP call is routed into Saleor's own GraphQL view in-process (no
server here); everything after the transport is the App's code on Saleor's real
answer.
"""

from __future__ import annotations

import json
from typing import Any

import graphene
import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from saleor_delivery_otp.app import saleor_api

pytestmark = pytest.mark.django_db

API_URL = "https://shop.example.com/graphql/"


@pytest.fixture(autouse=True)
def saleor_in_process(monkeypatch):
    """``requests.post`` to API_URL answered by Saleor's GraphQL view."""
    sent: list[dict[str, Any]] = []

    def post(url: str, *, json: dict, headers: dict, **kwargs: Any):
        assert url == API_URL
        assert kwargs["allow_redirects"] is False
        assert kwargs["timeout"] == saleor_api.TIMEOUT
        sent.append({"json": json, "headers": headers})
        answer = Client().post(
            reverse("api"),
            data=json,
            content_type="application/json",
            HTTP_AUTHORIZATION=headers["Authorization"],
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response._content_consumed = True
        return response

    monkeypatch.setattr(saleor_api.requests, "post", post)
    return sent


def test_saleor_names_the_app_of_an_app_token(app):
    _, token = app.tokens.create(name="Default")
    app.identifier = "saleor-delivery-otp"
    app.save(update_fields=["identifier"])

    found = saleor_api.fetch_app(API_URL, token)

    assert found == saleor_api.SaleorApp(
        id=graphene.Node.to_global_id("App", app.pk), identifier="saleor-delivery-otp"
    )


def test_saleor_refuses_an_unknown_token(app):
    with pytest.raises(saleor_api.TokenRefused):
        saleor_api.fetch_app(API_URL, "NotAnyAppsToken0123456789abcd")


def test_saleor_refuses_a_deactivated_apps_token(app):
    _, token = app.tokens.create(name="Default")
    app.is_active = False
    app.save(update_fields=["is_active"])

    with pytest.raises(saleor_api.TokenRefused):
        saleor_api.fetch_app(API_URL, token)


def test_saleor_refuses_a_removed_apps_token(app):
    # What a re-installation's takeover relies on: the old app's token is dead.
    _, token = app.tokens.create(name="Default")
    app.removed_at = timezone.now()
    app.save(update_fields=["removed_at"])

    with pytest.raises(saleor_api.TokenRefused):
        saleor_api.fetch_app(API_URL, token)


def test_a_staff_token_names_no_app(staff_api_client):
    staff_api_client.ensure_access_token()

    with pytest.raises(saleor_api.TokenRefused):
        saleor_api.fetch_app(API_URL, staff_api_client.token)


def test_the_query_is_valid_in_saleors_schema(app, saleor_in_process):
    _, token = app.tokens.create(name="Default")

    document = saleor_api.execute(API_URL, token, saleor_api.APP_QUERY)

    assert "errors" not in document, json.dumps(document)
    assert saleor_in_process[0]["headers"]["Authorization"] == f"Bearer {token}"

"""OAuth 2.0 shapes of the API: token responses (RFC 6749 5.1) and the Bearer challenges of a
401 (RFC 6750 3). The per-case challenges of refused access tokens are in the shared table
(tests/test_token_contract.py)."""

import jwt
import pytest
from constance.test import override_config

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_RESPONSE = {"access_token", "refresh_token", "token_type", "expires_in"}


def login(client) -> dict:
    response = client.post(
        "/api/login/", {"email": "player@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def lifetime(access_token: str) -> int:
    access = jwt.decode(access_token, options={"verify_signature": False})
    return access["exp"] - access["iat"]


def test_login_answers_a_bearer_token_response_with_the_access_tokens_lifetime(api_client, user):
    body = login(api_client)

    assert set(body) == TOKEN_RESPONSE
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == lifetime(body["access_token"]) == 30


def test_refresh_answers_a_bearer_token_response_with_the_access_tokens_lifetime(api_client, user):
    refresh_token = login(api_client)["refresh_token"]

    body = api_client.post("/api/refresh/", {"refresh_token": refresh_token}, format="json").json()

    assert set(body) == TOKEN_RESPONSE
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == lifetime(body["access_token"])


def test_expires_in_is_the_lifetime_constance_held_when_the_token_was_signed(api_client, user):
    with override_config(ACCESS_TOKEN_LIFETIME=7):
        body = login(api_client)

    assert body["expires_in"] == lifetime(body["access_token"]) == 7


def test_password_change_answers_the_same_token_response(api_client, user):
    access_token = login(api_client)["access_token"]

    response = api_client.post(
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": "An0ther-Str0ng-One!"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
    )

    assert set(response.json()) == TOKEN_RESPONSE

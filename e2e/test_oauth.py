"""OAuth 2.0 shapes through the gateway: token responses (RFC 6749 5.1) and the Bearer
challenge of a 401 (RFC 6750 3), from both services alike. A refused token's challenge, case by
case, is in test_token_contract.py."""

import uuid

import pytest

from conftest import PASSWORD, claims


def test_login_and_refresh_answer_token_type_and_the_access_tokens_lifetime(
    gateway, login, access_lifetime
):
    access_lifetime(7)
    logged_in = login()
    refreshed = gateway.post("/api/refresh/", json={"refresh_token": logged_in["refresh_token"]})

    for body in (logged_in, refreshed.json()):
        access = claims(body["access_token"])
        assert (body["token_type"], body["expires_in"]) == ("Bearer", 7)
        assert access["exp"] - access["iat"] == 7


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/me/"), ("GET", "/score?offset=1")], ids=["auth", "score"]
)
def test_a_request_without_credentials_gets_a_bearer_challenge_without_an_error_code(
    gateway, stack, method, path
):
    response = gateway.request(method, path)

    assert response.status_code == 401
    assert (
        response.headers["WWW-Authenticate"] == f'Bearer realm="{stack.settings["JWT_AUDIENCE"]}"'
    )


def test_a_failed_login_carries_no_challenge(gateway, register):
    email = register()

    response = gateway.post("/api/login/", json={"email": email, "password": f"{PASSWORD}x"})

    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers


def test_a_refused_refresh_token_carries_no_challenge(gateway):
    response = gateway.post("/api/refresh/", json={"refresh_token": str(uuid.uuid4())})

    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers

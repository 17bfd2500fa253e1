"""The score service keeps serving while the auth service is down."""

import pytest

from conftest import bearer


@pytest.fixture
def auth_stopped(stack):
    """Stop the auth service for one test; start it again afterwards."""
    stack.service_stop("auth")
    yield
    stack.service_start("auth")
    stack.service_wait("auth")


def test_score_answers_and_api_gives_json_502_with_retry_after_while_auth_is_down(
    gateway, login, request
):
    access = login()["access_token"]
    request.getfixturevalue("auth_stopped")

    score = gateway.get("/score", params={"offset": 0}, headers=bearer(access))
    api = gateway.get("/api/me/", headers=bearer(access))

    assert score.status_code == 200
    assert api.status_code == 502
    assert api.json() == {"detail": "The upstream service is unavailable."}
    assert api.headers.get_list("Retry-After") == ["5"]


def test_score_starts_and_verifies_tokens_while_auth_is_down(stack, gateway, login, request):
    access = login()["access_token"]
    request.getfixturevalue("auth_stopped")

    # Its public keys come from its own settings: no call to the auth service at start.
    stack.service_stop("score")
    stack.service_start("score")
    stack.service_wait("score")

    score = gateway.get("/score", params={"offset": 0}, headers=bearer(access))
    assert score.status_code == 200

"""One error style across the gateway, the auth service and the score service (docs/errors.md):
refused input is a 400 `{"<field>": ["<message>"]}`, anything else `{"detail": "<message>"}`,
in DRF's words and in the same compact bytes."""

import httpx
import pytest

from conftest import PASSWORD, auth_errors, bearer, score_errors

NOT_FOUND = b'{"detail":"Not found."}'


@pytest.mark.parametrize(
    "path",
    ["/api/no-such-page/", "/score/no-such-page", "/no-such-page"],
    ids=["auth", "score", "gateway"],
)
def test_a_404_is_the_same_bytes_from_each_part(gateway, path):
    response = gateway.get(path)

    assert (response.status_code, response.content) == (404, NOT_FOUND)
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", score_errors.REQUIRED),
        ("offset=abc", score_errors.NOT_AN_INTEGER),
        ("offset=1.5", score_errors.NOT_AN_INTEGER),
        ("offset=-1", score_errors.AT_LEAST.format(ge=0)),
        ("offset=1&offset=2", score_errors.GIVEN_TWICE),
    ],
    ids=["missing", "letters", "a-fraction", "negative", "twice"],
)
def test_a_refused_offset_is_a_400_per_field_like_the_auth_services(gateway, login, query, message):
    access = login()["access_token"]
    # Twice: the second request, with a token already verified, may take the fast path.
    responses = [gateway.get(f"/score?{query}", headers=bearer(access)) for _ in range(2)]

    for response in responses:
        assert (response.status_code, response.json()) == (400, {"offset": [message]})


def test_register_reports_every_bad_field_at_once(gateway, register):
    taken = register()

    response = gateway.post("/api/register/", json={"email": taken, "password": "password", "x": 1})

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"email", "password", "x"}
    assert errors["email"] == [auth_errors.EMAIL_TAKEN]


def test_get_me_without_the_slash_is_a_json_redirect_to_the_briefs_url(gateway, login):
    access = login()["access_token"]

    response = gateway.get("/api/me", headers=bearer(access))

    assert (response.status_code, response.headers["Location"]) == (301, "/api/me/")
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"detail": auth_errors.MOVED_TO_SLASH.format(path="/api/me/")}


def test_a_client_that_follows_redirects_gets_me_without_the_slash(stack, login):
    access = login()["access_token"]

    with httpx.Client(base_url=stack.url, follow_redirects=True, timeout=30) as client:
        response = client.get("/api/me", headers=bearer(access))

    assert response.status_code == 200
    assert set(response.json()) == {"id", "username", "email"}


def test_a_post_without_the_slash_is_a_json_404_naming_the_url(gateway):
    response = gateway.post("/api/login", json={"email": "a@example.com", "password": PASSWORD})

    assert response.status_code == 404
    assert response.json() == {
        "detail": auth_errors.NOT_FOUND_WITHOUT_SLASH.format(path="/api/login")
    }

"""CORS (django-cors-headers, config/settings.py): browser apps on CORS_ALLOWED_ORIGINS may
call /api/; every other origin gets no Access-Control-Allow-Origin; none by default."""

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ALLOWED = "https://app.example"
REFUSED = "https://elsewhere.example"


def preflight(client, origin: str, path: str = "/api/login/"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,authorization",
    )


def login(client, origin: str):
    return client.post(
        "/api/login/",
        {"email": "player@example.com", "password": PASSWORD},
        format="json",
        HTTP_ORIGIN=origin,
    )


@pytest.fixture
def allowlist(settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


@pytest.mark.usefixtures("allowlist")
def test_a_preflight_from_an_allowed_origin_allows_json_and_the_authorization_header(
    api_client,
):
    response = preflight(api_client, ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = response["Access-Control-Allow-Headers"]
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert "POST" in response["Access-Control-Allow-Methods"]


@pytest.mark.usefixtures("allowlist")
def test_a_preflight_from_another_origin_gets_no_allow_origin(api_client):
    response = preflight(api_client, REFUSED)

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.usefixtures("allowlist")
def test_a_login_from_an_allowed_origin_may_be_read_by_it(api_client, user):
    response = login(api_client, ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "Access-Control-Allow-Credentials" not in response  # tokens, not cookies
    assert "WWW-Authenticate" in response["Access-Control-Expose-Headers"]


@pytest.mark.usefixtures("allowlist")
def test_a_login_from_another_origin_gets_no_allow_origin(api_client, user):
    response = login(api_client, REFUSED)

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.usefixtures("allowlist")
def test_the_admin_is_never_open_to_other_origins(api_client):
    response = preflight(api_client, ALLOWED, path="/admin/login/")

    assert "Access-Control-Allow-Origin" not in response


def test_no_origin_is_allowed_by_default(api_client, user):
    assert "Access-Control-Allow-Origin" not in preflight(api_client, ALLOWED)
    assert "Access-Control-Allow-Origin" not in login(api_client, ALLOWED)

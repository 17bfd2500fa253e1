"""CORS (app.main.CORSFromSettings): browser apps on SCORE_CORS_ALLOWED_ORIGINS may call
/score, every other origin gets no Access-Control-Allow-Origin; none by default."""

import pytest
from fastapi.testclient import TestClient

from app import errors
from app.main import create_app
from app.settings import Settings
from tests.conftest import settings_of

ALLOWED = "https://app.example"
REFUSED = "https://elsewhere.example"


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }


def with_origins(value: str) -> Settings:
    """The test settings (EdDSA), with SCORE_CORS_ALLOWED_ORIGINS as the environment gives it."""
    given = settings_of("EdDSA").model_dump(exclude={"JWT_SECRET", "SCORE_CORS_ALLOWED_ORIGINS"})
    return Settings(**given, SCORE_CORS_ALLOWED_ORIGINS=value)


@pytest.fixture(scope="module")
def cors_client():
    with TestClient(create_app(with_origins(ALLOWED))) as client:
        yield client


def test_a_preflight_from_an_allowed_origin_allows_the_authorization_header(cors_client):
    response = cors_client.options("/score", headers=preflight(ALLOWED))

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_a_preflight_from_another_origin_is_a_json_400_without_allow_origin(cors_client):
    response = cors_client.options("/score", headers=preflight(REFUSED))

    assert (response.status_code, response.json()) == (400, {"detail": errors.CORS_REFUSED})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("first_use", [True, False], ids=["route", "fast-path"])
def test_a_request_from_an_allowed_origin_may_be_read_by_it(cors_client, make_token, first_use):
    token = make_token()
    if not first_use:
        cors_client.get("/score?offset=1", headers={"Authorization": f"Bearer {token}"})

    response = cors_client.get(
        "/score?offset=1", headers={"Origin": ALLOWED, "Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


def test_a_request_from_another_origin_gets_no_allow_origin(cors_client, make_token):
    response = cors_client.get(
        "/score?offset=1", headers={"Origin": REFUSED, "Authorization": f"Bearer {make_token()}"}
    )

    assert response.status_code == 200  # served; the browser keeps it from the page
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_origin_is_allowed_by_default(client, make_token):
    response = client.get(
        "/score?offset=1", headers={"Origin": ALLOWED, "Authorization": f"Bearer {make_token()}"}
    )
    preflight_response = client.options("/score", headers=preflight(ALLOWED))

    assert "Access-Control-Allow-Origin" not in response.headers
    assert preflight_response.status_code == 405
    assert "Access-Control-Allow-Origin" not in preflight_response.headers


@pytest.mark.parametrize(
    "value", ["*", "https://app.example/", "app.example", "https://app.example/path"]
)
def test_a_value_that_is_not_an_origin_stops_the_start(value):
    with pytest.raises(ValueError, match="is not an origin"):
        with_origins(value)


def test_origins_are_read_comma_separated_from_the_environment(monkeypatch):
    monkeypatch.setenv("SCORE_CORS_ALLOWED_ORIGINS", f"{ALLOWED}, http://localhost:5173")
    monkeypatch.setenv("JWT_PUBLIC_KEYS", settings_of("EdDSA").JWT_PUBLIC_KEYS)

    assert Settings().SCORE_CORS_ALLOWED_ORIGINS == (ALLOWED, "http://localhost:5173")

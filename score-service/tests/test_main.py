"""The HTTP interface: /score, /score/health, the docs, and the start."""

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.auth import AccessClaims
from app.deps import get_scoreboard, verify_access_token
from app.game import generate_game, get_score
from app.main import create_app
from app.scoreboard import GameFileError, scoreboard_from_stamps
from tests.conftest import PUBLIC_KEYS

SERVICE_DIR = Path(__file__).resolve().parents[1]
GAME = generate_game(2024)  # the game the `client` fixture serves (GAME_SEED 2024)


@pytest.fixture
def auth(make_token):
    return {"Authorization": f"Bearer {make_token()}"}


def test_score_returns_offset_home_and_away(client, auth):
    offset = GAME[-1]["offset"] // 2

    response = client.get("/score", params={"offset": offset}, headers=auth)

    assert response.status_code == 200
    assert response.json() == dict(
        zip(("offset", "home", "away"), (offset, *get_score(GAME, offset)), strict=True)
    )


def test_score_matches_get_score_around_every_goal(client, auth):
    offsets = [
        b["offset"] + d for a, b in pairwise(GAME) if a["score"] != b["score"] for d in (-1, 0)
    ]

    served = [client.get("/score", params={"offset": o}, headers=auth).json() for o in offsets]

    assert [(s["home"], s["away"]) for s in served] == [get_score(GAME, o) for o in offsets]


def test_score_at_offset_zero_is_the_initial_score(client, auth):
    response = client.get("/score", params={"offset": 0}, headers=auth)

    assert response.json() == {"offset": 0, "home": 0, "away": 0}


def test_score_past_the_end_is_the_final_score(client, auth):
    final = GAME[-1]["score"]

    response = client.get("/score", params={"offset": 10**12}, headers=auth)

    assert response.json() == {"offset": 10**12, **final}


def test_missing_offset_is_422(client, auth):
    response = client.get("/score", headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


@pytest.mark.parametrize("offset", ["abc", "1.5", "1.0", "", " 7", "+7", "1e3"])
def test_non_integer_offset_is_422(client, auth, offset):
    response = client.get("/score", params={"offset": offset}, headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


def test_negative_offset_is_422(client, auth):
    response = client.get("/score", params={"offset": -1}, headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


def test_offset_given_twice_is_422(client, auth):
    response = client.get("/score", params=[("offset", 1), ("offset", 2)], headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["query", "offset"],
            "msg": "offset must be given once",
            "input": ["1", "2"],
        }
    ]


def test_a_missing_token_is_checked_before_the_offset(client):
    assert client.get("/score", params={"offset": "abc"}).status_code == 401


@pytest.mark.parametrize("query", ["offset=0", "offset=1000", "offset=007", "offset=10&x=1"])
def test_a_token_used_again_gets_the_same_response(client, auth, query):
    first = client.get(f"/score?{query}", headers=auth)

    again = client.get(f"/score?{query}", headers=auth)

    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert again.headers["content-length"] == first.headers["content-length"]


@pytest.mark.parametrize(
    "query", ["", "offset=abc", "offset=-1", "offset=%2B7", "offset=1&offset=1", "offset="]
)
def test_a_token_used_before_gets_the_same_422_as_a_new_one(client, make_token, query):
    used = {"Authorization": f"Bearer {make_token()}"}
    assert client.get("/score?offset=1", headers=used).status_code == 200
    fresh = {"Authorization": f"Bearer {make_token()}"}

    again = client.get(f"/score?{query}", headers=used)

    assert again.status_code == 422
    assert again.json() == client.get(f"/score?{query}", headers=fresh).json()


def test_a_token_used_before_is_refused_with_another_scheme(client, make_token):
    token = make_token()
    assert client.get("/score?offset=1", headers={"Authorization": f"Bearer {token}"}).is_success

    response = client.get("/score?offset=1", headers={"Authorization": f"Token {token}"})

    assert response.status_code == 401
    assert response.json() == {"detail": "Authorization header must be 'Bearer <token>'."}


def test_health_needs_no_token_and_describes_the_game(client):
    response = client.get("/score/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "stamps": len(GAME),
        "final_offset": GAME[-1]["offset"],
    }


@pytest.mark.parametrize("path", ["/score/health", "/score/docs", "/score/openapi.json"])
def test_head_gets_the_get_headers_without_a_body(client, path):
    got = client.get(path)

    head = client.head(path)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]


def test_head_of_score_answers_for_a_new_and_a_cached_token(client, make_token):
    auth = {"Authorization": f"Bearer {make_token()}"}

    statuses = [client.head("/score?offset=5", headers=auth).status_code for _ in range(2)]

    assert statuses == [200, 200]


def test_head_of_score_without_a_token_is_a_401(client):
    response = client.head("/score?offset=5")

    assert (response.status_code, response.content) == (401, b"")


def test_openapi_declares_the_bearer_scheme_on_score(client):
    schema = client.get("/score/openapi.json").json()

    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from the auth service's /api/login/ or /api/refresh/.",
    }
    assert schema["paths"]["/score"]["get"]["security"] == [{"HTTPBearer": []}]


def test_openapi_documents_offset_as_a_non_negative_integer(client):
    schema = client.get("/score/openapi.json").json()

    (parameter,) = schema["paths"]["/score"]["get"]["parameters"]
    assert (parameter["name"], parameter["required"], parameter["schema"]["type"]) == (
        "offset",
        True,
        "integer",
    )
    assert parameter["schema"]["minimum"] == 0


def test_openapi_documents_the_detail_body_of_a_401(client):
    schema = client.get("/score/openapi.json").json()

    content = schema["paths"]["/score"]["get"]["responses"]["401"]["content"]
    body = content["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ErrorDetail"}
    assert schema["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


def test_docs_page_references_no_external_host(client):
    html = client.get("/score/docs").text
    parser = _Links()
    parser.feed(html)

    assert parser.links, "the page loads its assets"
    assert all(link.startswith("/score/") for link in parser.links)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE)


def test_docs_assets_are_served_by_the_service(client):
    parser = _Links()
    parser.feed(client.get("/score/docs").text)

    assert {client.get(link).status_code for link in parser.links} == {200}


def test_docs_page_points_swagger_ui_at_the_openapi_document(client):
    assert "url: '/score/openapi.json'" in client.get("/score/docs").text


def test_game_file_is_served_instead_of_the_generated_game(settings, tmp_path, make_token):
    game_file = tmp_path / "game.json"
    game_file.write_text(
        json.dumps(
            [
                {"offset": 0, "score": {"home": 0, "away": 0}},
                {"offset": 3, "score": {"home": 0, "away": 1}},
            ]
        )
    )
    app = create_app(settings.model_copy(update={"GAME_FILE": game_file}))

    with TestClient(app) as client:
        response = client.get(
            "/score", params={"offset": 4}, headers={"Authorization": f"Bearer {make_token()}"}
        )

    assert response.json() == {"offset": 4, "home": 0, "away": 1}


def test_an_overridden_scoreboard_is_served_to_a_new_and_a_cached_token(settings, make_token):
    app = create_app(settings)
    app.dependency_overrides[get_scoreboard] = lambda: scoreboard_from_stamps(
        [{"offset": 0, "score": {"home": 3, "away": 2}}]
    )
    auth = {"Authorization": f"Bearer {make_token()}"}

    with TestClient(app) as client:
        served = [client.get("/score?offset=5", headers=auth).json() for _ in range(2)]

    assert served == [{"offset": 5, "home": 3, "away": 2}] * 2


def test_overridden_claims_let_score_answer_without_a_token(settings):
    app = create_app(settings)
    app.dependency_overrides[verify_access_token] = lambda: AccessClaims(
        sub="7", jti="a-jti", iat=0, exp=0
    )

    with TestClient(app) as client:
        response = client.get("/score?offset=0")

    assert (response.status_code, response.json()) == (200, {"offset": 0, "home": 0, "away": 0})


def test_broken_game_file_stops_the_start(settings, tmp_path):
    game_file = tmp_path / "game.json"
    game_file.write_text("[]")
    app = create_app(settings.model_copy(update={"GAME_FILE": game_file}))

    with (
        pytest.raises(GameFileError, match=r"^GAME_FILE .*game\.json: the game has no stamps$"),
        TestClient(app),
    ):
        pass


def test_uvicorn_exits_with_the_game_file_problem_when_it_is_broken(tmp_path):
    game_file = tmp_path / "game.json"
    game_file.write_text('[{"offset": 0, "score": {"home": 0, "away": 0}}, {"offset": 0}]')
    env = {"JWT_PUBLIC_KEYS": PUBLIC_KEYS, "GAME_FILE": str(game_file), "PATH": ""}

    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert f'GAME_FILE {game_file}: stamp 1: expected {{"offset": int' in result.stderr
    assert "Application startup failed. Exiting." in result.stderr


def test_uvicorn_exits_when_public_keys_are_missing():
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"],
        cwd=SERVICE_DIR,
        env={"PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert (
        "app.settings.SettingsError: bad settings: JWT_PUBLIC_KEYS is required with "
        "JWT_ALGORITHM=EdDSA" in result.stderr
    )

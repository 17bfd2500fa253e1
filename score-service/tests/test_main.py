"""The HTTP interface: /score, /score/health, the docs, and the start."""

import inspect
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

import token_contract_cases
from app import errors, main, routes
from app.auth import AccessClaims
from app.deps import get_scoreboard, verify_access_token
from app.game import generate_game, get_score
from app.main import create_app
from app.scoreboard import GameFileError, scoreboard_from_stamps
from tests.conftest import PUBLIC_KEYS

SERVICE_DIR = Path(__file__).resolve().parents[1]
GAME = generate_game(2024)  # the game the `client` fixture serves (GAME_SEED 2024)


@pytest.fixture(scope="module")
def route_client(settings):
    """The app without ScoreFastPath: every /score through FastAPI's route."""
    with TestClient(create_app(settings, score_fast_path=False)) as client:
        yield client


@dataclass(frozen=True)
class ScoreCase:
    """A GET /score and what the route answers: ``body`` in full (None: any).
    ``authorization`` formats the request's token."""

    name: str
    query: str
    status: int
    body: dict | None = None
    authorization: str | None = "Bearer {token}"


def _served(name: str, offset: int, query: str = "") -> ScoreCase:
    """A case answered with get_score's score at ``offset``."""
    home, away = get_score(GAME, offset)
    body = {"offset": offset, "home": home, "away": away}
    return ScoreCase(name, query or f"offset={offset}", 200, body)


def _offset_refused(name: str, text: str, message: str = errors.NOT_AN_INTEGER) -> ScoreCase:
    """A case answered 400 `{"offset": [message]}`, the auth service's shape and words."""
    return ScoreCase(f"offset_{name}_is_400", f"offset={quote(text)}", 400, {"offset": [message]})


NOT_AN_OFFSET = {
    "letters": "abc",
    "a_fraction": "1.5",
    "a_float": "1.0",
    "empty": "",
    "a_leading_space": " 7",
    "a_plus_sign": "+7",
    "an_exponent": "1e3",
    "a_lone_minus_sign": "-",
}
GOALS = [b["offset"] for a, b in pairwise(GAME) if a["score"] != b["score"]]
# Every /score the route's tests make; test_the_fast_path_answers_each_case_as_the_route sends
# them all again with a token already verified, so a rule the fast path missed fails there.
SCORE_CASES = [
    _served("score_mid_game", GAME[-1]["offset"] // 2),
    *(_served(f"score_just_before_goal_{n}", offset - 1) for n, offset in enumerate(GOALS)),
    *(_served(f"score_at_goal_{n}", offset) for n, offset in enumerate(GOALS)),
    ScoreCase(
        "offset_zero_is_the_initial_score", "offset=0", 200, {"offset": 0, "home": 0, "away": 0}
    ),
    ScoreCase(
        "past_the_end_is_the_final_score",
        f"offset={10**12}",
        200,
        {"offset": 10**12, **GAME[-1]["score"]},
    ),
    ScoreCase(
        "past_64_bits_is_the_final_score",
        f"offset={10**30}",
        200,
        {"offset": 10**30, **GAME[-1]["score"]},
    ),
    _served("leading_zeros_are_decimal", 7, "offset=007"),
    _served("other_parameters_are_ignored", 10, "offset=10&x=1"),
    ScoreCase("missing_offset_is_400", "", 400, {"offset": [errors.REQUIRED]}),
    ScoreCase(
        "missing_offset_beside_another_parameter_is_400", "x=1", 400, {"offset": [errors.REQUIRED]}
    ),
    *(_offset_refused(name, text) for name, text in NOT_AN_OFFSET.items()),
    _offset_refused("negative", "-1", errors.AT_LEAST.format(ge=0)),
    _offset_refused("over_4300_digits", "9" * 4301, errors.TOO_LONG),
    ScoreCase(
        "offset_given_twice_is_400", "offset=1&offset=2", 400, {"offset": [errors.GIVEN_TWICE]}
    ),
    ScoreCase(
        "offset_given_twice_alike_is_400",
        "offset=1&offset=1",
        400,
        {"offset": [errors.GIVEN_TWICE]},
    ),
    ScoreCase(
        "a_missing_token_is_checked_before_the_offset",
        "offset=abc",
        401,
        {"detail": "Authentication credentials were not provided."},
        authorization=None,
    ),
    ScoreCase(
        "a_known_token_under_another_scheme_is_401",
        "offset=1",
        401,
        {"detail": "Authorization header must be 'Bearer <token>'."},
        authorization="Token {token}",
    ),
]


def score_get(client, case: ScoreCase, token: str):
    authorization = case.authorization and case.authorization.format(token=token)
    return client.get(
        f"/score?{case.query}", headers={"Authorization": authorization} if authorization else {}
    )


@pytest.mark.parametrize("case", SCORE_CASES, ids=lambda case: case.name)
def test_score_answers_each_case(route_client, make_token, case):
    response = score_get(route_client, case, make_token())

    assert response.status_code == case.status
    if case.body is not None:
        assert response.json() == case.body
    if case.status == 401:
        refusal = token_contract_cases.Case(case.name, case.body["detail"])
        assert response.headers["WWW-Authenticate"] == token_contract_cases.case_www_authenticate(
            refusal, realm=route_client.app.state.settings.JWT_AUDIENCE
        )


@pytest.mark.parametrize("case", SCORE_CASES, ids=lambda case: case.name)
def test_the_fast_path_answers_each_case_as_the_route(
    client, route_client, make_token, monkeypatch, case
):
    token = make_token()
    assert client.get("/score?offset=1", headers={"Authorization": f"Bearer {token}"}).is_success
    answered = []

    async def score_read_cached(request):
        answered.append(response := await routes.score_read_cached(request))
        return response

    monkeypatch.setattr(main, "score_read_cached", score_read_cached)

    fast = score_get(client, case, token)

    route = score_get(route_client, case, token)
    assert (fast.status_code, fast.headers.items(), fast.content) == (
        route.status_code,
        route.headers.items(),
        route.content,
    )
    # Only the successes: every refusal is the route's own.
    assert [response is not None for response in answered] == [case.status == 200]


def test_the_fast_path_passes_every_parameter_of_the_route():
    # score_read_cached calls score_read with these; a new parameter would be ignored there.
    assert list(inspect.signature(routes.score_read).parameters) == [
        "request",
        "claims",
        "offset",
        "scoreboard",
    ]


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


def test_openapi_names_each_operation_after_its_route(client):
    schema = client.get("/score/openapi.json").json()

    operation_ids = {path: item["get"]["operationId"] for path, item in schema["paths"].items()}
    assert operation_ids == {"/score": "score_read", "/score/health": "health_read"}


def test_openapi_tags_each_operation_with_a_described_tag(client):
    schema = client.get("/score/openapi.json").json()

    assert [tag["name"] for tag in schema["tags"]] == ["score", "service"]
    assert all(tag["description"] for tag in schema["tags"])
    assert schema["paths"]["/score"]["get"]["tags"] == ["score"]
    assert schema["paths"]["/score/health"]["get"]["tags"] == ["service"]


def test_openapi_says_what_score_needs(client):
    description = client.get("/score/openapi.json").json()["paths"]["/score"]["get"]["description"]

    assert "`Authorization: Bearer <access_token>`" in description


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_openapi_401_examples_hold_what_the_service_answers(client, headers):
    responses = client.get("/score/openapi.json").json()["paths"]["/score"]["get"]["responses"]
    examples = responses["401"]["content"]["application/json"]["examples"]

    answer = client.get("/score?offset=1", headers=headers)

    assert answer.status_code == 401
    assert answer.json() in [example["value"] for example in examples.values()]


def test_openapi_describes_the_400_of_a_refused_offset(client):
    response = client.get("/score/openapi.json").json()["paths"]["/score"]["get"]["responses"][
        "400"
    ]

    assert "`offset` is missing" in response["description"]


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


def test_an_unknown_path_is_a_404_in_the_auth_services_words(client):
    response = client.get("/score/no-such-page")

    assert (response.status_code, response.json()) == (404, {"detail": errors.NOT_FOUND})


def test_a_wrong_method_is_a_405_in_the_auth_services_words(client):
    response = client.post("/score/health")

    assert response.status_code == 405
    assert response.json() == {"detail": errors.METHOD_NOT_ALLOWED.format(method="POST")}
    assert response.headers["Allow"] == "GET"


def test_openapi_documents_the_400_of_refused_input_and_no_422(client):
    schema = client.get("/score/openapi.json").json()

    responses = schema["paths"]["/score"]["get"]["responses"]
    assert sorted(responses) == ["200", "400", "401"]
    assert responses["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FieldErrors"
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]

"""One token contract: the vendored module is the same file in both services, and the shared
table of cases gets the same answer from /api/me/ and /score through nginx."""

import json

import jwt
import pytest

import token_contract_cases as cases
from conftest import claims
from devstack import ROOT

AUTH_COPY = ROOT / "auth-service" / "accounts" / "token_contract.py"
SCORE_COPY = ROOT / "score-service" / "app" / "token_contract.py"


def test_the_token_contract_is_the_same_file_in_both_services():
    assert AUTH_COPY.read_bytes() == SCORE_COPY.read_bytes()


@pytest.fixture(scope="module")
def user_sub(gateway, stack) -> str:
    email = "contract@example.com"
    gateway.post("/api/register/", json={"email": email, "password": "Correct-horse-battery-9"})
    tokens = gateway.post(
        "/api/login/", json={"email": email, "password": "Correct-horse-battery-9"}
    ).json()
    return claims(tokens["access_token"])["sub"]


@pytest.mark.parametrize("case", cases.CASES, ids=lambda case: case.name)
def test_both_services_answer_each_case_of_the_token_contract_alike(gateway, stack, user_sub, case):
    settings = stack.settings
    token = cases.case_token(
        case,
        signing_key=jwt.PyJWK(json.loads(settings["JWT_PRIVATE_KEY"]), algorithm="EdDSA"),
        issuer=settings["JWT_ISSUER"],
        audience=settings["JWT_AUDIENCE"],
        sub=user_sub,
    )
    well_formed = {"Authorization": f"Bearer {token}"}
    gateway.get("/score", params={"offset": 0}, headers=well_formed)  # into score's cache
    headers = cases.case_header(case, token)

    me = gateway.get("/api/me/", headers=headers)
    score = gateway.get("/score", params={"offset": 0}, headers=headers)

    expected = (200, 200) if case.detail is None else (401, 401)
    assert (me.status_code, score.status_code) == expected
    if case.detail is not None:
        assert me.json() == score.json() == {"detail": case.detail}

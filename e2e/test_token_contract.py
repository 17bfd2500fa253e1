"""One token contract: the vendored modules are the same files in both services, and the
shared table of cases gets the same answer from /api/me/ and /score through nginx, in both
signing modes."""

import json

import jwt
import pytest

import token_contract_cases as cases
from conftest import claims
from devstack import ROOT

VENDORED = ("token_contract.py", "token_cache.py")


@pytest.mark.parametrize("name", VENDORED)
def test_a_vendored_module_is_the_same_file_in_both_services(name):
    auth_copy = ROOT / "auth-service" / "accounts" / name
    score_copy = ROOT / "score-service" / "app" / name

    assert auth_copy.read_bytes() == score_copy.read_bytes()


@pytest.fixture(scope="module")
def user_sub(gateway, stack) -> str:
    email = "contract@example.com"
    gateway.post("/api/register/", json={"email": email, "password": "Correct-horse-battery-9"})
    tokens = gateway.post(
        "/api/login/", json={"email": email, "password": "Correct-horse-battery-9"}
    ).json()
    return claims(tokens["access_token"])["sub"]


@pytest.mark.parametrize(("mode", "case"), cases.MODE_CASES, ids=cases.MODE_CASE_IDS)
def test_both_services_answer_each_case_of_the_token_contract_alike(
    request, gateway, stack, user_sub, mode, case
):
    # The HS256 stack shares the EdDSA stack's database, so the user exists in both.
    running = stack if mode == "EdDSA" else request.getfixturevalue("hs256_stack")
    settings = running.settings
    key = (
        jwt.PyJWK(json.loads(settings["JWT_PRIVATE_KEY"]), algorithm="EdDSA")
        if mode == "EdDSA"
        else settings["JWT_SECRET"]
    )
    token = cases.case_token(
        case,
        key=key,
        issuer=settings["JWT_ISSUER"],
        audience=settings["JWT_AUDIENCE"],
        sub=user_sub,
        leeway=int(settings["JWT_LEEWAY"]),
    )
    url = running.url
    well_formed = {"Authorization": f"Bearer {token}"}
    gateway.get(f"{url}/score", params={"offset": 0}, headers=well_formed)  # into score's cache
    headers = cases.case_header(case, token)

    me = gateway.get(f"{url}/api/me/", headers=headers)
    score = gateway.get(f"{url}/score", params={"offset": 0}, headers=headers)

    expected = (200, 200) if case.detail is None else (401, 401)
    assert (me.status_code, score.status_code) == expected
    if case.detail is not None:
        assert me.json() == score.json() == {"detail": case.detail}
        # Through nginx as the services send it: the gateway neither drops nor rewrites it.
        expected = cases.case_www_authenticate(case, realm=settings["JWT_AUDIENCE"])
        assert me.headers["WWW-Authenticate"] == score.headers["WWW-Authenticate"] == expected

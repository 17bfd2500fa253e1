"""The shared table of token and header cases (e2e/token_contract_cases.py), as GET /score
answers it: the route for a first use, the fast path for a token already verified."""

import importlib.util
import sys
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from jwt.algorithms import OKPAlgorithm

from app.main import create_app
from tests.conftest import KID, PRIVATE_KEY, settings_of


def _cases_module():
    path = Path(__file__).resolve().parents[2] / "e2e" / "token_contract_cases.py"
    spec = importlib.util.spec_from_file_location("token_contract_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["token_contract_cases"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cases = _cases_module()
SIGNING_KEY = jwt.PyJWK(
    {**OKPAlgorithm.to_jwk(PRIVATE_KEY, as_dict=True), "kid": KID}, algorithm="EdDSA"
)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(settings_of("EdDSA"))) as client:
        yield client


@pytest.mark.parametrize("case", cases.CASES, ids=lambda case: case.name)
def test_score_answers_each_case_of_the_shared_token_contract(client, case):
    settings = settings_of("EdDSA")
    token = cases.case_token(
        case,
        signing_key=SIGNING_KEY,
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        sub="7",
    )
    # A well-formed request first, so that an accepted token is in the verified-token cache
    # and the case's own requests could be answered by the fast path.
    client.get("/score", params={"offset": 0}, headers={"Authorization": f"Bearer {token}"})

    responses = [
        client.get("/score", params={"offset": 0}, headers=cases.case_header(case, token))
        for _ in range(2)
    ]

    for response in responses:
        if case.detail is None:
            assert response.status_code == 200
        else:
            assert (response.status_code, response.json()) == (401, {"detail": case.detail})
            assert response.headers["WWW-Authenticate"] == "Bearer"

"""The shared table of token and header cases (e2e/token_contract_cases.py), as GET /api/me/
answers it."""

import importlib.util
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def _cases_module():
    path = Path(__file__).resolve().parents[2] / "e2e" / "token_contract_cases.py"
    spec = importlib.util.spec_from_file_location("token_contract_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["token_contract_cases"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cases = _cases_module()


@pytest.mark.parametrize("case", cases.CASES, ids=lambda case: case.name)
def test_me_answers_each_case_of_the_shared_token_contract(api_client, user, case):
    token = cases.case_token(
        case,
        signing_key=settings.JWT_SIGNING_KEY,
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        sub=str(user.pk),
    )
    # A well-formed request first, so that an accepted token is in the verified-token cache.
    api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    header = cases.case_header(case, token)

    response = api_client.get("/api/me/", headers=header)

    if case.detail is None:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.json()) == (401, {"detail": case.detail})
        assert response["WWW-Authenticate"] == "Bearer"

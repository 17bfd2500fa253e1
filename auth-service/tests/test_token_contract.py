"""The shared table of token and header cases (e2e/token_contract_cases.py), as GET /api/me/
answers it in both signing modes."""

import pytest
from django.conf import settings

import token_contract_cases as cases

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("jwt_mode", "case"), cases.MODE_CASES, ids=cases.MODE_CASE_IDS, indirect=["jwt_mode"]
)
def test_me_answers_each_case_of_the_shared_token_contract(api_client, user, jwt_mode, case):
    token = cases.case_token(
        case,
        key=settings.JWT_SIGNING_KEY if jwt_mode == "EdDSA" else settings.JWT_SECRET,
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        sub=str(user.pk),
        leeway=settings.JWT_LEEWAY,
    )
    # A well-formed request first, so that an accepted token is in the verified-token cache.
    api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    header = cases.case_header(case, token)

    response = api_client.get("/api/me/", headers=header)

    if case.detail is None:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.json()) == (401, {"detail": case.detail})
        assert response["WWW-Authenticate"] == cases.case_www_authenticate(
            case, realm=settings.JWT_AUDIENCE
        )

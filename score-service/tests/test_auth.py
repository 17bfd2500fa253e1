"""app/auth.py: what the score service makes of a verified token. Every refusal and every
accepted form of the header is a case of the shared table (tests/test_token_contract.py)."""

import json
import time

import pytest
from fastapi.testclient import TestClient
from jwt.algorithms import OKPAlgorithm
from pydantic import SecretStr

from app.auth import AccessClaims, access_token_decode
from app.main import create_app
from app.settings import Settings
from tests.conftest import KID, another_key, settings_of


@pytest.fixture(scope="module", params=["EdDSA", "HS256"])
def settings(request):
    """Every test here runs in both modes: EdDSA (the default) and HS256."""
    return settings_of(request.param)


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def score_with(client, token):
    return client.get("/score", params={"offset": 10}, headers={"Authorization": f"Bearer {token}"})


def test_access_token_decode_returns_the_tokens_claims(settings, make_token):
    now = int(time.time())
    token = make_token(sub="7", jti="abc", iat=now, exp=now + 30, nbf=now - 1)

    claims = access_token_decode(token, settings=settings)

    assert claims == AccessClaims(sub="7", jti="abc", iat=now, exp=now + 30, nbf=now - 1)


def test_a_token_accepted_by_one_app_is_refused_by_an_app_with_another_key(
    client, settings, make_token
):
    token = make_token()
    assert score_with(client, token).status_code == 200
    key = another_key(settings)
    if settings.JWT_ALGORITHM == "EdDSA":
        jwk = {**OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": KID}
        update = {"JWT_PUBLIC_KEYS": json.dumps({"keys": [jwk]})}
    else:
        update = {"JWT_SECRET": SecretStr(key)}
    other_settings = Settings(**{**settings.model_dump(), **update})

    with TestClient(create_app(other_settings)) as other_client:
        response = score_with(other_client, token)

    assert (response.status_code, response.json()) == (401, {"detail": "Token is invalid."})

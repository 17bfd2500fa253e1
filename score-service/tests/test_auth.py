"""Access-token verification, through GET /score as a client sees it."""

import json
import time

import jwt
import pytest
from fastapi.testclient import TestClient
from jwt.algorithms import OKPAlgorithm
from pydantic import SecretStr

from app.auth import AccessClaims, access_token_decode
from app.main import create_app
from app.settings import Settings
from app.token_contract import REQUIRED_CLAIMS
from tests.conftest import KID, another_key, hs256_keyed_with_public_key, settings_of


@pytest.fixture(scope="module", params=["EdDSA", "HS256"])
def settings(request):
    """Every test here runs in both modes: EdDSA (the default) and HS256."""
    return settings_of(request.param)


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def score_with(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/score", params={"offset": 10}, headers=headers)


def assert_rejected(response, detail):
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": detail}


def test_valid_access_token_is_accepted(client, make_token):
    response = score_with(client, f"Bearer {make_token()}")

    assert response.status_code == 200


def test_bearer_scheme_is_case_insensitive(client, make_token):
    response = score_with(client, f"bearer {make_token()}")

    assert response.status_code == 200


def test_access_token_decode_returns_the_tokens_claims(settings, make_token):
    now = int(time.time())
    token = make_token(sub="7", jti="abc", iat=now, exp=now + 30)

    claims = access_token_decode(token, settings=settings)

    assert claims == AccessClaims(sub="7", jti="abc", iat=now, exp=now + 30)


def test_missing_authorization_header_is_rejected(client):
    assert_rejected(score_with(client, None), "Authentication credentials were not provided.")


def test_non_bearer_authorization_header_is_rejected(client):
    response = score_with(client, "Basic dXNlcjpwYXNz")

    assert_rejected(response, "Authorization header must be 'Bearer <token>'.")


def test_bearer_header_without_a_token_is_rejected(client):
    assert_rejected(score_with(client, "Bearer"), "Authorization header must be 'Bearer <token>'.")


def test_garbled_token_is_rejected(client):
    assert_rejected(score_with(client, "Bearer not.a-jwt"), "Token is invalid.")


def test_token_with_a_tampered_signature_is_rejected(client, make_token):
    header, payload, signature = make_token().split(".")
    tampered = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")

    response = score_with(client, f"Bearer {header}.{payload}.{tampered}")

    assert_rejected(response, "Token is invalid.")


def test_token_with_a_tampered_payload_is_rejected(client, make_token):
    _, _, signature = make_token(sub="1").split(".")
    header, payload, _ = make_token(sub="2").split(".")

    response = score_with(client, f"Bearer {header}.{payload}.{signature}")

    assert_rejected(response, "Token is invalid.")


def test_token_signed_with_another_key_is_rejected(client, settings, make_token):
    # With EdDSA: another Ed25519 key under the known kid.
    response = score_with(client, f"Bearer {make_token(key=another_key(settings))}")

    assert_rejected(response, "Token is invalid.")


def test_hs256_token_keyed_with_the_public_key_is_rejected(client, settings, make_token):
    claims = jwt.decode(make_token(), options={"verify_signature": False})
    response = score_with(client, f"Bearer {hs256_keyed_with_public_key(claims)}")

    if settings.JWT_ALGORITHM == "EdDSA":
        assert_rejected(response, "Token is invalid.")
    else:  # HS256 is allowed, but the public key is not the secret
        assert_rejected(response, "Token is invalid.")


def test_unsigned_alg_none_token_is_rejected(client, make_token):
    response = score_with(client, f"Bearer {make_token(key=None, algorithm='none')}")

    assert_rejected(response, "Token is invalid.")


def test_token_signed_with_another_hmac_algorithm_is_rejected(client, make_token):
    # HS512 is not JWT_ALGORITHM: the algorithm list is pinned.
    response = score_with(client, f"Bearer {make_token(key='k' * 64, algorithm='HS512')}")

    assert_rejected(response, "Token is invalid.")


def test_expired_token_is_rejected(client, make_token):
    now = int(time.time())

    response = score_with(client, f"Bearer {make_token(iat=now - 60, exp=now - 6)}")

    assert_rejected(response, "Token has expired.")


def test_token_expired_within_the_leeway_is_accepted(client, make_token):
    now = int(time.time())

    response = score_with(client, f"Bearer {make_token(iat=now - 60, exp=now - 2)}")

    assert response.status_code == 200


def test_token_with_nbf_in_the_future_beyond_the_leeway_is_rejected(client, make_token):
    response = score_with(client, f"Bearer {make_token(nbf=int(time.time()) + 60)}")

    assert_rejected(response, "Token is invalid.")


def test_token_with_nbf_in_the_future_within_the_leeway_is_accepted(client, make_token):
    response = score_with(client, f"Bearer {make_token(nbf=int(time.time()) + 2)}")

    assert response.status_code == 200


def test_token_with_iat_in_the_future_beyond_the_leeway_is_rejected(client, make_token):
    now = int(time.time())

    response = score_with(client, f"Bearer {make_token(iat=now + 60, exp=now + 90)}")

    assert_rejected(response, "Token is invalid.")


def test_token_from_another_issuer_is_rejected(client, make_token):
    response = score_with(client, f"Bearer {make_token(iss='someone-else')}")

    assert_rejected(response, "Token is invalid.")


def test_token_for_another_audience_is_rejected(client, make_token):
    response = score_with(client, f"Bearer {make_token(aud='another-platform')}")

    assert_rejected(response, "Token is invalid.")


def test_token_whose_audience_is_a_list_is_rejected(client, make_token):
    response = score_with(client, f"Bearer {make_token(aud=['game-platform', 'other'])}")

    assert_rejected(response, "Token is invalid.")


def test_refresh_token_type_is_rejected(client, make_token):
    response = score_with(client, f"Bearer {make_token(token_type='refresh')}")

    assert_rejected(response, "Token is invalid.")


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_token_without_a_required_claim_is_rejected(client, make_token, claim):
    response = score_with(client, f"Bearer {make_token(**{claim: None})}")

    assert_rejected(response, "Token is invalid.")


def test_token_with_a_non_string_subject_is_rejected(client, make_token):
    response = score_with(client, f"Bearer {make_token(sub=42)}")

    assert_rejected(response, "Token is invalid.")


def test_a_token_accepted_by_one_app_is_refused_by_an_app_with_another_key(
    client, settings, make_token
):
    token = make_token()
    assert score_with(client, f"Bearer {token}").status_code == 200
    key = another_key(settings)
    if settings.JWT_ALGORITHM == "EdDSA":
        jwk = {**OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": KID}
        update = {"JWT_PUBLIC_KEYS": json.dumps({"keys": [jwk]})}
    else:
        update = {"JWT_SECRET": SecretStr(key)}
    other_settings = Settings(**{**settings.model_dump(), **update})

    with TestClient(create_app(other_settings)) as other_client:
        response = score_with(other_client, f"Bearer {token}")

    assert_rejected(response, "Token is invalid.")

"""accounts/tokens.py: issuing and verifying access tokens."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.conf import settings

from accounts.token_contract import REQUIRED_CLAIMS, AccessTokenError
from accounts.tokens import access_token_decode
from tests.conftest import (
    another_key,
    claims,
    hs256_keyed_with_public_key,
    issued,
    sign,
    unsigned,
)

# Every test here runs in both signing modes, EdDSA and HS256.
pytestmark = pytest.mark.usefixtures("jwt_mode")


def decode_unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_issued_token_carries_every_required_claim():
    payload = decode_unverified(issued(7))

    assert set(payload) == set(REQUIRED_CLAIMS)
    assert payload["sub"] == "7"
    assert payload["iss"] == settings.JWT_ISSUER
    assert payload["aud"] == settings.JWT_AUDIENCE
    assert payload["token_type"] == "access"


def test_issued_token_expires_after_its_lifetime():
    payload = decode_unverified(issued(7, lifetime=45))

    assert payload["exp"] - payload["iat"] == 45


def test_issued_token_header_names_the_configured_algorithm():
    token = issued(7)

    assert jwt.get_unverified_header(token)["alg"] == settings.JWT_ALGORITHM


def test_each_issued_token_has_its_own_jti():
    first = decode_unverified(issued(7))
    second = decode_unverified(issued(7))

    assert first["jti"] != second["jti"]


def test_valid_token_decodes_to_its_user_id():
    assert access_token_decode(sign(claims(42))).user_id == 42


@pytest.mark.django_db
def test_verification_makes_no_database_query(django_assert_num_queries):
    token = sign(claims(42))

    with django_assert_num_queries(0):
        access_token_decode(token)


def test_token_is_still_accepted_within_the_leeway_after_expiry():
    token = issued(1)

    with time_machine.travel(timedelta(seconds=30 + settings.JWT_LEEWAY - 1)):
        assert access_token_decode(token).user_id == 1


def test_expired_token_is_refused():
    token = issued(1)

    with (
        time_machine.travel(timedelta(seconds=30 + settings.JWT_LEEWAY + 1)),
        pytest.raises(AccessTokenError, match="expired"),
    ):
        access_token_decode(token)


def test_token_with_alg_none_is_refused():
    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(unsigned(claims(1)))


def test_token_signed_with_another_algorithm_is_refused():
    token = sign(claims(1), key="k" * 64, algorithm="HS512")

    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(token)


def test_token_signed_with_another_key_is_refused():
    # In EdDSA mode: another Ed25519 key under the active key's kid.
    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(sign(claims(1), key=another_key()))


def test_hs256_token_keyed_with_the_public_key_is_refused():
    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(hs256_keyed_with_public_key(claims(1)))


def test_tampered_token_is_refused():
    header, _, signature = sign(claims(1)).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(2)).encode()).rstrip(b"=").decode()

    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(f"{header}.{forged}.{signature}")


def test_garbage_token_is_refused():
    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode("not-a-jwt")


def test_token_with_future_nbf_is_refused():
    token = sign(claims(1, nbf=int(claims(1)["iat"]) + 60))

    with pytest.raises(AccessTokenError, match=r"^Token is invalid\.$"):
        access_token_decode(token)


def test_token_issued_in_the_future_is_refused():
    future = claims(1)["iat"] + 60

    with pytest.raises(AccessTokenError, match=r"^Token is invalid\.$"):
        access_token_decode(sign(claims(1, iat=future, exp=future + 30)))


def test_token_from_another_issuer_is_refused():
    with pytest.raises(AccessTokenError, match=r"^Token is invalid\.$"):
        access_token_decode(sign(claims(1, iss="someone-else")))


def test_token_for_another_audience_is_refused():
    with pytest.raises(AccessTokenError, match=r"^Token is invalid\.$"):
        access_token_decode(sign(claims(1, aud="another-platform")))


def test_token_of_another_type_is_refused():
    with pytest.raises(AccessTokenError, match=r"^Token is invalid\.$"):
        access_token_decode(sign(claims(1, token_type="refresh")))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_token_missing_a_required_claim_is_refused(claim):
    with pytest.raises(AccessTokenError, match=r"^Token is invalid\.$"):
        access_token_decode(sign(claims(1, **{claim: None})))


def test_token_whose_subject_is_not_a_user_id_is_refused():
    with pytest.raises(AccessTokenError, match=r"^Token is invalid\.$"):
        access_token_decode(sign(claims(1, sub="admin")))

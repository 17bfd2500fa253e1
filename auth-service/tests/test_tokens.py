"""accounts/tokens.py: issuing access tokens, and what a verified one yields. Every refusal is
a case of the shared table (tests/test_token_contract.py)."""

from datetime import UTC, datetime

import jwt
import pytest
from django.conf import settings

from accounts.token_contract import REQUIRED_CLAIMS
from accounts.tokens import AccessTokenClaims, access_token_decode
from tests.conftest import claims, issued, sign

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


def test_a_valid_token_decodes_to_its_user_session_and_times():
    payload = claims(42, sid="session-9", auth_time=1_700_000_000, nbf=1_700_000_001)

    decoded = access_token_decode(sign(payload))

    assert decoded == AccessTokenClaims(
        user_id=42,
        jti=payload["jti"],
        session_id="session-9",
        authenticated_at=datetime.fromtimestamp(1_700_000_000, UTC),
        exp=payload["exp"],
        iat=payload["iat"],
        nbf=1_700_000_001,
    )


@pytest.mark.django_db
def test_verification_makes_no_database_query(django_assert_num_queries):
    token = sign(claims(42))

    with django_assert_num_queries(0):
        access_token_decode(token)

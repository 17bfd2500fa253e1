"""accounts/tokens.py with EdDSA: the active key's kid, the published JWKS (its endpoint:
test_views.py), and the check that the public keys hold the signing key. Parsing the keys
and choosing one by kid are the token contract's (score-service/tests/test_token_contract.py
and the shared table)."""

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from jwt.algorithms import OKPAlgorithm

from accounts.token_contract import TokenKeyError
from accounts.tokens import jwks_public, signing_key_published
from tests.conftest import issued


def private_jwk(kid: str) -> dict:
    return {**OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate(), as_dict=True), "kid": kid}


def public_jwk(private: dict) -> dict:
    return {name: value for name, value in private.items() if name != "d"}


def test_issued_token_header_names_the_active_key():
    token = issued(7)

    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": "test-key-1", "typ": "JWT"}


def test_a_published_key_verifies_a_token_as_any_jose_library_would():
    token = issued(3)
    key = jwt.PyJWKSet.from_dict(jwks_public(settings.JWT_VERIFYING_KEYS))["test-key-1"]

    payload = jwt.decode(token, key, algorithms=["EdDSA"], audience=settings.JWT_AUDIENCE)

    assert payload["sub"] == "3"


def test_public_keys_missing_the_signing_kid_are_refused():
    # Another key under the signing kid: tests/test_settings.py, as the start refuses it.
    signing = private_jwk("active")
    keys = {"other": jwt.PyJWK(public_jwk(private_jwk("other")))}

    with pytest.raises(TokenKeyError, match="kid 'active' is not in JWT_PUBLIC_KEYS"):
        signing_key_published(keys, signing_key=jwt.PyJWK(signing))

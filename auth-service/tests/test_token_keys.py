"""accounts/tokens.py with EdDSA: keys chosen by kid, rotation, and the key settings' checks."""

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from jwt.algorithms import OKPAlgorithm

from accounts.token_contract import AccessTokenError
from accounts.tokens import (
    TokenKeyError,
    access_token_decode,
    jwks_public,
    signing_key_load,
    verifying_keys_load,
)
from tests.conftest import claims, issued, sign


def private_jwk(kid: str) -> dict:
    return {**OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate(), as_dict=True), "kid": kid}


def public_jwk(private: dict) -> dict:
    return {name: value for name, value in private.items() if name != "d"}


def jwks_text(*keys: dict) -> str:
    return json.dumps({"keys": list(keys)})


def test_issued_token_header_names_the_active_key():
    token = issued(7)

    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": "test-key-1", "typ": "JWT"}


def test_token_whose_kid_is_unknown_is_refused():
    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(sign(claims(1), headers={"kid": "no-such-key"}))


def test_token_without_kid_is_refused():
    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(sign(claims(1), headers={}))


def test_token_signed_by_a_published_previous_key_is_accepted(settings):
    previous = private_jwk("previous")
    settings.JWT_VERIFYING_KEYS = {
        **settings.JWT_VERIFYING_KEYS,
        "previous": jwt.PyJWK(public_jwk(previous)),
    }
    token = sign(claims(5), key=jwt.PyJWK(previous), headers={"kid": "previous"})

    assert access_token_decode(token).user_id == 5


def test_token_of_a_retired_key_is_refused():
    retired = private_jwk("retired")
    token = sign(claims(5), key=jwt.PyJWK(retired), headers={"kid": "retired"})

    with pytest.raises(AccessTokenError, match="invalid"):
        access_token_decode(token)


def test_jwks_lists_public_keys_only():
    assert jwks_public(settings.JWT_VERIFYING_KEYS) == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "6Q5Ed-lbTYfhK4g_cGcQMvQi5GUwoQRML8OR54qrWkM",
                "kid": "test-key-1",
                "use": "sig",
                "alg": "EdDSA",
            }
        ]
    }


def test_a_published_key_verifies_a_token_as_any_jose_library_would():
    token = issued(3)
    key = jwt.PyJWKSet.from_dict(jwks_public(settings.JWT_VERIFYING_KEYS))["test-key-1"]

    payload = jwt.decode(token, key, algorithms=["EdDSA"], audience=settings.JWT_AUDIENCE)

    assert payload["sub"] == "3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "JWT_PRIVATE_KEY is required"),
        ("change-me-jwt-private-key", "example value"),
        ("{not json", "is not JSON"),
        ('{"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"}', "has no 'kid'"),
        ('{"kty": "RSA", "kid": "k"}', "is not an Ed25519 key"),
        ('{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AA"}', "no private part 'd'"),
        ('{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AA", "d": "AA"}', "malformed"),
    ],
)
def test_bad_private_key_is_refused(text, message):
    with pytest.raises(TokenKeyError, match=message):
        signing_key_load(text)


def test_private_key_whose_public_half_is_not_its_own_is_refused():
    key = {**private_jwk("k"), "x": private_jwk("other")["x"]}

    with pytest.raises(TokenKeyError, match="malformed"):
        signing_key_load(json.dumps(key))


def test_public_keys_missing_the_signing_kid_are_refused():
    signing = private_jwk("active")

    with pytest.raises(TokenKeyError, match="kid 'active' is not in JWT_PUBLIC_KEYS"):
        verifying_keys_load(
            jwks_text(public_jwk(private_jwk("other"))), signing_key=jwt.PyJWK(signing)
        )


def test_public_keys_with_another_key_under_the_signing_kid_are_refused():
    signing = private_jwk("active")

    with pytest.raises(TokenKeyError, match="another key than JWT_PRIVATE_KEY's"):
        verifying_keys_load(
            jwks_text(public_jwk(private_jwk("active"))), signing_key=jwt.PyJWK(signing)
        )


def test_public_keys_holding_a_private_part_are_refused():
    signing = private_jwk("active")

    with pytest.raises(TokenKeyError, match="holds a private part"):
        verifying_keys_load(jwks_text(signing), signing_key=jwt.PyJWK(signing))


def test_public_keys_repeating_a_kid_are_refused():
    signing = private_jwk("active")

    with pytest.raises(TokenKeyError, match="appears twice"):
        verifying_keys_load(
            jwks_text(public_jwk(signing), public_jwk(signing)), signing_key=jwt.PyJWK(signing)
        )


def test_public_keys_that_are_not_a_jwks_are_refused():
    signing = private_jwk("active")

    with pytest.raises(TokenKeyError, match="must be a JWKS"):
        verifying_keys_load(json.dumps(public_jwk(signing)), signing_key=jwt.PyJWK(signing))


def test_public_keys_with_the_next_key_load_both():
    signing, following = private_jwk("active"), private_jwk("next")

    keys = verifying_keys_load(
        jwks_text(public_jwk(signing), public_jwk(following)), signing_key=jwt.PyJWK(signing)
    )

    assert list(keys) == ["active", "next"]

"""app/token_contract.py, vendored byte-identical in the auth service: the shared table of
token and header cases (e2e/token_contract_cases.py) as GET /score answers it in both signing
modes (the route for a first use, the fast path for a token already verified), then the key
parsers, tested here once."""

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from jwt.algorithms import OKPAlgorithm

import token_contract_cases as cases
from app.main import create_app
from app.token_contract import (
    TokenKeyError,
    access_token_verify,
    private_key_parse,
    public_keys_parse,
)
from tests.conftest import KID, PRIVATE_KEY, SECRET, settings_of

# What the auth service signs with, in each mode.
SIGNING_KEYS = {
    "EdDSA": jwt.PyJWK(
        {**OKPAlgorithm.to_jwk(PRIVATE_KEY, as_dict=True), "kid": KID}, algorithm="EdDSA"
    ),
    "HS256": SECRET,
}


@pytest.fixture(scope="module")
def clients():
    with (
        TestClient(create_app(settings_of("EdDSA"))) as eddsa,
        TestClient(create_app(settings_of("HS256"))) as hs256,
    ):
        yield {"EdDSA": eddsa, "HS256": hs256}


@pytest.mark.parametrize(("mode", "case"), cases.MODE_CASES, ids=cases.MODE_CASE_IDS)
def test_score_answers_each_case_of_the_shared_token_contract(clients, mode, case):
    client, settings = clients[mode], settings_of(mode)
    token = cases.case_token(
        case,
        key=SIGNING_KEYS[mode],
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        sub="7",
        leeway=settings.JWT_LEEWAY,
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
            assert response.headers["WWW-Authenticate"] == cases.case_www_authenticate(
                case, realm=settings.JWT_AUDIENCE
            )


# --- keys: the contract's parsers, which the table does not reach -------------------------


def private_jwk(kid: str) -> dict:
    return {**OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate(), as_dict=True), "kid": kid}


def public_jwk(private: dict) -> dict:
    return {name: value for name, value in private.items() if name != "d"}


def jwks_text(*keys: dict) -> str:
    return json.dumps({"keys": list(keys)})


def test_a_private_key_parses_to_its_kid():
    assert private_key_parse(json.dumps(private_jwk("active"))).key_id == "active"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ('["a", "list"]', "a key is not a JSON object"),
        ('{"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"}', "a key has no 'kid'"),
        ('{"kty": "RSA", "kid": "k"}', "key 'k' is not an Ed25519 key"),
        ('{"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "ES256"}', "is for alg 'ES256'"),
        ('{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AA"}', "no private part 'd'"),
        ('{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AA", "d": "AA"}', "malformed"),
        (json.dumps({**private_jwk("k"), "x": private_jwk("other")["x"]}), "malformed"),
    ],
)
def test_an_unusable_private_key_is_refused_with_its_reason(text, message):
    with pytest.raises(TokenKeyError, match=message):
        private_key_parse(text)


def test_public_keys_parse_to_every_key_by_kid():
    keys = public_keys_parse(
        jwks_text(public_jwk(private_jwk("active")), public_jwk(private_jwk("next")))
    )

    assert list(keys) == ["active", "next"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        (json.dumps(public_jwk(private_jwk("k"))), "must be a JWKS"),
        (jwks_text(), "must be a JWKS"),
        (jwks_text(private_jwk("k")), "key 'k' holds a private part 'd'"),
        (jwks_text({**public_jwk(private_jwk("k")), "x": "AAAA"}), "key 'k' is malformed"),
        (jwks_text(*[public_jwk(private_jwk("k"))] * 2), "kid 'k' appears twice"),
    ],
)
def test_unusable_public_keys_are_refused_with_their_reason(text, message):
    with pytest.raises(TokenKeyError, match=message):
        public_keys_parse(text)


def test_each_published_key_verifies_the_tokens_that_name_it():
    # Rotation: while two keys are published, a token of either verifies by its kid.
    active, following = private_jwk("active"), private_jwk("next")
    keys = public_keys_parse(jwks_text(public_jwk(active), public_jwk(following)))
    settings = settings_of("EdDSA")
    names = {"issuer": settings.JWT_ISSUER, "audience": settings.JWT_AUDIENCE}

    for private in (active, following):
        token = cases.case_token(
            cases.Case("a valid token", None),
            key=jwt.PyJWK(private),
            sub="7",
            leeway=settings.JWT_LEEWAY,
            **names,
        )
        user_id, _ = access_token_verify(
            token,
            algorithm="EdDSA",
            public_keys=keys,
            secret="",
            leeway=settings.JWT_LEEWAY,
            **names,
        )
        assert user_id == 7

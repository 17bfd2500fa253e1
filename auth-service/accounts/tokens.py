"""Access tokens: issuing, keys, and verification by the contract both services share.

EdDSA by default: this service alone holds the private key, and each token's `kid` names the
public key (JWT_PUBLIC_KEYS, a JWKS) that verifies it; HS* signs with JWT_SECRET instead.
Verifying needs only the keys and the clock, so the score service can do it on its own.
"""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from jwt.algorithms import OKPAlgorithm

from accounts.token_contract import (
    ACCESS_TOKEN_TYPE,
    EDDSA,
    PLACEHOLDER_PREFIX,
    access_token_verify,
)

KEYS_HINT = "`make env` writes a fresh pair; docs/tokens.md: Access-token keys"


class TokenKeyError(ValueError):
    """JWT_PRIVATE_KEY or JWT_PUBLIC_KEYS cannot be used; the message says why, in one line."""


@dataclass(frozen=True)
class AccessTokenClaims:
    """The verified claims of an access token: whose it is, and of which session."""

    user_id: int
    jti: str
    session_id: str  # `sid`: the refresh-token family the token was issued in
    authenticated_at: datetime  # `auth_time`: when that session last proved the password


# --- keys ----------------------------------------------------------------------------------------


def _ed25519_jwk(name: str, jwk: object, *, private: bool) -> jwt.PyJWK:
    """Return `jwk` (a JWK dict) as a PyJWK; raise TokenKeyError unless it is an Ed25519 key with
    a `kid` and with (`private`) or without its private part `d`."""
    if not isinstance(jwk, dict):
        raise TokenKeyError(f"{name}: a key is not a JSON object (a JWK)")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenKeyError(f"{name}: a key has no 'kid'")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise TokenKeyError(f"{name}: key {kid!r} is not an Ed25519 key (kty OKP, crv Ed25519)")
    if jwk.get("alg", EDDSA) != EDDSA:
        raise TokenKeyError(f"{name}: key {kid!r} is for alg {jwk['alg']!r}, not EdDSA")
    if private and "d" not in jwk:
        raise TokenKeyError(f"{name}: key {kid!r} has no private part 'd'")
    if not private and "d" in jwk:
        raise TokenKeyError(
            f"{name}: key {kid!r} holds a private part 'd'; publish public keys only"
        )
    try:
        return jwt.PyJWK(jwk, algorithm=EDDSA)
    except (jwt.PyJWTError, ValueError) as e:
        # e.g. a bad base64 value, a key of the wrong length, or an x that is not d's.
        raise TokenKeyError(f"{name}: key {kid!r} is malformed: {e}") from None


def _json_load(name: str, text: str) -> object:
    if not text:
        raise TokenKeyError(f"{name} is required with JWT_ALGORITHM=EdDSA ({KEYS_HINT})")
    if text.startswith(PLACEHOLDER_PREFIX):
        raise TokenKeyError(
            f"{name} still holds the example value ({PLACEHOLDER_PREFIX}...) ({KEYS_HINT})"
        )
    try:
        return json.loads(text)
    except ValueError:
        raise TokenKeyError(
            f"{name} is not JSON (a JWK on one line, in single quotes in .env)"
        ) from None


def signing_key_load(text: str) -> jwt.PyJWK:
    """Return the private Ed25519 JWK held in `text` (JWT_PRIVATE_KEY); raise TokenKeyError."""
    return _ed25519_jwk("JWT_PRIVATE_KEY", _json_load("JWT_PRIVATE_KEY", text), private=True)


def verifying_keys_load(text: str, *, signing_key: jwt.PyJWK) -> dict[str, jwt.PyJWK]:
    """Return the public keys of the JWKS in `text` (JWT_PUBLIC_KEYS) by `kid`.

    Raise TokenKeyError when the set is malformed, holds a private part, repeats a `kid`, or
    lacks the signing key's public half under its `kid` (tokens this service signs must verify).
    """
    jwks = _json_load("JWT_PUBLIC_KEYS", text)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise TokenKeyError('JWT_PUBLIC_KEYS must be a JWKS: {"keys": [<public JWK>, ...]}')
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in jwks["keys"]:
        key = _ed25519_jwk("JWT_PUBLIC_KEYS", jwk, private=False)
        if key.key_id in keys:
            raise TokenKeyError(f"JWT_PUBLIC_KEYS: kid {key.key_id!r} appears twice")
        keys[key.key_id] = key
    published = keys.get(signing_key.key_id)
    if published is None:
        raise TokenKeyError(
            f"JWT_PRIVATE_KEY's kid {signing_key.key_id!r} is not in JWT_PUBLIC_KEYS"
        )
    if _public_jwk(published) != _public_jwk(signing_key):
        raise TokenKeyError(
            f"JWT_PUBLIC_KEYS: kid {signing_key.key_id!r} is another key than JWT_PRIVATE_KEY's"
        )
    return keys


def _public_jwk(key: jwt.PyJWK) -> dict:
    public = key.key.public_key() if isinstance(key.key, Ed25519PrivateKey) else key.key
    return OKPAlgorithm.to_jwk(public, as_dict=True)


def jwks_public(keys: Mapping[str, jwt.PyJWK]) -> dict:
    """Return the JWKS (RFC 7517) of `keys`: rebuilt from each public key, so never a `d`."""
    return {
        "keys": [
            {**_public_jwk(key), "kid": kid, "use": "sig", "alg": EDDSA}
            for kid, key in keys.items()
        ]
    }


# --- tokens --------------------------------------------------------------------------------------


def access_token_encode(
    *, user_id: int, session_id: str, authenticated_at: datetime, lifetime: timedelta
) -> str:
    """Return a signed access token for `user_id` in session `session_id`, whose password was
    last proved at `authenticated_at`, valid for `lifetime` from now."""
    issued_at = int(datetime.now(UTC).timestamp())
    payload = {
        "sub": str(user_id),
        "iat": issued_at,
        "exp": issued_at + int(lifetime.total_seconds()),
        "jti": uuid.uuid4().hex,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "token_type": ACCESS_TOKEN_TYPE,
        "sid": session_id,
        "auth_time": min(int(authenticated_at.timestamp()), issued_at),
    }
    if settings.JWT_ALGORITHM == EDDSA:
        key = settings.JWT_SIGNING_KEY
        return jwt.encode(payload, key, algorithm=EDDSA, headers={"kid": key.key_id})
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=settings.JWT_ALGORITHM)


def access_token_decode(token: str) -> AccessTokenClaims:
    """Verify `token` by the shared contract (accounts/token_contract.py) and return its
    claims; raise AccessTokenError if it is refused."""
    user_id, claims = access_token_verify(
        token,
        algorithm=settings.JWT_ALGORITHM,
        public_keys=settings.JWT_VERIFYING_KEYS,
        secret=settings.JWT_SECRET,
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        leeway=settings.JWT_LEEWAY,
    )
    return AccessTokenClaims(
        user_id=user_id,
        jti=claims["jti"],
        session_id=claims["sid"],
        authenticated_at=datetime.fromtimestamp(claims["auth_time"], UTC),
    )

"""Access tokens: issuing, keys, and verification by the contract both services share.

EdDSA by default: this service alone holds the private key, and each token's `kid` names the
public key (JWT_PUBLIC_KEYS, a JWKS) that verifies it; HS* signs with JWT_SECRET instead.
Verifying needs only the keys and the clock, so the score service can do it on its own.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from jwt.algorithms import OKPAlgorithm

from accounts.token_contract import ACCESS_TOKEN_TYPE, EDDSA, TokenKeyError, access_token_verify


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """The verified claims of an access token: whose it is, of which session, and its times
    (as PyJWT reads them), which bound how long the verified-token cache serves it."""

    user_id: int
    jti: str
    session_id: str  # `sid`: the refresh-token family the token was issued in
    authenticated_at: datetime  # `auth_time`: when that session last proved the password
    exp: int
    iat: int
    nbf: int | None = None


# --- keys ----------------------------------------------------------------------------------------


def signing_key_published(keys: Mapping[str, jwt.PyJWK], *, signing_key: jwt.PyJWK) -> None:
    """Raise TokenKeyError unless `keys` (JWT_PUBLIC_KEYS) hold the public half of
    `signing_key` (JWT_PRIVATE_KEY) under its `kid`: tokens this service signs must verify."""
    published = keys.get(signing_key.key_id)
    if published is None:
        raise TokenKeyError(
            f"JWT_PRIVATE_KEY's kid {signing_key.key_id!r} is not in JWT_PUBLIC_KEYS"
        )
    if _public_jwk(published) != _public_jwk(signing_key):
        raise TokenKeyError(
            f"JWT_PUBLIC_KEYS: kid {signing_key.key_id!r} is another key than JWT_PRIVATE_KEY's"
        )


def _public_jwk(key: jwt.PyJWK) -> dict:
    public = key.key.public_key() if isinstance(key.key, Ed25519PrivateKey) else key.key
    return OKPAlgorithm.to_jwk(public, as_dict=True)


# How long a client may cache the JWKS: long enough to spare the service, short enough that a
# key published for rotation reaches cached verifiers well before it signs (docs/tokens.md:
# Access-token keys).
JWKS_MAX_AGE = 300


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
    nbf = claims.get("nbf")
    return AccessTokenClaims(
        user_id=user_id,
        jti=claims["jti"],
        session_id=claims["sid"],
        authenticated_at=datetime.fromtimestamp(claims["auth_time"], UTC),
        exp=int(claims["exp"]),
        iat=int(claims["iat"]),
        nbf=None if nbf is None else int(nbf),
    )

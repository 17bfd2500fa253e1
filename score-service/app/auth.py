"""Access-token verification: the only module of the score service that verifies tokens.

The auth service signs access tokens; this service verifies them itself, with the public key
the token's `kid` names (EdDSA, the default) or the shared secret (HS*), so a request touches
no database, cache or network and keeps working while the auth service is down. Steps, as in
djangorestframework-simplejwt: get the header, get the raw token, validate it, return its
claims. (app/settings.py only parses the public keys, once, at start.)
"""

from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.settings import Settings
from app.token_cache import VerifiedTokenCache

REQUIRED_CLAIMS = ("sub", "iat", "exp", "jti", "iss", "aud", "token_type")
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)

# auto_error=False: this module answers a missing header itself, with the same 401 shape as
# every other rejection (HTTPBearer's own error differs across FastAPI versions). The scheme
# still appears in OpenAPI, so Swagger UI offers "Authorize".
_bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An access token from the auth service's /api/login/ or /api/refresh/.",
)


class AuthenticationFailed(HTTPException):
    """401 with ``{"detail": ...}`` and ``WWW-Authenticate: Bearer`` (RFC 6750 section 3)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=detail,
            headers={"WWW-Authenticate": "Bearer"},
        )


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token that the endpoints may use."""

    sub: str  # the user id, as a string
    jti: str
    iat: int
    exp: int


class _UnknownKeyError(jwt.InvalidTokenError):
    """The token's `kid` names none of JWT_PUBLIC_KEYS (or it has none)."""


# PyJWT's errors, most specific first, as the messages a client sees.
_REJECTIONS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "Token has expired."),
    (jwt.ImmatureSignatureError, "Token is not valid yet (nbf or iat in the future)."),
    (jwt.InvalidAudienceError, "Token has the wrong audience."),
    (jwt.InvalidIssuerError, "Token has the wrong issuer."),
    (jwt.InvalidAlgorithmError, "Token is signed with an algorithm that is not allowed."),
    (_UnknownKeyError, "Token is signed with an unknown key."),
    (jwt.InvalidSignatureError, "Token signature is invalid."),
    (jwt.DecodeError, "Token is malformed."),
)


def _verifying_key(token: str, settings: Settings) -> jwt.PyJWK | str:
    """Return the key that must have signed ``token``: the public key of its ``kid`` (RFC 7515
    section 4.1.4) with EdDSA, else the shared secret."""
    if settings.JWT_ALGORITHM != "EdDSA":
        return settings.JWT_SECRET.get_secret_value()
    kid = jwt.get_unverified_header(token).get("kid")
    key = settings.public_keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise _UnknownKeyError
    return key


def access_token_decode(token: str, *, settings: Settings) -> AccessClaims:
    """Verify ``token`` and return its claims.

    The algorithm list is pinned to JWT_ALGORITHM (so ``alg: none`` and algorithm
    confusion, such as an HS256 token keyed with the public key, are refused), the key is
    the one the token's ``kid`` names, every claim of the contract is required, and iss, aud,
    exp, iat, nbf (when present) and token_type are checked with JWT_LEEWAY seconds of
    clock skew. Raises AuthenticationFailed for any invalid token.
    """
    try:
        payload = jwt.decode(
            token,
            _verifying_key(token, settings),
            algorithms=[settings.JWT_ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=settings.JWT_LEEWAY,
            # strict_aud: `aud` must be the audience string the auth service writes, as the
            # auth service itself requires, not a list that merely contains it.
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.MissingRequiredClaimError as e:
        raise AuthenticationFailed(f"Token has no '{e.claim}' claim.") from e
    except jwt.InvalidTokenError as e:
        detail = next((text for kind, text in _REJECTIONS if isinstance(e, kind)), None)
        raise AuthenticationFailed(detail or "Token is invalid.") from e

    if payload["token_type"] != ACCESS_TOKEN_TYPE:
        raise AuthenticationFailed("Token is not an access token.")
    # PyJWT has checked sub and jti are strings and iat and exp are numbers.
    return AccessClaims(
        sub=payload["sub"], jti=payload["jti"], iat=int(payload["iat"]), exp=int(payload["exp"])
    )


def _raw_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        if "authorization" in request.headers:
            raise AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        raise AuthenticationFailed("Authentication credentials were not provided.")
    return credentials.credentials


# async: the signature check is microseconds of CPU and no I/O, not worth a thread-pool hop.
async def verify_access_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> AccessClaims:
    """FastAPI dependency: the claims of the request's bearer access token, else a 401."""
    settings: Settings = request.app.state.settings
    token_cache: VerifiedTokenCache[AccessClaims] = request.app.state.token_cache
    return token_cache.verify(
        _raw_token(request, credentials),
        lambda token: access_token_decode(token, settings=settings),
        leeway=settings.JWT_LEEWAY,
    )


Claims = Annotated[AccessClaims, Depends(verify_access_token)]

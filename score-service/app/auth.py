"""Access-token verification: the only module of the score service that verifies tokens.

The auth service signs access tokens; this service verifies them itself, with the public key
the token's `kid` names (EdDSA, the default) or the shared secret (HS*), so a request touches
no database, cache or network and keeps working while the auth service is down. Steps, as in
djangorestframework-simplejwt: get the header and the raw token (app/deps.py), validate it and
return its claims (here). (app/settings.py only parses the public keys, once, at start.)
"""

from dataclasses import dataclass

from fastapi import HTTPException, status

from app import metrics
from app.settings import Settings
from app.token_contract import EXPIRED, AccessTokenError, access_token_verify, www_authenticate


class AuthenticationFailed(HTTPException):
    """401 with ``{"detail": ...}`` and the contract's ``WWW-Authenticate`` (RFC 6750 3):
    the realm is the tokens' audience, as in the auth service."""

    def __init__(self, detail: str, *, settings: Settings) -> None:
        super().__init__(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=detail,
            headers={"WWW-Authenticate": www_authenticate(detail, realm=settings.JWT_AUDIENCE)},
        )


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token that the endpoints may use; its times (as
    PyJWT reads them) bound how long the verified-token cache serves it."""

    sub: str  # the user id, as a string
    jti: str
    iat: int
    exp: int
    nbf: int | None = None


def access_token_decode(token: str, *, settings: Settings) -> AccessClaims:
    """Verify ``token`` by the shared contract (app/token_contract.py) and return its
    claims; raise AuthenticationFailed with the contract's message."""
    try:
        _, claims = access_token_verify(
            token,
            algorithm=settings.JWT_ALGORITHM,
            public_keys=settings.public_keys,
            secret=settings.JWT_SECRET.get_secret_value() if settings.JWT_SECRET else "",
            issuer=settings.JWT_ISSUER,
            audience=settings.JWT_AUDIENCE,
            leeway=settings.JWT_LEEWAY,
        )
    except AccessTokenError as e:
        metrics.TOKEN_VERIFICATIONS.labels("expired" if e.message == EXPIRED else "invalid").inc()
        raise AuthenticationFailed(e.message, settings=settings) from e
    metrics.TOKEN_VERIFICATIONS.labels("valid").inc()
    # The contract has checked sub (canonical digits), jti (a string), iat, exp, nbf (numbers).
    nbf = claims.get("nbf")
    return AccessClaims(
        sub=claims["sub"],
        jti=claims["jti"],
        iat=int(claims["iat"]),
        exp=int(claims["exp"]),
        nbf=None if nbf is None else int(nbf),
    )

"""Access tokens: the only module that calls PyJWT.

An access token is a JWT signed with JWT_SECRET (HMAC, JWT_ALGORITHM). Verifying one needs
nothing but the key and the clock: no database, cache or network call, which is what lets the
score service verify the same tokens on its own.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)
# RFC 7519 4.1 registered claims plus our type; a token lacking any of them is refused.
REQUIRED_CLAIMS = ("sub", "iat", "exp", "jti", "iss", "aud", "token_type")


class AccessTokenError(Exception):
    """An access token was refused; the message is safe to show to the client."""


@dataclass(frozen=True)
class AccessTokenClaims:
    """The verified claims of an access token."""

    user_id: int
    jti: str


def access_token_encode(*, user_id: int, lifetime: timedelta) -> str:
    """Return a signed access token for `user_id`, valid for `lifetime` from now."""
    issued_at = int(datetime.now(UTC).timestamp())
    payload = {
        "sub": str(user_id),
        "iat": issued_at,
        "exp": issued_at + int(lifetime.total_seconds()),
        "jti": uuid.uuid4().hex,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "token_type": ACCESS_TOKEN_TYPE,
    }
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=settings.JWT_ALGORITHM)


def access_token_decode(token: str) -> AccessTokenClaims:
    """Verify `token` and return its claims; raise AccessTokenError if it is refused.

    Pins the algorithm list (RFC 8725 3.1: never trust the token's own `alg`, so `none` and
    algorithm substitution are refused), requires every claim, checks `iss`, `aud`, `exp`,
    `iat` and `nbf` (when present) with JWT_LEEWAY seconds of clock skew, then the type.
    """
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[settings.JWT_ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=settings.JWT_LEEWAY,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.ExpiredSignatureError as e:
        raise AccessTokenError("Token has expired.") from e
    except jwt.ImmatureSignatureError as e:
        raise AccessTokenError("Token is not valid yet.") from e
    except jwt.MissingRequiredClaimError as e:
        raise AccessTokenError(f"Token has no '{e.claim}' claim.") from e
    except jwt.InvalidIssuerError as e:
        raise AccessTokenError("Token has the wrong issuer.") from e
    except jwt.InvalidAudienceError as e:
        raise AccessTokenError("Token has the wrong audience.") from e
    except jwt.InvalidTokenError as e:
        # Bad signature, another algorithm, malformed token or claim: one message, no oracle.
        raise AccessTokenError("Token is invalid.") from e

    if payload["token_type"] != ACCESS_TOKEN_TYPE:
        raise AccessTokenError("Token has the wrong type.")
    subject = payload["sub"]
    if not subject.isascii() or not subject.isdigit():
        raise AccessTokenError("Token has an invalid subject.")
    return AccessTokenClaims(user_id=int(subject), jti=payload["jti"])

"""The access-token contract of both services: header, claims, `sub`, messages.

Vendored: this file is byte-identical in auth-service/accounts/token_contract.py and
score-service/app/token_contract.py (services import nothing from each other); `make lint`
and e2e/test_token_contract.py fail when the copies differ, so edit both at once. The cases
that prove the services apply it alike, run by both suites and the e2e suite, are
e2e/token_contract_cases.py.

Messages: one for a missing header, one for a malformed one, one for an expired token
(clients refresh on it), and "Token is invalid." for every other refusal: no oracle on
signatures, keys or claims.
"""

import re
from collections.abc import Mapping

import jwt

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)
# RFC 7519 4.1 registered claims plus our type; a token lacking any of them is refused.
REQUIRED_CLAIMS = ("sub", "iat", "exp", "jti", "iss", "aud", "token_type")
EDDSA = "EdDSA"

NOT_PROVIDED = "Authentication credentials were not provided."
BAD_HEADER = "Authorization header must be 'Bearer <token>'."
EXPIRED = "Token has expired."
INVALID = "Token is invalid."

# RFC 6750 2.1: "Bearer" SP b64token, with exactly one space (no tab, nothing after); the
# scheme is case-insensitive (RFC 7235 2.1).
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9\-._~+/]+=*)")
# `sub` is a user id: a positive integer in canonical form, within PostgreSQL's bigint.
_SUBJECT = re.compile(r"[1-9][0-9]{0,18}")
_SUBJECT_MAX = 2**63 - 1


class AccessTokenError(Exception):
    """An Authorization header or access token was refused; `message` is the client's 401
    detail."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def bearer_token(authorization: str | None) -> str:
    """Return the token of an `Authorization` header; raise AccessTokenError.

    None or an empty header: NOT_PROVIDED. Anything but "Bearer <token>": BAD_HEADER.
    """
    if not authorization:
        raise AccessTokenError(NOT_PROVIDED)
    match = _BEARER.fullmatch(authorization)
    if match is None:
        raise AccessTokenError(BAD_HEADER)
    return match.group(1)


def subject_user_id(subject: object) -> int | None:
    """Return the user id a `sub` claim names, or None unless it is canonical digits."""
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        return None
    user_id = int(subject)
    return user_id if user_id <= _SUBJECT_MAX else None


def access_token_verify(
    token: str,
    *,
    algorithm: str,
    public_keys: Mapping[str, jwt.PyJWK],
    secret: str,
    issuer: str,
    audience: str,
    leeway: float,
) -> tuple[int, dict]:
    """Verify `token`; return (user id, claims), or raise AccessTokenError.

    The algorithm list is pinned (RFC 8725 3.1: never the token's own `alg`, so `none` and
    an HS256 token keyed with a public key are refused); with EdDSA the key is the public
    key its `kid` names (RFC 7515 4.1.4), with HS* the shared secret. Every claim is
    required; `iss`, `aud` (a string, not a list), `exp`, `iat` and `nbf` are checked with
    `leeway` seconds of clock skew; then the type and `sub`.
    """
    try:
        key: jwt.PyJWK | str | None = secret
        if algorithm == EDDSA:
            kid = jwt.get_unverified_header(token).get("kid")
            key = public_keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise jwt.InvalidTokenError("no public key has this kid")
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.ExpiredSignatureError as e:
        raise AccessTokenError(EXPIRED) from e
    except jwt.InvalidTokenError as e:
        raise AccessTokenError(INVALID) from e
    user_id = subject_user_id(claims["sub"])
    if claims["token_type"] != ACCESS_TOKEN_TYPE or user_id is None:
        raise AccessTokenError(INVALID)
    return user_id, claims

"""The access-token contract of both services: keys, header, claims, `sub`, messages.

Vendored: this file is byte-identical in auth-service/accounts/token_contract.py and
score-service/app/token_contract.py (services import nothing from each other); `make lint`
and e2e/test_token_contract.py fail when the copies differ, so edit both at once. The cases
that prove the services apply it alike, run by both suites and the e2e suite in both signing
modes, are e2e/token_contract_cases.py; what they do not reach (key parsing) is unit-tested
once, in score-service/tests/test_token_contract.py.

Messages: one for a missing header, one for a malformed one, one for an expired token
(clients refresh on it), and "Token is invalid." for every other refusal: no oracle on
signatures, keys or claims. A key that cannot be used raises TokenKeyError, whose message
the settings of each service prefix with the variable's name.
"""

import json
import re
from collections.abc import Mapping

import jwt

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)
# RFC 7519 4.1 registered claims, OpenID Connect's `sid` (the session: the refresh-token
# family the token was issued in) and `auth_time` (when that session last proved the password),
# plus our type; a token lacking any of them is refused.
REQUIRED_CLAIMS = ("sub", "iat", "exp", "jti", "iss", "aud", "token_type", "sid", "auth_time")
# The longest lifetime (exp - iat) a verifier accepts, whatever the issuer's settings say: the
# admin's own maximum, so that a lifetime written past the admin (straight into Redis, say)
# yields no token that anyone accepts.
ACCESS_TOKEN_LIFETIME_MAX = 24 * 60 * 60
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


class TokenKeyError(ValueError):
    """A JWK or JWKS cannot be used; the message says why, in one line."""


def _ed25519_jwk(jwk: object, *, private: bool) -> jwt.PyJWK:
    """Return `jwk` (a JWK dict) as a PyJWK; raise TokenKeyError unless it is an Ed25519 key
    with a `kid` and with (`private`) or without its private part `d`."""
    if not isinstance(jwk, dict):
        raise TokenKeyError("a key is not a JSON object (a JWK)")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenKeyError("a key has no 'kid'")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise TokenKeyError(f"key {kid!r} is not an Ed25519 key (kty OKP, crv Ed25519)")
    if jwk.get("alg", EDDSA) != EDDSA:
        raise TokenKeyError(f"key {kid!r} is for alg {jwk['alg']!r}, not EdDSA")
    if private and "d" not in jwk:
        raise TokenKeyError(f"key {kid!r} has no private part 'd'")
    if not private and "d" in jwk:
        raise TokenKeyError(f"key {kid!r} holds a private part 'd': publish public keys only")
    try:
        return jwt.PyJWK(jwk, algorithm=EDDSA)
    except (jwt.PyJWTError, ValueError) as e:
        # e.g. a bad base64 value, a key of the wrong length, or an x that is not d's.
        raise TokenKeyError(f"key {kid!r} is malformed: {e}") from None


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise TokenKeyError("is not JSON (one line, in single quotes in .env)") from None


def private_key_parse(text: str) -> jwt.PyJWK:
    """Return the private Ed25519 JWK (RFC 8037) held in `text`; raise TokenKeyError."""
    return _ed25519_jwk(_json(text), private=True)


def public_keys_parse(text: str) -> dict[str, jwt.PyJWK]:
    """Return the public Ed25519 keys of the JWKS (RFC 7517 5) in `text` by `kid`; raise
    TokenKeyError unless it is a non-empty set of public keys with distinct kids."""
    jwks = _json(text)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise TokenKeyError('must be a JWKS: {"keys": [<public JWK>, ...]}')
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in jwks["keys"]:
        key = _ed25519_jwk(jwk, private=False)
        if key.key_id in keys:
            raise TokenKeyError(f"kid {key.key_id!r} appears twice")
        keys[key.key_id] = key
    return keys


def www_authenticate(message: str, *, realm: str) -> str:
    """Return the `WWW-Authenticate` value of a 401 whose detail is `message` (RFC 6750 3).

    No credentials (NOT_PROVIDED): the scheme and realm alone, no error code (3: a request
    without authentication information). A header that is not "Bearer <token>":
    `invalid_request`. Any other refusal (expired, invalid, the user gone or inactive):
    `invalid_token`, on which an OAuth client refreshes (3.1). The description is the detail,
    which holds none of the characters RFC 6750 3 forbids there (`"` and `\\`).
    """
    challenge = f'Bearer realm="{realm}"'
    if message == NOT_PROVIDED:
        return challenge
    error = "invalid_request" if message == BAD_HEADER else "invalid_token"
    return f'{challenge}, error="{error}", error_description="{message}"'


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
    `leeway` seconds of clock skew; then the times (`exp`, `iat` and any `nbf` numbers, as
    RFC 7519 2 defines a NumericDate; PyJWT also takes digits in a string), the type, `sub`,
    the lifetime (`exp - iat` at most ACCESS_TOKEN_LIFETIME_MAX), `sid` (a non-empty string)
    and `auth_time` (an integer, not after `iat`).
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
    times = [claims["exp"], claims["iat"], claims.get("nbf", 0)]
    if (
        any(type(time) not in (int, float) for time in times)  # bool, str: not a NumericDate
        or claims["token_type"] != ACCESS_TOKEN_TYPE
        or user_id is None
        or claims["exp"] - claims["iat"] > ACCESS_TOKEN_LIFETIME_MAX
        or not isinstance(claims["sid"], str)
        or not claims["sid"]
        or type(claims["auth_time"]) is not int
        or claims["auth_time"] > claims["iat"]
    ):
        raise AccessTokenError(INVALID)
    return user_id, claims

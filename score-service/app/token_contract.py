"""The access-token contract of both services: header, claims, `sub`, messages.

Vendored: this file is byte-identical in auth-service/accounts/token_contract.py and
score-service/app/token_contract.py (services import nothing from each other); `make lint`
and e2e/test_token_contract.py fail when the copies differ, so edit both at once. The cases
that prove the services apply it alike, run by both suites and the e2e suite, are
e2e/token_contract_cases.py.

Messages: one for a missing header, one for a malformed one, one for an expired token
(clients refresh on it), and "Token is invalid." for every other refusal: no oracle on
signatures, keys or claims.

VerifiedTokenCache keeps tokens already verified in full: clients poll with one token for its
whole lifetime, and a signature check costs far more than the rest of a request (Envoy's
``jwt_authn`` caches for the same reason). The key is the exact token string, only accepted
tokens are stored, and a hit re-checks ``exp``, ``nbf`` and ``iat`` with the leeway, so a
cached token expires on time.
"""

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

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
# What every secret and key of .env.example starts with until `make env` replaces it: both
# services refuse it (scripts/stack.py, which runs before any virtualenv, has its own copy).
PLACEHOLDER_PREFIX = "change-me"

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
    `leeway` seconds of clock skew; then the type, `sub`, the lifetime (`exp - iat` at most
    ACCESS_TOKEN_LIFETIME_MAX), `sid` (a non-empty string) and `auth_time` (an integer, not
    after `iat`).
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
    auth_time = claims["auth_time"]
    if (
        claims["token_type"] != ACCESS_TOKEN_TYPE
        or user_id is None
        or claims["exp"] - claims["iat"] > ACCESS_TOKEN_LIFETIME_MAX
        or not isinstance(claims["sid"], str)
        or not claims["sid"]
        or not isinstance(auth_time, int)
        or isinstance(auth_time, bool)
        or auth_time > claims["iat"]
    ):
        raise AccessTokenError(INVALID)
    return user_id, claims


Claims = TypeVar("Claims")

# Each entry holds one token (a few hundred bytes) and its claims: about 2 MB when full.
CACHE_MAXSIZE = 4096


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Claims]):
    claims: Claims
    exp: int
    nbf: int | None
    iat: int


def _time_claims(token: str) -> tuple[int, int | None, int] | None:
    """Return (exp, nbf, iat) of a token the verifier accepted, read as PyJWT reads them;
    None when they cannot be read (the token is then not cached)."""
    try:
        segment = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        nbf = payload.get("nbf")
        return (
            int(payload["exp"]),
            None if nbf is None else int(nbf),
            int(payload["iat"]),
        )
    except (IndexError, KeyError, AttributeError, TypeError, ValueError, binascii.Error):
        return None


class VerifiedTokenCache(Generic[Claims]):
    """Token string -> claims of tokens the verifier accepted, at most ``maxsize`` of them.

    Safe to share between threads; ``clock`` returns the time in seconds. When full,
    expired entries are dropped from the oldest on, then the oldest entry if that freed
    nothing (tokens of one lifetime expire in the order they were first seen).
    """

    def __init__(
        self, maxsize: int = CACHE_MAXSIZE, clock: Callable[[], float] = time.time
    ) -> None:
        self.maxsize = maxsize
        self._clock = clock
        self._entries: dict[str, _Entry[Claims]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, token: str, *, leeway: float) -> Claims | None:
        """Return the cached claims of ``token`` if its times still pass, else None."""
        now = self._clock()
        # A lone dict read is atomic; only the writes, which read then change, take the lock.
        entry = self._entries.get(token)
        if entry is None:
            return None
        if (
            entry.exp > now - leeway
            and (entry.nbf is None or entry.nbf <= now + leeway)
            and entry.iat <= now + leeway
        ):
            return entry.claims
        with self._lock:
            self._entries.pop(token, None)
        return None

    def verify(self, token: str, verifier: Callable[[str], Claims], *, leeway: float) -> Claims:
        """Return the claims of ``token``: from the cache when it holds the token and its
        times still pass, else from ``verifier(token)``, whose errors propagate."""
        claims = self.get(token, leeway=leeway)
        if claims is not None:
            return claims
        claims = verifier(token)  # raises for a refused token: nothing is stored
        times = _time_claims(token)
        if times is not None:
            self._store(token, _Entry(claims, *times), self._clock() - leeway)
        return claims

    def _store(self, token: str, entry: _Entry[Claims], expired_before: float) -> None:
        with self._lock:
            entries = self._entries
            if len(entries) >= self.maxsize:
                expired = []
                for oldest, held in entries.items():
                    if held.exp > expired_before:
                        break
                    expired.append(oldest)
                for oldest in expired:
                    del entries[oldest]
                if len(entries) >= self.maxsize:
                    del entries[next(iter(entries))]
            entries[token] = entry

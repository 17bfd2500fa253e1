"""The access-token contract as one table of cases, run in both signing modes (EdDSA and
HS256) by three suites against their own verifier: the auth service's (GET /api/me/), the
score service's (GET /score) and the e2e suite's (both, through nginx). Each case is an
Authorization header and the 401 detail both services must answer (None: 200). The rules
themselves live in token_contract.py, vendored byte-identical in both services.

Standard library, PyJWT and cryptography only: every suite's virtualenv has them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

NOT_PROVIDED = "Authentication credentials were not provided."
BAD_HEADER = "Authorization header must be 'Bearer <token>'."
EXPIRED = "Token has expired."
INVALID = "Token is invalid."
DROP = object()
MODES = ("EdDSA", "HS256")


@dataclass(frozen=True)
class Case:
    """`header`: the Authorization header, `{token}` replaced by the case's token; None
    sends none. `claims`: changes to valid claims (DROP removes one; in a text, `{sub}`,
    `{aud}`, `{iat}` and `{exp}` are the valid token's); `exp_in`/`iat_in`/`nbf_in`/
    `auth_time_in`: times from now; `within_leeway`: "exp" or "nbf" lies 2 s inside the
    verifier's leeway; `signing`: how it is signed; `raw`: a literal token; `eddsa_only`:
    a case about public keys or `kid`, which HS256 has not."""

    name: str
    detail: str | None
    header: str | None = "Bearer {token}"
    claims: dict = field(default_factory=dict)
    exp_in: int = 30
    iat_in: int = 0
    nbf_in: int | None = None
    auth_time_in: int = -60
    within_leeway: str | None = None
    signing: str = "key"
    raw: str | None = None
    eddsa_only: bool = False


CASES = [
    Case("a valid token", None),
    Case("the scheme in lower case", None, header="bearer {token}"),
    Case("a valid token with a past nbf", None, nbf_in=-10),
    Case("no Authorization header", NOT_PROVIDED, header=None),
    Case("a tab after Bearer", BAD_HEADER, header="Bearer\t{token}"),
    Case("two spaces after Bearer", BAD_HEADER, header="Bearer  {token}"),
    Case("text after the token", BAD_HEADER, header="Bearer {token} extra"),
    Case("Bearer without a token", BAD_HEADER, header="Bearer"),
    Case("another scheme", BAD_HEADER, header="Basic dXNlcjpwYXNz"),
    Case("a token without a scheme", BAD_HEADER, header="{token}"),
    Case("a sub of letters", INVALID, claims={"sub": "abc"}),
    Case("an empty sub", INVALID, claims={"sub": ""}),
    Case("a negative sub", INVALID, claims={"sub": "-1"}),
    Case("a zero sub", INVALID, claims={"sub": "0"}),
    Case("a sub in exponent form", INVALID, claims={"sub": "1e30"}),
    Case("a sub with a leading zero", INVALID, claims={"sub": "0{sub}"}),
    Case("a sub with a plus sign", INVALID, claims={"sub": "+{sub}"}),
    Case("a sub of non-ASCII digits", INVALID, claims={"sub": "\u0661"}),
    Case("a sub beyond a bigint", INVALID, claims={"sub": "9" * 20}),
    Case("a sub that is a number", INVALID, claims={"sub": 1}),
    Case("an expired token", EXPIRED, exp_in=-60),
    Case("an exp within the leeway", None, within_leeway="exp"),
    Case("an iat in the future", INVALID, iat_in=3600, exp_in=3630),
    Case("an nbf in the future", INVALID, nbf_in=3600),
    Case("an nbf within the leeway", None, within_leeway="nbf"),
    Case("an exp that is text", INVALID, claims={"exp": "{exp}"}),
    Case("an iat that is text", INVALID, claims={"iat": "{iat}"}),
    Case("an nbf that is text", INVALID, claims={"nbf": "{iat}"}),
    *(
        Case(f"no {name} claim", INVALID, claims={name: DROP})
        for name in ("sub", "iat", "exp", "jti", "iss", "aud", "token_type", "sid", "auth_time")
    ),
    Case("a lifetime of one day", None, exp_in=24 * 60 * 60),
    Case("a lifetime beyond one day", INVALID, exp_in=24 * 60 * 60 + 1),
    Case("an empty sid", INVALID, claims={"sid": ""}),
    Case("a sid that is a number", INVALID, claims={"sid": 5}),
    Case("an auth_time after iat", INVALID, auth_time_in=1),
    Case("an auth_time that is text", INVALID, claims={"auth_time": "1700000000"}),
    Case("another issuer", INVALID, claims={"iss": "someone-else"}),
    Case("another audience", INVALID, claims={"aud": "another-platform"}),
    Case("an audience list", INVALID, claims={"aud": ["{aud}"]}),
    Case("a refresh token type", INVALID, claims={"token_type": "refresh"}),
    Case("another key (under the active kid)", INVALID, signing="other_key"),
    Case("a payload changed after signing", INVALID, signing="tampered"),
    Case("another algorithm (HS512)", INVALID, signing="hs512"),
    Case("alg none", INVALID, signing="none"),
    Case("an unknown kid", INVALID, signing="unknown_kid", eddsa_only=True),
    Case("no kid", INVALID, signing="no_kid", eddsa_only=True),
    Case("HS256 keyed with the public key", INVALID, signing="hs256_public_key", eddsa_only=True),
    Case("a token that is not a JWT", INVALID, raw="not-a-jwt"),
    Case("three segments of garbage", INVALID, raw="abc.def.ghi"),
]

# (mode, case) for every case that applies to the mode, and their test ids: what the suites
# parametrize over.
MODE_CASES = [
    (mode, case) for mode in MODES for case in CASES if mode == "EdDSA" or not case.eddsa_only
]
MODE_CASE_IDS = [f"{mode}: {case.name}" for mode, case in MODE_CASES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _by_hand(
    header: dict, claims: dict, signature: bytes | None = None, secret: bytes = b""
) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if signature is None and secret:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature or b'')}"


def _filled(value: object, fields: dict[str, str]) -> object:
    if isinstance(value, list):
        return [_filled(item, fields) for item in value]
    if isinstance(value, str):
        for name, text in fields.items():
            value = value.replace(f"{{{name}}}", text)
    return value


def _claims(case: Case, *, issuer: str, audience: str, sub: str, leeway: int) -> dict:
    now = int(time.time())
    claims: dict = {
        "sub": sub,
        "iat": now + case.iat_in,
        "exp": now + case.exp_in,
        "jti": uuid.uuid4().hex,
        "iss": issuer,
        "aud": audience,
        "token_type": "access",
        "sid": str(uuid.uuid4()),
        "auth_time": now + case.auth_time_in,
    }
    if case.nbf_in is not None:
        claims["nbf"] = now + case.nbf_in
    if case.within_leeway == "exp":
        claims["iat"] = claims["auth_time"] = now - 60
        claims["exp"] = now - leeway + 2
    elif case.within_leeway == "nbf":
        claims["nbf"] = now + leeway - 2
    fields = {"sub": sub, "aud": audience, "iat": str(claims["iat"]), "exp": str(claims["exp"])}
    for name, value in case.claims.items():
        if value is DROP:
            del claims[name]
        else:
            claims[name] = _filled(value, fields)
    return claims


def case_token(
    case: Case, *, key: jwt.PyJWK | str, issuer: str, audience: str, sub: str, leeway: int
) -> str:
    """The case's token for user `sub`, as an issuer with `key` would sign it: a private
    Ed25519 JWK (EdDSA, under its kid) or an HS256 secret; `leeway` is the verifier's."""
    if case.raw is not None:
        return case.raw
    claims = _claims(case, issuer=issuer, audience=audience, sub=sub, leeway=leeway)
    eddsa = isinstance(key, jwt.PyJWK)
    algorithm, signing_key = ("EdDSA", key.key) if eddsa else ("HS256", key)
    headers = {"kid": key.key_id} if eddsa else None
    if case.signing == "other_key":
        other = Ed25519PrivateKey.generate() if eddsa else "another-secret-" + "x" * 64
        return jwt.encode(claims, other, algorithm=algorithm, headers=headers)
    if case.signing == "tampered":
        header, _, signature = jwt.encode(claims, signing_key, algorithm, headers).split(".")
        changed = _b64(json.dumps({**claims, "sub": f"1{sub}"}).encode())
        return f"{header}.{changed}.{signature}"
    if case.signing == "hs512":
        return jwt.encode(claims, "k" * 64, algorithm="HS512", headers=headers)
    if case.signing == "none":
        return _by_hand({"alg": "none", "typ": "JWT", **(headers or {})}, claims)
    if case.signing == "unknown_kid":
        return jwt.encode(claims, signing_key, algorithm, headers={"kid": "no-such-key"})
    if case.signing == "no_kid":
        return jwt.encode(claims, signing_key, algorithm)
    if case.signing == "hs256_public_key":
        pem = signing_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        return _by_hand({"alg": "HS256", "typ": "JWT", **headers}, claims, secret=pem)
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers=headers)


def case_www_authenticate(case: Case, *, realm: str) -> str:
    """The `WWW-Authenticate` of the case's 401 (RFC 6750 3): no error code without
    credentials, `invalid_request` for a malformed header, `invalid_token` otherwise."""
    challenge = f'Bearer realm="{realm}"'
    if case.detail == NOT_PROVIDED:
        return challenge
    error = "invalid_request" if case.detail == BAD_HEADER else "invalid_token"
    return f'{challenge}, error="{error}", error_description="{case.detail}"'


def case_header(case: Case, token: str) -> dict[str, str]:
    """The request headers of the case: its Authorization header, or none."""
    if case.header is None:
        return {}
    return {"Authorization": case.header.replace("{token}", token)}

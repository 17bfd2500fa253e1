"""Access-token signing keys: fresh Ed25519 key pairs as JSON Web Keys (RFC 8037), made by
`cryptography`."""

import base64
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def json_compact(value: object) -> str:
    """Return value as one line of JSON without spaces, the form .env holds."""
    return json.dumps(value, separators=(",", ":"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_key_pair() -> tuple[dict[str, str], dict[str, str]]:
    """Return a fresh Ed25519 key pair as (private JWK, public JWK). The kid is the public
    key's RFC 7638 thumbprint: unique, and checkable by anyone."""
    key = Ed25519PrivateKey.generate()
    public = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(key.public_key().public_bytes_raw())}
    # RFC 7638 3.2: the required members in lexicographic order, no whitespace.
    thumbprint = hashlib.sha256(json.dumps(public, sort_keys=True, separators=(",", ":")).encode())
    kid = _b64url(thumbprint.digest())
    return {**public, "d": _b64url(key.private_bytes_raw()), "kid": kid}, {**public, "kid": kid}

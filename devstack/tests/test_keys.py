"""devstack.keys: the Ed25519 key pairs that `make env` and a rotation write."""

import base64
import hashlib
import json

import jwt

from devstack.keys import jwt_key_pair


def test_key_pair_signs_tokens_that_its_public_key_verifies():
    private, public = jwt_key_pair()

    signing_key = jwt.PyJWK(private)
    token = jwt.encode({"a": 1}, signing_key, headers={"kid": private["kid"]})
    assert jwt.decode(token, jwt.PyJWK(public), algorithms=["EdDSA"]) == {"a": 1}
    assert (signing_key.algorithm_name, set(public)) == ("EdDSA", {"crv", "kty", "x", "kid"})


def test_each_key_pair_is_new():
    first, second = jwt_key_pair()[0], jwt_key_pair()[0]

    assert (first["d"], first["kid"]) != (second["d"], second["kid"])


def test_kid_is_the_rfc_7638_thumbprint_of_the_public_key():
    private, public = jwt_key_pair()
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": public["x"]}, separators=(",", ":")
    ).encode()

    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    assert private["kid"] == public["kid"] == expected

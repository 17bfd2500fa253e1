import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from jwt.algorithms import OKPAlgorithm

from app.main import create_app
from app.settings import Settings

# At least 64 bytes: long enough for HS512 too (RFC 7518 section 3.2), so no key-length warning.
SECRET = "test-secret-" + "0123456789abcdef" * 3 + "-padding-to-64-bytes"
assert len(SECRET) >= 64
# The auth service's key pair, as the suite plays it: the private half signs, the service gets
# the public half only.
KID = "test-key-1"
PRIVATE_KEY = Ed25519PrivateKey.generate()
PUBLIC_JWK = {**OKPAlgorithm.to_jwk(PRIVATE_KEY.public_key(), as_dict=True), "kid": KID}
PUBLIC_KEYS = json.dumps({"keys": [PUBLIC_JWK]})
SETTING_NAMES = tuple(Settings.model_fields)
DEFAULT = object()


def settings_of(mode: str) -> Settings:
    """Settings of the test app in `mode` (EdDSA or HS256), given in full so that the
    environment plays no part."""
    keys = {"JWT_PUBLIC_KEYS": PUBLIC_KEYS} if mode == "EdDSA" else {"JWT_SECRET": SECRET}
    return Settings(
        JWT_ALGORITHM=mode,
        **keys,
        JWT_ISSUER="auth-service",
        JWT_AUDIENCE="game-platform",
        JWT_LEEWAY=5,
        GAME_FILE=None,
        GAME_SEED=2024,
    )


def another_key(settings: Settings) -> object:
    """A key of the settings' mode that the service does not hold: another Ed25519 private key
    (to sign under the known kid), or another secret."""
    if settings.JWT_ALGORITHM == "EdDSA":
        return Ed25519PrivateKey.generate()
    return "another-secret-" + "x" * 64


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No test sees a setting exported in the shell that runs it."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def settings():
    """Settings of the test app in the default mode, EdDSA."""
    return settings_of("EdDSA")


@pytest.fixture(scope="session")
def client(settings):
    """A started app (lifespan run) serving the game generated with GAME_SEED 2024."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def make_token(settings):
    """Sign an access token as the auth service does in the settings' mode; keyword arguments
    override or, with None, remove claims; key, algorithm and headers forge another one."""
    eddsa = settings.JWT_ALGORITHM == "EdDSA"

    def make(*, key=DEFAULT, algorithm=None, headers=None, **overrides):
        if key is DEFAULT:
            key = PRIVATE_KEY if eddsa else SECRET
        algorithm = algorithm or settings.JWT_ALGORITHM
        if headers is None and eddsa:
            headers = {"kid": KID}
        now = int(time.time())
        claims = {
            "sub": "42",
            "iat": now,
            "exp": now + 30,
            "jti": uuid.uuid4().hex,
            "iss": "auth-service",
            "aud": "game-platform",
            "token_type": "access",
            "sid": str(uuid.uuid4()),
        }
        claims.update(overrides)
        claims.setdefault("auth_time", claims["iat"])
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)

    return make

import time
import uuid

import jwt
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

# At least 64 bytes: long enough for HS512 too (RFC 7518 section 3.2), so no key-length warning.
SECRET = "test-secret-" + "0123456789abcdef" * 3 + "-padding-to-64-bytes"
assert len(SECRET) >= 64
SETTING_NAMES = tuple(Settings.model_fields)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No test sees a setting exported in the shell that runs it."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def settings():
    """Settings of the test app, given in full so that the environment plays no part."""
    return Settings(
        JWT_SECRET=SECRET,
        JWT_ALGORITHM="HS256",
        JWT_ISSUER="auth-service",
        JWT_AUDIENCE="game-platform",
        JWT_LEEWAY=5,
        GAME_FILE=None,
        GAME_SEED=2024,
    )


@pytest.fixture(scope="session")
def client(settings):
    """A started app (lifespan run) serving the game generated with GAME_SEED 2024."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def make_token():
    """Sign an access token as the auth service does; keyword arguments override or,
    with None, remove claims; key and algorithm pick another signature."""

    def make(*, key=SECRET, algorithm="HS256", headers=None, **overrides):
        now = int(time.time())
        claims = {
            "sub": "42",
            "iat": now,
            "exp": now + 30,
            "jti": uuid.uuid4().hex,
            "iss": "auth-service",
            "aud": "game-platform",
            "token_type": "access",
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)

    return make

"""Shared fixtures, and the skips of tests whose backend is missing (which
REQUIRE_FULL_STACK=1 turns into failures: devstack/full_stack.py)."""

import os
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import RefreshToken, User
from accounts.services import sessions, users
from accounts.tokens import access_token_encode

PASSWORD = "Str0ng-Passw0rd!"


def pytest_runtest_setup(item: pytest.Item) -> None:
    on_postgresql = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if item.get_closest_marker("postgresql") and not on_postgresql:
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if item.get_closest_marker("redis") and not django_settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    if item.get_closest_marker("redis_server") and not shutil.which("redis-server"):
        pytest.skip("needs the redis-server program (apt-get install redis-server)")


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Throttle counters (and, on Redis, constance values) must not leak between tests."""
    cache.clear()


@pytest.fixture(autouse=True)
def _test_settings(settings) -> None:
    # Argon2 is deliberately slow; the suite hashes hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest exists only after collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# Where the throttles count (accounts/throttle_store.py): Redis, or the database, which is
# also the fallback while Redis is down. Threads need PostgreSQL for the database: SQLite's
# in-memory test database refuses concurrent writers instead of making them wait.
THROTTLE_STORES = [pytest.param("redis", marks=pytest.mark.redis), "database"]
CONCURRENT_THROTTLE_STORES = [
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("database", marks=pytest.mark.postgresql),
]


@pytest.fixture(params=THROTTLE_STORES)
def throttle_store(request: pytest.FixtureRequest, settings) -> str:
    """Run the test with each throttle store: REDIS_URL's Redis, then the database."""
    if request.param == "database":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return request.param


def concurrently(count: int, call: Callable[[int], object]) -> Counter:
    """Run call(0) ... call(count - 1) in threads released at once; return how many times
    each result came back."""
    barrier = threading.Barrier(count)

    def run(n: int) -> object:
        try:
            barrier.wait()
            return call(n)
        finally:
            connections.close_all()  # this thread's own; the test database is dropped after

    with ThreadPoolExecutor(count) as pool:
        return Counter(pool.map(run, range(count)))


class CountingPasswordHasher(MD5PasswordHasher):
    """A fast hasher that counts how often a password is hashed (timing, without a clock)."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture
def counting_hasher(settings) -> type[CountingPasswordHasher]:
    settings.PASSWORD_HASHERS = ["tests.conftest.CountingPasswordHasher"]
    CountingPasswordHasher.calls = 0
    return CountingPasswordHasher


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db) -> User:
    return users.user_create(email="player@example.com", password=PASSWORD)


@pytest.fixture
def other_user(db) -> User:
    return users.user_create(email="other@example.com", password=PASSWORD)


@pytest.fixture
def pair(user) -> sessions.TokenPair:
    return sessions.token_pair_issue(user_id=user.pk)


def stored(token: str) -> RefreshToken:
    return RefreshToken.objects.get(digest=sessions.refresh_token_digest(token=uuid.UUID(token)))


def rotate(token: str) -> sessions.TokenPair:
    return sessions.refresh_token_rotate(token=uuid.UUID(token))


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def claims(user_id: int, **overrides) -> dict:
    """Valid access-token claims for `user_id`, changed by `overrides` (None drops one)."""
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + 30,
        "jti": uuid.uuid4().hex,
        "iss": django_settings.JWT_ISSUER,
        "aud": django_settings.JWT_AUDIENCE,
        "token_type": "access",
        "sid": str(uuid.uuid4()),
    }
    payload.update(overrides)
    payload.setdefault("auth_time", payload["iat"])
    return {key: value for key, value in payload.items() if value is not None}


@pytest.fixture(params=["EdDSA", "HS256"])
def jwt_mode(request: pytest.FixtureRequest, settings) -> str:
    """Run the test in both signing modes: EdDSA (the default) and HS256 with JWT_SECRET."""
    if request.param == "HS256":
        settings.JWT_ALGORITHM = "HS256"
        settings.JWT_SECRET = os.environ["JWT_SECRET"]  # pytest.ini's
        settings.JWT_SIGNING_KEY = None
        settings.JWT_VERIFYING_KEYS = {}
    return request.param


def sign(payload: dict) -> str:
    """Sign `payload` with PyJWT as the auth service does in the current mode (EdDSA with the
    active key's kid, or HMAC with JWT_SECRET)."""
    if django_settings.JWT_ALGORITHM == "EdDSA":
        key = django_settings.JWT_SIGNING_KEY
        return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": key.key_id})
    return jwt.encode(payload, django_settings.JWT_SECRET, algorithm=django_settings.JWT_ALGORITHM)


def issued(user_id: int, *, lifetime: int = 30, session_id: str = "session-1") -> str:
    """An access token as the auth service issues it, in a session signed in just now."""
    return access_token_encode(
        user_id=user_id,
        session_id=session_id,
        authenticated_at=datetime.now(UTC),
        lifetime=timedelta(seconds=lifetime),
    )


@pytest.fixture
def make_token() -> Callable[..., str]:
    def make(user_id: int, **overrides) -> str:
        return sign(claims(user_id, **overrides))

    return make

"""accounts/redis_outage.py: authentication keeps working while Redis is down.

Each test runs its own redis-server on a free port and stops it: the machine's shared Redis is
never touched.
"""

import logging
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from constance import config
from django.core.cache import caches
from django.test import override_settings
from django.utils.functional import empty
from rest_framework.test import APIClient

from accounts import redis_outage
from accounts.redis_outage import LastKnownRedisBackend, RedisOutage
from tests.conftest import PASSWORD, concurrently
from tests.test_throttles import right_password_after_many_other_failures

pytestmark = [pytest.mark.django_db, pytest.mark.redis_server]


class RedisServer:
    """A redis-server of the test's own, with append-only persistence in a temp folder."""

    def __init__(self, directory: Path, password: str = "") -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.directory = directory
        self.password = password
        self.process: subprocess.Popen | None = None
        self.url = f"redis://{f':{password}@' if password else ''}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--save",
                "",
                *(["--requirepass", self.password] if self.password else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        # Ready when it says so (after replaying its append-only file); no polling.
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                # The rest of its log is not read (Redis ignores SIGPIPE).
                self.process.stdout.close()
                return
        raise RuntimeError(f"redis-server on port {self.port} exited during start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def server(tmp_path) -> Iterator[RedisServer]:
    running = RedisServer(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _fresh_outage_state(monkeypatch) -> None:
    monkeypatch.setattr(redis_outage, "outage", RedisOutage())


@pytest.fixture
def cache_on(server) -> Iterator[None]:
    """The Django cache (the throttles' store) on the test's server."""
    location = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": server.url}
    with override_settings(CACHES={"default": location}):
        yield
    caches["default"].close()


@pytest.fixture
def constance_on(server) -> Iterator[None]:
    """constance's backend on the test's server (the admin's Config page has a backend of its
    own: e2e/test_outages.py covers it)."""
    if config._wrapped is empty:
        config._setup()
    wrapped = config._wrapped
    previous = wrapped._backend
    with override_settings(REDIS_URL=server.url):
        object.__setattr__(wrapped, "_backend", LastKnownRedisBackend())
        yield
    object.__setattr__(wrapped, "_backend", previous)


def login(client, email: str, password: str = PASSWORD):
    return client.post("/api/login/", {"email": email, "password": password}, format="json")


def test_login_succeeds_while_redis_is_down(api_client, user, server, cache_on, constance_on):
    server.stop()

    response = login(api_client, user.email)

    assert response.status_code == 200


def test_register_succeeds_while_redis_is_down(api_client, server, cache_on, constance_on):
    server.stop()

    response = api_client.post(
        "/api/register/", {"email": "new@example.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 201


def test_login_throttle_still_limits_while_redis_is_down(api_client, user, server, cache_on):
    server.stop()
    for _ in range(5):  # THROTTLE_RATE_LOGIN_ACCOUNT_IP=5/min in pytest.ini
        assert login(api_client, user.email, "Wrong-Passw0rd!").status_code == 401

    response = login(api_client, user.email)

    assert response.status_code == 429


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_meet_the_limit_while_redis_is_down(user, server, cache_on):
    server.stop()

    statuses = concurrently(
        20, lambda n: login(APIClient(), user.email, "Wrong-Passw0rd!").status_code
    )

    assert statuses == {401: 5, 429: 15}  # THROTTLE_RATE_LOGIN_ACCOUNT_IP=5/min


def test_a_locked_account_stays_locked_while_redis_is_down(api_client, user, server, cache_on):
    server.stop()

    assert right_password_after_many_other_failures(api_client, user) == 429


def test_a_redis_outage_logs_one_warning_not_one_per_request(
    api_client, user, server, cache_on, constance_on, caplog, monkeypatch
):
    monkeypatch.setattr(redis_outage, "RETRY_INTERVAL", 0.0)  # every request tries Redis
    server.stop()

    with caplog.at_level(logging.WARNING, logger="accounts.redis_outage"):
        for _ in range(3):
            login(api_client, user.email)

    warnings = [r.getMessage() for r in caplog.records if r.name == "accounts.redis_outage"]
    assert len(warnings) == 1
    assert warnings[0].startswith("Redis is unreachable")


def test_throttles_count_in_redis_again_once_it_is_back(
    api_client, user, server, cache_on, monkeypatch
):
    monkeypatch.setattr(redis_outage, "RETRY_INTERVAL", 0.0)
    server.stop()
    login(api_client, user.email)
    server.start()

    login(api_client, user.email, "Wrong-Passw0rd!")  # only failures count per account

    assert redis.Redis.from_url(server.url).keys("*throttle_login_account*")


def test_a_dead_redis_is_skipped_for_a_while_after_a_failure(api_client, user, server, cache_on):
    server.stop()
    login(api_client, user.email)
    server.start()

    login(api_client, user.email)

    # Within RETRY_INTERVAL the second request counted in memory, without trying Redis.
    assert not redis.Redis.from_url(server.url).keys("*throttle*")


def test_lifetimes_keep_their_last_known_values_while_redis_is_down(server, constance_on):
    config.ACCESS_TOKEN_LIFETIME = 77
    assert config.ACCESS_TOKEN_LIFETIME == 77
    server.stop()

    assert config.ACCESS_TOKEN_LIFETIME == 77


def test_lifetimes_are_the_defaults_when_redis_was_down_from_the_start(server, constance_on):
    LastKnownRedisBackend().set("ACCESS_TOKEN_LIFETIME", 77)  # by another process
    server.stop()

    assert config.ACCESS_TOKEN_LIFETIME == 30


def test_lifetimes_saved_before_an_outage_apply_again_after_it(server, constance_on, monkeypatch):
    monkeypatch.setattr(redis_outage, "RETRY_INTERVAL", 0.0)
    config.ACCESS_TOKEN_LIFETIME = 77
    server.stop()
    server.start()  # append-only file: the value survives the restart
    redis_outage.outage = RedisOutage()
    object.__setattr__(config._wrapped, "_backend", LastKnownRedisBackend())  # a fresh process

    assert config.ACCESS_TOKEN_LIFETIME == 77


def test_health_names_the_cache_while_redis_is_down(api_client, server, cache_on):
    server.stop()

    response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "cache": "unavailable"}

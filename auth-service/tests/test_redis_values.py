"""accounts/redis_values.py: whoever writes to Redis runs no code here and sets no lifetime
outside the admin's bounds. On the Redis of REDIS_URL, with the service's own settings."""

import json
import logging
import os
import pickle
from collections.abc import Iterator

import jwt
import pytest
from constance import codecs, config
from django.conf import settings
from django.core.cache import cache
from django.utils.functional import empty
from rest_framework.test import APIClient

from accounts.redis_outage import LastKnownRedisBackend, redis_client
from accounts.throttles import LoginIPThrottle
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


class Payload:
    """Unpickling it creates a folder: the proof that a pickle ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


@pytest.fixture(autouse=True)
def _fresh_constance_backend() -> Iterator[None]:
    """A backend that has read nothing yet: the last good values of other tests are gone."""
    if config._wrapped is empty:
        config._setup()
    previous = config._wrapped._backend
    object.__setattr__(config._wrapped, "_backend", LastKnownRedisBackend())
    yield
    object.__setattr__(config._wrapped, "_backend", previous)


def login_lifetime(api_client: APIClient, user) -> int:
    """Log `user` in; return the access token's lifetime (exp - iat), in seconds."""
    response = api_client.post(
        "/api/login/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    payload = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    return payload["exp"] - payload["iat"]


def constance_key_write(name: str, raw: bytes) -> None:
    """Write `raw` at constance's key for `name`, straight into Redis, as an intruder would."""
    redis_client().set(f"constance:auth:{name}", raw)


def warnings_of(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_a_pickle_planted_at_a_throttle_key_is_never_run(api_client, user, tmp_path, caplog):
    ran = tmp_path / "the-pickle-ran"
    throttle_key = LoginIPThrottle.cache_format % {"scope": "login_ip", "ident": "127.0.0.1"}
    redis_key = cache.client.make_key(throttle_key)
    cache.client.get_client(write=True).set(redis_key, pickle.dumps(Payload(str(ran))))

    with caplog.at_level(logging.WARNING, logger="accounts.throttle_store"):
        response = api_client.post(
            "/api/login/", {"email": user.email, "password": PASSWORD}, format="json"
        )

    assert response.status_code == 200
    assert not ran.exists()
    assert warnings_of(caplog, "accounts.throttle_store") == [
        f"Throttle key {throttle_key!r} held a string, not a window: replaced"
    ]
    # The throttle counts in a sorted set (accounts/throttle_store.py), now holding this login.
    assert cache.client.get_client().zcard(redis_key) == 1


def test_the_cache_stores_json(db):
    cache.set("a-key", [1.5, 2.5])

    assert json.loads(cache.client.get_client().get(cache.client.make_key("a-key"))) == [1.5, 2.5]


def test_a_pickle_planted_at_a_constance_key_is_never_run(api_client, user, tmp_path, caplog):
    ran = tmp_path / "the-pickle-ran"
    constance_key_write("ACCESS_TOKEN_LIFETIME", pickle.dumps(Payload(str(ran))))

    with caplog.at_level(logging.WARNING, logger="accounts.redis_outage"):
        lifetime = login_lifetime(api_client, user)

    assert not ran.exists()
    assert lifetime == 30  # the default
    (warning,) = warnings_of(caplog, "accounts.redis_outage")
    assert warning.startswith("constance's ACCESS_TOKEN_LIFETIME in Redis is not used (not ")


def test_a_ten_year_access_lifetime_written_into_redis_is_not_used(api_client, user, caplog):
    constance_key_write("ACCESS_TOKEN_LIFETIME", codecs.dumps(10 * 365 * 24 * 60 * 60).encode())

    with caplog.at_level(logging.WARNING, logger="accounts.redis_outage"):
        lifetime = login_lifetime(api_client, user)

    assert lifetime == 30
    assert warnings_of(caplog, "accounts.redis_outage") == [
        "constance's ACCESS_TOKEN_LIFETIME in Redis is not used (315360000: Ensure this value "
        "is less than or equal to 86400.): the last good value or the default applies instead."
    ]


def test_a_refused_lifetime_leaves_the_last_good_one_in_force(api_client, user):
    config.ACCESS_TOKEN_LIFETIME = 77
    assert login_lifetime(api_client, user) == 77

    constance_key_write("ACCESS_TOKEN_LIFETIME", codecs.dumps(0).encode())

    assert login_lifetime(api_client, user) == 77


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACCESS_TOKEN_LIFETIME", 0),
        ("ACCESS_TOKEN_LIFETIME", 86401),
        ("ACCESS_TOKEN_LIFETIME", 1.5),
        ("ACCESS_TOKEN_LIFETIME", True),
        ("ACCESS_TOKEN_LIFETIME", [60]),
        ("ACCESS_TOKEN_LIFETIME", "a while"),
        ("REFRESH_TOKEN_LIFETIME", 59),
        ("REFRESH_TOKEN_LIFETIME", 365 * 24 * 60 * 60 + 1),
        ("REFRESH_TOKEN_REUSE_GRACE", -1),
        ("REFRESH_TOKEN_REUSE_GRACE", 61),
    ],
)
def test_a_value_the_admin_would_refuse_is_not_used(name, value):
    constance_key_write(name, codecs.dumps(value).encode())

    assert getattr(config, name) == settings.CONSTANCE_CONFIG[name][0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACCESS_TOKEN_LIFETIME", 1),
        ("ACCESS_TOKEN_LIFETIME", 86400),
        ("REFRESH_TOKEN_LIFETIME", 60),
        ("REFRESH_TOKEN_REUSE_GRACE", 60),
    ],
)
def test_a_value_the_admin_accepts_is_used_as_written(name, value):
    constance_key_write(name, codecs.dumps(value).encode())

    assert getattr(config, name) == value

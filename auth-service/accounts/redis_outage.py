"""Living through a Redis outage: Redis holds throttle counters and the token lifetimes, but it
is not the system of record, so authentication keeps working while it is down.

- Throttles count in the database instead (accounts/throttle_store.py), still shared by every
  worker.
- constance answers with the last values this process read, or the defaults.
- After a failure, Redis is skipped for RETRY_INTERVAL seconds, so a dead server costs at
  most one bounded socket timeout per interval; one warning is logged per outage.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from constance import settings as constance_settings
from constance.backends.redisd import RedisBackend
from django.conf import settings
from django_redis.exceptions import ConnectionInterrupted

from accounts import metrics
from accounts.redis_values import UnusableValueError, config_value_load

logger = logging.getLogger(__name__)

# BusyLoadingError (Redis replaying its AOF after a restart) is a ConnectionError.
REDIS_DOWN_ERRORS = (redis.ConnectionError, redis.TimeoutError, ConnectionInterrupted)
RETRY_INTERVAL = 2.0
T = TypeVar("T")


def redis_client() -> redis.Redis:
    """Return a client for REDIS_URL that fails fast: short socket timeouts and no retries.

    redis-py retries a failed command 10 times with backoff by default, which turns a dead
    server into a request that hangs for seconds.
    """
    return redis.Redis.from_url(settings.REDIS_URL, **settings.REDIS_CLIENT_OPTIONS)


class RedisOutage:
    """Whether Redis answered this process lately; shared by the throttles and constance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retry_at = 0.0  # monotonic time before which Redis is skipped; 0: it is up

    def call(self, through_redis: Callable[[], T], fallback: Callable[[], T]) -> T:
        """Return through_redis(), or fallback() while Redis is unreachable or skipped."""
        if self._retry_at and time.monotonic() < self._retry_at:
            return fallback()
        try:
            result = through_redis()
        except REDIS_DOWN_ERRORS as error:
            self._failed(error)
            return fallback()
        if self._retry_at:
            self._answered()
        return result

    def _failed(self, error: Exception) -> None:
        with self._lock:
            if not self._retry_at:
                logger.warning(
                    "Redis is unreachable (%s): throttles count in the database and token "
                    "lifetimes keep their last known values until it is back.",
                    error,
                )
            self._retry_at = time.monotonic() + RETRY_INTERVAL
            metrics.REDIS_FALLBACK.set(1)

    def _answered(self) -> None:
        with self._lock:
            if self._retry_at:
                logger.warning("Redis is reachable again: throttles and lifetimes use it.")
            self._retry_at = 0.0
            metrics.REDIS_FALLBACK.set(0)


outage = RedisOutage()


class LastKnownRedisBackend(RedisBackend):
    """constance's plain Redis backend (every read goes to Redis, so an admin change applies
    in every worker), answering with the last values read while Redis is unreachable.

    A value read is used only if the admin's field accepts it (accounts/redis_values.py);
    otherwise the last good value or the default, with a warning. Writes (the admin's Config
    page) still fail during an outage: they must not be lost.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rd = redis_client()
        self._last_known: dict[str, object] = {}

    def get(self, key: str):
        def through_redis() -> object:
            raw = self._rd.get(self.add_prefix(key))
            try:
                # None when missing: constance then stores the default.
                self._last_known[key] = config_value_load(key, raw) if raw else None
            except UnusableValueError as error:
                logger.warning(
                    "constance's %s in Redis is not used (%s): the last good value or the "
                    "default applies instead.",
                    key,
                    error,
                )
                return self._known(key)
            return self._last_known[key]

        return outage.call(through_redis, lambda: self._known(key))

    def mget(self, keys: list[str]) -> dict[str, object]:
        values = {key: self.get(key) for key in keys}
        return {key: value for key, value in values.items() if value is not None}

    def _known(self, key: str) -> object:
        # Never None: constance would write its default back to Redis, which is down.
        value = self._last_known.get(key)
        return constance_settings.CONFIG[key][0] if value is None else value

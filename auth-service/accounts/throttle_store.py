"""Where the throttles count: sliding windows of hits, each hit refused or recorded in one
atomic step, so that no interleaving of concurrent requests lets more than the limit into a
window (a read of the count, then a write of it, let every concurrent request pass).

- With Redis as the cache: one Lua script per hit on a sorted set; Redis runs a script alone.
- Without Redis (the embedded default), and while Redis is unreachable: the database, in one
  transaction that locks the window's row before reading it.

Either store is shared by every worker of every process, and neither evicts a window before
it ends (Django's LocMemCache culled them past 300 keys, unlocking a locked account).
A recorded hit can be given back: a login that succeeds counts no failure.

Why the database and not another cache: it is the one store every process already shares,
and SQLite serialises writers; a file-based cache has no atomic update, and a cache may
evict. Windows that have ended are purged at most once a minute per process, by one indexed
DELETE. A Redis outage starts the database's counts from zero, as a restarted Redis would.
"""

import logging
import math
import secrets
from dataclasses import dataclass

from django.core.cache import caches
from django.db import transaction
from django_redis import get_redis_connection
from django_redis.cache import RedisCache

from accounts import redis_outage
from accounts.models import ThrottleWindow

logger = logging.getLogger(__name__)

PURGE_INTERVAL = 60.0

# KEYS[1]: the window, a sorted set of hit ids scored by time. ARGV: now, duration, limit, id.
# Returns {allowed, hits in the window, time of the oldest (a string: Lua numbers reach the
# client as integers), the type of a foreign value found at the key and replaced, if any}.
# Nothing read here is ever deserialised: a value planted at the key is only deleted.
HIT_SCRIPT = """
local found = redis.call('TYPE', KEYS[1]).ok
if found ~= 'zset' and found ~= 'none' then
  redis.call('DEL', KEYS[1])
else
  found = false
end
local now, duration = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or ARGV[1]
if count >= tonumber(ARGV[3]) then
  return {0, count, oldest, found}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(duration * 1000))
return {1, count + 1, oldest, found}
"""


@dataclass(frozen=True)
class Hit:
    """One request counted (allowed) or refused in the window `key`."""

    key: str
    id: str
    allowed: bool
    retry_after: float  # seconds until the window's oldest hit leaves it
    duration: float
    in_redis: bool


def window_hit(key: str, *, limit: int, duration: float, now: float) -> Hit:
    """Count one hit at `now` in the window `key` (the last `duration` seconds) unless it
    holds `limit` hits already; return the outcome."""
    hit_id = secrets.token_hex(8)

    def counted(allowed: bool, oldest: float, in_redis: bool) -> Hit:
        retry_after = max(0.0, oldest + duration - now)
        return Hit(key, hit_id, allowed, retry_after, duration, in_redis)

    def through_redis() -> Hit:
        connection = get_redis_connection()
        script = connection.register_script(HIT_SCRIPT)
        allowed, _, oldest, found = script(
            keys=[caches["default"].make_key(key)], args=[repr(now), duration, limit, hit_id]
        )
        if found is not None:  # Lua's false arrives as None
            logger.warning("Throttle key %r held a %s, not a window: replaced", key, found.decode())
        return counted(bool(allowed), float(oldest), in_redis=True)

    def in_database() -> Hit:
        allowed = False

        def add(hits: list) -> list:
            nonlocal allowed
            allowed = len(hits) < limit
            return [*hits, [now, hit_id]] if allowed else hits

        hits = _database_window_change(key, duration=duration, now=now, change=add)
        return counted(allowed, min((t for t, _ in hits), default=now), in_redis=False)

    if not isinstance(caches["default"], RedisCache):
        return in_database()
    return redis_outage.outage.call(through_redis, in_database)


def window_release(hit: Hit, *, now: float) -> None:
    """Give back an allowed hit: the window counts it no more. A hit counted in Redis just
    before an outage stays counted until its window ends."""
    if not hit.allowed:
        return
    if hit.in_redis:
        redis_outage.outage.call(
            lambda: get_redis_connection().zrem(caches["default"].make_key(hit.key), hit.id),
            lambda: None,
        )
        return
    _database_window_change(
        hit.key,
        duration=hit.duration,
        now=now,
        change=lambda hits: [[t, i] for t, i in hits if i != hit.id],
    )


def _database_window_change(key: str, *, duration: float, now: float, change) -> list:
    """Replace the hits of window `key` still inside it by change(hits); return the result.

    The upsert comes first, so the row is locked before it is read: a row lock on PostgreSQL,
    the database's write lock on SQLite. Concurrent changes of one window wait for each other.
    """
    with transaction.atomic():
        ThrottleWindow.objects.bulk_create(
            [ThrottleWindow(key=key, expires_at=now)],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["expires_at"],
        )
        window = ThrottleWindow.objects.get(key=key)
        window.hits = change([[t, i] for t, i in window.hits if t > now - duration])
        window.expires_at = max((t for t, _ in window.hits), default=now) + duration
        window.save(update_fields=["hits", "expires_at"])
    _purge.when_due(now)
    return window.hits


class _Purge:
    """Deletes the windows that have ended, at most once per PURGE_INTERVAL in this process."""

    def __init__(self) -> None:
        self.due = -math.inf

    def when_due(self, now: float) -> None:
        if now >= self.due:
            self.due = now + PURGE_INTERVAL
            ThrottleWindow.objects.filter(expires_at__lt=now).delete()


_purge = _Purge()

"""accounts/throttle_store.py: atomic sliding windows in Redis or the database."""

import time

import pytest

from accounts import throttle_store as store
from accounts.models import ThrottleWindow
from accounts.throttle_store import PURGE_INTERVAL, window_hit, window_release
from tests.conftest import CONCURRENT_THROTTLE_STORES, concurrently

pytestmark = pytest.mark.django_db

LIMIT = 3
DURATION = 60


def hit(key: str = "w", *, now: float) -> store.Hit:
    return window_hit(key, limit=LIMIT, duration=DURATION, now=now)


def test_a_window_refuses_the_hit_over_its_limit(throttle_store):
    now = time.time()

    outcomes = [hit(now=now + n).allowed for n in range(LIMIT + 1)]

    assert outcomes == [True] * LIMIT + [False]


def test_a_refused_hit_waits_until_the_oldest_leaves_the_window(throttle_store):
    now = time.time()
    for n in range(LIMIT):
        hit(now=now + n)

    refused = hit(now=now + 10)

    assert refused.retry_after == pytest.approx(DURATION - 10)


def test_hits_leave_the_window_after_its_duration(throttle_store):
    now = time.time()
    for _ in range(LIMIT):
        hit(now=now)

    assert hit(now=now + DURATION + 1).allowed


def test_a_released_hit_frees_its_place(throttle_store):
    now = time.time()
    first = hit(now=now)
    for _ in range(LIMIT - 1):
        hit(now=now)

    window_release(first, now=now)

    assert hit(now=now).allowed
    assert not hit(now=now).allowed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("throttle_store", CONCURRENT_THROTTLE_STORES, indirect=True)
def test_concurrent_hits_never_exceed_the_limit(throttle_store):
    now = time.time()

    outcomes = concurrently(8 * LIMIT, lambda n: hit(now=now).allowed)

    assert outcomes == {True: LIMIT, False: 7 * LIMIT}


@pytest.mark.parametrize("throttle_store", ["database"], indirect=True)
def test_windows_are_purged_once_they_end_and_not_before(throttle_store, monkeypatch):
    monkeypatch.setattr(store, "_purge", store._Purge())
    now = time.time()
    window_hit("ended", limit=LIMIT, duration=DURATION, now=now)
    window_hit("long", limit=LIMIT, duration=3600, now=now)

    window_hit("new", limit=LIMIT, duration=DURATION, now=now + DURATION + PURGE_INTERVAL)

    assert set(ThrottleWindow.objects.values_list("key", flat=True)) == {"long", "new"}

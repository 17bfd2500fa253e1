"""The verified-token cache (app/token_cache.py, vendored byte-identical in the auth service,
so tested here once): what it serves, what it refuses to keep, and its bound."""

import threading
import time

import pytest

from app.auth import AccessClaims, AuthenticationFailed, access_token_decode
from app.token_cache import VerifiedTokenCache
from tests.conftest import another_key

LEEWAY = 5


class Clock:
    """A clock the test moves by hand; it starts at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class CountingVerifier:
    """The real verifier, counting its calls."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.calls = 0

    def __call__(self, token: str) -> AccessClaims:
        self.calls += 1
        return access_token_decode(token, settings=self.settings)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return VerifiedTokenCache(clock=clock)


@pytest.fixture
def verifier(settings):
    return CountingVerifier(settings)


def test_a_verified_token_is_served_again_without_a_second_verification(
    cache, verifier, make_token
):
    token = make_token(sub="7")

    first = cache.verify(token, verifier, leeway=LEEWAY)
    again = cache.verify(token, verifier, leeway=LEEWAY)

    assert again == first
    assert again.sub == "7"
    assert verifier.calls == 1


def test_a_refused_token_is_not_cached(cache, verifier, make_token):
    now = int(time.time())
    token = make_token(iat=now - 60, exp=now - 30)

    for _ in range(2):
        with pytest.raises(AuthenticationFailed) as refused:
            cache.verify(token, verifier, leeway=LEEWAY)
        assert refused.value.detail == "Token has expired."

    assert verifier.calls == 2
    assert len(cache) == 0


def test_a_token_signed_with_another_key_never_hits_the_cache(
    cache, verifier, make_token, settings
):
    now = int(time.time())
    same_claims = {"sub": "7", "jti": "same", "iat": now, "exp": now + 30}
    cache.verify(make_token(**same_claims), verifier, leeway=LEEWAY)
    forged = make_token(key=another_key(settings), **same_claims)

    assert cache.get(forged, leeway=LEEWAY) is None
    with pytest.raises(AuthenticationFailed) as refused:
        cache.verify(forged, verifier, leeway=LEEWAY)
    assert refused.value.detail == "Token is invalid."
    assert len(cache) == 1


def test_a_cached_token_is_served_until_its_expiry_plus_the_leeway(
    cache, verifier, clock, make_token
):
    now = int(clock.now)
    token = make_token(iat=now, exp=now + 30)
    cache.verify(token, verifier, leeway=LEEWAY)

    clock.now = now + 30 + LEEWAY - 1

    assert cache.get(token, leeway=LEEWAY) is not None


def test_a_cached_token_is_not_served_past_its_expiry_plus_the_leeway(
    cache, verifier, clock, make_token
):
    now = int(clock.now)
    token = make_token(iat=now, exp=now + 30)
    cache.verify(token, verifier, leeway=LEEWAY)

    clock.now = now + 30 + LEEWAY

    assert cache.get(token, leeway=LEEWAY) is None
    assert len(cache) == 0


def test_a_cached_token_is_not_served_when_the_clock_is_back_before_its_nbf(
    cache, verifier, clock, make_token
):
    now = int(clock.now)
    token = make_token(iat=now - 60, nbf=now)
    cache.verify(token, verifier, leeway=LEEWAY)

    clock.now = now - LEEWAY - 1

    assert cache.get(token, leeway=LEEWAY) is None


def test_an_entry_lasts_as_long_as_the_claims_the_verifier_returned(cache, clock):
    # The token is never decoded again: its times are the verified claims' own.
    now = int(clock.now)
    claims = AccessClaims(sub="7", jti="j", iat=now, exp=now + 10)
    cache.verify("an-opaque-token", lambda token: claims, leeway=LEEWAY)

    clock.now = now + 10 + LEEWAY - 1
    assert cache.get("an-opaque-token", leeway=LEEWAY) is claims
    clock.now = now + 10 + LEEWAY
    assert cache.get("an-opaque-token", leeway=LEEWAY) is None


def test_a_full_cache_drops_its_expired_tokens_first(verifier, clock, make_token):
    cache = VerifiedTokenCache(maxsize=2, clock=clock)
    now = int(clock.now)
    short = make_token(iat=now, exp=now + 10)
    long = make_token(iat=now, exp=now + 60)
    cache.verify(short, verifier, leeway=LEEWAY)
    cache.verify(long, verifier, leeway=LEEWAY)
    clock.now = now + 10 + LEEWAY

    newest = make_token(iat=now, exp=now + 60)
    cache.verify(newest, verifier, leeway=LEEWAY)

    assert len(cache) == 2
    assert cache.get(long, leeway=LEEWAY) is not None
    assert cache.get(newest, leeway=LEEWAY) is not None


def test_a_full_cache_of_live_tokens_drops_the_oldest(verifier, make_token):
    cache = VerifiedTokenCache(maxsize=3)
    tokens = [make_token() for _ in range(4)]

    for token in tokens:
        cache.verify(token, verifier, leeway=LEEWAY)

    assert len(cache) == 3
    assert cache.get(tokens[0], leeway=LEEWAY) is None
    assert all(cache.get(token, leeway=LEEWAY) is not None for token in tokens[1:])


def test_threads_sharing_the_cache_each_get_their_own_tokens_claims(settings, make_token):
    cache = VerifiedTokenCache(maxsize=50)
    tokens = {str(sub): make_token(sub=str(sub)) for sub in range(1, 201)}
    wrong = []

    def work(subs: list[str]) -> None:
        for _ in range(3):
            for sub in subs:
                claims = cache.verify(
                    tokens[sub],
                    lambda token: access_token_decode(token, settings=settings),
                    leeway=LEEWAY,
                )
                if claims.sub != sub:
                    wrong.append((sub, claims.sub))

    subs = list(tokens)
    threads = [threading.Thread(target=work, args=(subs[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    assert len(cache) <= 50

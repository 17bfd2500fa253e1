"""The verified-token cache (accounts/token_contract.py): what it serves, keeps and drops."""

import threading
import time

import pytest

from accounts.token_contract import AccessTokenError, VerifiedTokenCache
from accounts.tokens import AccessTokenClaims, access_token_decode
from tests.conftest import another_key, claims, sign

LEEWAY = 5


class Clock:
    """A clock the test moves by hand; it starts at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class CountingVerifier:
    """The real verifier, counting its calls."""

    calls = 0

    def __call__(self, token: str) -> AccessTokenClaims:
        self.calls += 1
        return access_token_decode(token)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return VerifiedTokenCache(clock=clock)


@pytest.fixture
def verifier():
    return CountingVerifier()


def test_a_verified_token_is_served_again_without_a_second_verification(cache, verifier):
    token = sign(claims(7))

    first = cache.verify(token, verifier, leeway=LEEWAY)
    again = cache.verify(token, verifier, leeway=LEEWAY)

    assert again == first
    assert again.user_id == 7
    assert verifier.calls == 1


def test_a_refused_token_is_not_cached(cache, verifier):
    now = int(time.time())
    token = sign(claims(7, iat=now - 60, exp=now - 30))

    for _ in range(2):
        with pytest.raises(AccessTokenError) as refused:
            cache.verify(token, verifier, leeway=LEEWAY)
        assert str(refused.value) == "Token has expired."

    assert verifier.calls == 2
    assert len(cache) == 0


def test_a_token_signed_with_another_key_never_hits_the_cache(cache, verifier):
    same_claims = claims(7, jti="same")
    cache.verify(sign(same_claims), verifier, leeway=LEEWAY)
    forged = sign(same_claims, key=another_key())

    assert cache.get(forged, leeway=LEEWAY) is None
    with pytest.raises(AccessTokenError) as refused:
        cache.verify(forged, verifier, leeway=LEEWAY)
    assert str(refused.value) == "Token is invalid."
    assert len(cache) == 1


def test_a_cached_token_is_served_until_its_expiry_plus_the_leeway(cache, verifier, clock):
    now = int(clock.now)
    token = sign(claims(7, iat=now, exp=now + 30))
    cache.verify(token, verifier, leeway=LEEWAY)

    clock.now = now + 30 + LEEWAY - 1

    assert cache.get(token, leeway=LEEWAY) is not None


def test_a_cached_token_is_not_served_past_its_expiry_plus_the_leeway(cache, verifier, clock):
    now = int(clock.now)
    token = sign(claims(7, iat=now, exp=now + 30))
    cache.verify(token, verifier, leeway=LEEWAY)

    clock.now = now + 30 + LEEWAY

    assert cache.get(token, leeway=LEEWAY) is None
    assert len(cache) == 0


def test_a_cached_token_is_not_served_when_the_clock_is_back_before_its_nbf(cache, verifier, clock):
    now = int(clock.now)
    token = sign(claims(7, iat=now - 60, nbf=now))
    cache.verify(token, verifier, leeway=LEEWAY)

    clock.now = now - LEEWAY - 1

    assert cache.get(token, leeway=LEEWAY) is None


def test_a_token_whose_times_cannot_be_read_is_not_cached(cache):
    accepted = cache.verify("not-a-jwt", lambda token: "accepted", leeway=LEEWAY)

    assert accepted == "accepted"
    assert len(cache) == 0


def test_a_full_cache_drops_its_expired_tokens_first(verifier, clock):
    cache = VerifiedTokenCache(maxsize=2, clock=clock)
    now = int(clock.now)
    short = sign(claims(1, iat=now, exp=now + 10))
    long = sign(claims(2, iat=now, exp=now + 60))
    cache.verify(short, verifier, leeway=LEEWAY)
    cache.verify(long, verifier, leeway=LEEWAY)
    clock.now = now + 10 + LEEWAY

    newest = sign(claims(3, iat=now, exp=now + 60))
    cache.verify(newest, verifier, leeway=LEEWAY)

    assert len(cache) == 2
    assert cache.get(long, leeway=LEEWAY) is not None
    assert cache.get(newest, leeway=LEEWAY) is not None


def test_a_full_cache_of_live_tokens_drops_the_oldest(verifier):
    cache = VerifiedTokenCache(maxsize=3)
    tokens = [sign(claims(user_id)) for user_id in range(1, 5)]

    for token in tokens:
        cache.verify(token, verifier, leeway=LEEWAY)

    assert len(cache) == 3
    assert cache.get(tokens[0], leeway=LEEWAY) is None
    assert all(cache.get(token, leeway=LEEWAY) is not None for token in tokens[1:])


def test_threads_sharing_the_cache_each_get_their_own_tokens_claims():
    cache = VerifiedTokenCache(maxsize=50)
    tokens = {user_id: sign(claims(user_id)) for user_id in range(1, 201)}
    wrong = []

    def work(user_ids: list[int]) -> None:
        for _ in range(3):
            for user_id in user_ids:
                verified = cache.verify(tokens[user_id], access_token_decode, leeway=LEEWAY)
                if verified.user_id != user_id:
                    wrong.append((user_id, verified.user_id))

    user_ids = list(tokens)
    threads = [threading.Thread(target=work, args=(user_ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    assert len(cache) <= 50

"""REFRESH_TOKEN_REUSE_GRACE: a token just rotated can be exchanged once more, briefly."""

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from constance import config
from django.db import connection

from accounts import errors
from accounts.models import RefreshToken
from accounts.services import sessions, users
from tests.conftest import PASSWORD, rotate, stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace() -> int:
    config.REFRESH_TOKEN_REUSE_GRACE = 10
    return 10


def test_the_default_grace_is_zero_so_any_reuse_revokes_the_family(pair):
    second = rotate(pair.refresh_token)

    with pytest.raises(errors.RefreshTokenError, match="revoked"):
        rotate(pair.refresh_token)

    assert stored(second.refresh_token).revoked_at is not None


def test_within_the_grace_the_rotated_token_gets_a_pair_in_the_same_family(pair, grace):
    first = rotate(pair.refresh_token)

    again = rotate(pair.refresh_token)

    assert stored(again.refresh_token).family == stored(pair.refresh_token).family
    assert stored(first.refresh_token).revoked_at is None


def test_the_grace_exchange_works_once_then_the_reuse_revokes_the_family(pair, grace):
    first = rotate(pair.refresh_token)
    again = rotate(pair.refresh_token)

    with pytest.raises(errors.RefreshTokenError, match="revoked"):
        rotate(pair.refresh_token)

    assert stored(first.refresh_token).revoked_at is not None
    assert stored(again.refresh_token).revoked_at is not None


def test_after_the_grace_the_reuse_revokes_the_family(pair, grace):
    first = rotate(pair.refresh_token)

    with (
        time_machine.travel(timedelta(seconds=grace + 1)),
        pytest.raises(errors.RefreshTokenError, match="revoked"),
    ):
        rotate(pair.refresh_token)

    assert stored(first.refresh_token).revoked_at is not None


def test_only_the_token_rotated_last_keeps_a_grace(pair, grace):
    # The review's repro: T0 -> T1 -> T2, then T0 and T1 replayed within the grace: 3 live
    # tokens and no family revoked.
    first = rotate(pair.refresh_token)
    rotate(first.refresh_token)

    with pytest.raises(errors.RefreshTokenError, match="revoked"):
        rotate(pair.refresh_token)

    family = stored(pair.refresh_token).family
    assert not RefreshToken.objects.filter(family=family, revoked_at__isnull=True).exists()


def test_a_logout_of_the_new_token_ends_the_grace_of_the_rotated_one(pair, grace):
    first = rotate(pair.refresh_token)
    sessions.refresh_token_revoke(token=uuid.UUID(first.refresh_token))

    with pytest.raises(errors.RefreshTokenError, match="revoked"):
        rotate(pair.refresh_token)


def test_logout_everywhere_ends_the_grace_of_every_rotated_token(user, pair, grace):
    rotate(pair.refresh_token)
    other = sessions.token_pair_issue(user_id=user.pk)
    sessions.refresh_token_revoke(token=uuid.UUID(other.refresh_token), all_sessions=True)

    with pytest.raises(errors.RefreshTokenError, match="revoked"):
        rotate(pair.refresh_token)


def test_the_grace_is_shown_on_the_admins_config_page(admin_client):
    response = admin_client.get("/admin/constance/config/")

    assert b"REFRESH_TOKEN_REUSE_GRACE" in response.content


@pytest.mark.parametrize("seconds", ["-1", "61"])
def test_the_admin_refuses_a_grace_outside_0_to_60_seconds(admin_client, seconds):
    form = admin_client.get("/admin/constance/config/").context["form"]
    data = {name: form.initial[name] for name in form.fields if name in form.initial}

    response = admin_client.post(
        "/admin/constance/config/", {**data, "REFRESH_TOKEN_REUSE_GRACE": seconds}
    )

    assert "REFRESH_TOKEN_REUSE_GRACE" in response.context["form"].errors
    assert config.REFRESH_TOKEN_REUSE_GRACE == 0


def _concurrent_refreshes(token: str, count: int) -> list[object]:
    """Send token to rotate() from count threads at once; return each one's pair or error."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = []

    def refresh() -> None:
        try:
            barrier.wait()
            outcomes.append(rotate(token))
        except errors.RefreshTokenError as e:
            outcomes.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _races_within_the_grace(rounds: int, count: int) -> Iterator[list[object]]:
    """With a 10 s reuse grace, rounds times: a fresh refresh token sent by count threads at
    once; yield each round's outcomes."""
    config.REFRESH_TOKEN_REUSE_GRACE = 10
    user = users.user_create(email=f"racer-{count}@example.com", password=PASSWORD)
    for _ in range(rounds):
        token = sessions.token_pair_issue(user_id=user.pk).refresh_token
        yield _concurrent_refreshes(token, count)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_within_the_grace_both_get_a_live_pair():
    for outcomes in _races_within_the_grace(rounds=20, count=2):
        assert all(isinstance(o, sessions.TokenPair) for o in outcomes)
        assert all(stored(o.refresh_token).revoked_at is None for o in outcomes)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_three_concurrent_refreshes_within_the_grace_get_two_pairs_and_one_refusal():
    for outcomes in _races_within_the_grace(rounds=10, count=3):
        pairs = [o for o in outcomes if isinstance(o, sessions.TokenPair)]
        assert (len(pairs), len(outcomes)) == (2, 3)

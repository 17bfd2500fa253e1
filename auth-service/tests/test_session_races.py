"""Every session ends, even against a concurrent refresh or login: real threads on PostgreSQL."""

import contextlib
import threading
import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import errors
from accounts.models import RefreshToken, User
from accounts.services import sessions, users
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

TRIALS = 50
NEW_PASSWORD = "An0ther-Passw0rd!"


def _logout_everywhere(user: User, other_session: str) -> None:
    sessions.refresh_token_revoke(token=uuid.UUID(other_session), all_sessions=True)


def _password_change(user: User, other_session: str) -> None:
    users.password_change(user=user, current_password=PASSWORD, new_password=NEW_PASSWORD)


def _password_reset(user: User, other_session: str) -> None:
    users.password_reset_confirm(
        uid=urlsafe_base64_encode(force_bytes(user.pk)),
        token=default_token_generator.make_token(user),
        new_password=NEW_PASSWORD,
    )


def _end_others(user: User, other_session: str) -> None:
    # The other session asks: the refreshed one is among those it ends.
    sessions.sessions_end_others(user_id=user.pk, current_session=_family(other_session))


def _family(token: str) -> uuid.UUID:
    return RefreshToken.objects.get(
        digest=sessions.refresh_token_digest(token=uuid.UUID(token))
    ).family


def _race(*runs: Callable[[], None]) -> None:
    """Run each of `runs` in its own thread, all released at once; each closes its own
    database connection."""
    barrier = threading.Barrier(len(runs))

    def run(body: Callable[[], None]) -> None:
        try:
            barrier.wait()
            body()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(body,)) for body in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _live(pairs: list[sessions.TokenPair]) -> int:
    """How many of `pairs` still have an active refresh token."""
    digests = [sessions.refresh_token_digest(token=uuid.UUID(p.refresh_token)) for p in pairs]
    return RefreshToken.objects.filter(digest__in=digests, revoked_at=None).count()


def _survivors(end_sessions: Callable[[User, str], None]) -> int:
    """Run TRIALS races of a refresh against `end_sessions`; return how many pairs the
    refresh got whose refresh token is still active afterwards."""
    survivors = 0
    for trial in range(TRIALS):
        user = users.user_create(email=f"racer{trial}@example.com", password=PASSWORD)
        session_a = sessions.token_pair_issue(user_id=user.pk).refresh_token
        session_b = sessions.token_pair_issue(user_id=user.pk).refresh_token
        refreshed: list[sessions.TokenPair] = []

        def refresh(token: str = session_a, refreshed=refreshed) -> None:
            with contextlib.suppress(errors.RefreshTokenError):
                refreshed.append(sessions.refresh_token_rotate(token=uuid.UUID(token)))

        def end(user: User = user, token: str = session_b) -> None:
            end_sessions(User.objects.get(pk=user.pk), token)

        _race(refresh, end)
        survivors += _live(refreshed)
    return survivors


def test_ending_the_other_sessions_leaves_no_token_from_a_concurrent_refresh():
    assert _survivors(_end_others) == 0


def test_ending_a_session_leaves_no_token_from_its_concurrent_refresh():
    survivors = 0
    ended: list[bool] = []
    for trial in range(TRIALS):
        user = users.user_create(email=f"end-racer{trial}@example.com", password=PASSWORD)
        pair = sessions.token_pair_issue(user_id=user.pk)
        refreshed: list[sessions.TokenPair] = []

        def refresh(token: str = pair.refresh_token, refreshed=refreshed) -> None:
            with contextlib.suppress(errors.RefreshTokenError):
                refreshed.append(sessions.refresh_token_rotate(token=uuid.UUID(token)))

        def end(user: User = user, session_id: str = pair.session_id) -> None:
            ended.append(
                sessions.session_end(
                    user_id=user.pk, session_id=uuid.UUID(session_id), reason="ended"
                )
            )

        _race(refresh, end)
        survivors += _live(refreshed)
    assert (survivors, ended) == (0, [True] * TRIALS)


def test_logout_everywhere_leaves_no_token_from_a_concurrent_refresh():
    assert _survivors(_logout_everywhere) == 0


def test_password_change_leaves_no_token_from_a_concurrent_refresh():
    assert _survivors(_password_change) == 0


def test_password_reset_leaves_no_token_from_a_concurrent_refresh():
    assert _survivors(_password_reset) == 0


def test_a_login_racing_a_password_change_leaves_no_live_session():
    survivors = 0
    for trial in range(TRIALS):
        user = users.user_create(email=f"login-racer{trial}@example.com", password=PASSWORD)
        logged_in: list[sessions.TokenPair] = []

        def log_in(email: str = user.email, logged_in=logged_in) -> None:
            try:
                found = users.user_authenticate(email=email, password=PASSWORD)
                logged_in.append(sessions.session_start(user=found))
            except errors.InvalidCredentialsError:
                pass

        def change(user: User = user) -> None:
            _password_change(User.objects.get(pk=user.pk), "")

        _race(log_in, change)
        survivors += _live(logged_in)
    assert survivors == 0

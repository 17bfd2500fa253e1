"""Every session ends, even against a concurrent refresh: real threads on PostgreSQL."""

import threading
import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import services
from accounts.models import RefreshToken, User
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

TRIALS = 50
NEW_PASSWORD = "An0ther-Passw0rd!"


def _logout_everywhere(user: User, other_session: str) -> None:
    services.refresh_token_revoke(token=uuid.UUID(other_session), all_sessions=True)


def _password_change(user: User, other_session: str) -> None:
    services.password_change(user=user, current_password=PASSWORD, new_password=NEW_PASSWORD)


def _password_reset(user: User, other_session: str) -> None:
    services.password_reset_confirm(
        uid=urlsafe_base64_encode(force_bytes(user.pk)),
        token=default_token_generator.make_token(user),
        new_password=NEW_PASSWORD,
    )


def _survivors(end_sessions: Callable[[User, str], None]) -> int:
    """Run TRIALS races of a refresh against `end_sessions`; return how many pairs the
    refresh got whose refresh token is still active afterwards."""
    survivors = 0
    for trial in range(TRIALS):
        user = services.user_create(email=f"racer{trial}@example.com", password=PASSWORD)
        session_a = services.token_pair_issue(user_id=user.pk).refresh_token
        session_b = services.token_pair_issue(user_id=user.pk).refresh_token
        barrier = threading.Barrier(2)
        refreshed: list[services.TokenPair] = []

        def refresh(token: str = session_a, barrier=barrier, refreshed=refreshed) -> None:
            try:
                barrier.wait()
                refreshed.append(services.refresh_token_rotate(token=uuid.UUID(token)))
            except services.RefreshTokenError:
                pass
            finally:
                connection.close()

        def end(user: User = user, token: str = session_b, barrier=barrier) -> None:
            try:
                barrier.wait()
                end_sessions(User.objects.get(pk=user.pk), token)
            finally:
                connection.close()

        threads = [threading.Thread(target=refresh), threading.Thread(target=end)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for pair in refreshed:
            digest = services.refresh_token_digest(token=uuid.UUID(pair.refresh_token))
            survivors += RefreshToken.objects.filter(digest=digest, revoked_at=None).count()
    return survivors


def test_logout_everywhere_leaves_no_token_from_a_concurrent_refresh():
    assert _survivors(_logout_everywhere) == 0


def test_password_change_leaves_no_token_from_a_concurrent_refresh():
    assert _survivors(_password_change) == 0


def test_password_reset_leaves_no_token_from_a_concurrent_refresh():
    assert _survivors(_password_reset) == 0

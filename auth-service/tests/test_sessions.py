"""accounts/services/sessions.py: issuing, rotation, replay, logout, sign-in times, clean-up."""

import logging
import subprocess
import sys
import threading
import uuid
from datetime import timedelta

import jwt
import pytest
import time_machine
from constance import config
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import errors
from accounts.models import RefreshToken, User
from accounts.services import sessions, users
from tests.conftest import PASSWORD, rotate, stored

pytestmark = pytest.mark.django_db


# --- issuing ---------------------------------------------------------------------------------


def test_access_token_lifetime_comes_from_constance(user):
    config.ACCESS_TOKEN_LIFETIME = 120

    access = sessions.token_pair_issue(user_id=user.pk).access_token

    payload = jwt.decode(access, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 120


def test_refresh_token_lifetime_comes_from_constance(user):
    config.REFRESH_TOKEN_LIFETIME = 3600

    token = stored(sessions.token_pair_issue(user_id=user.pk).refresh_token)

    assert token.expires_at - token.issued_at == timedelta(seconds=3600)


def test_default_lifetimes_are_30_seconds_and_30_days(user):
    pair = sessions.token_pair_issue(user_id=user.pk)

    payload = jwt.decode(pair.access_token, options={"verify_signature": False})
    token = stored(pair.refresh_token)
    assert payload["exp"] - payload["iat"] == 30
    assert token.expires_at - token.issued_at == timedelta(days=30)


def test_lifetime_change_applies_to_the_next_token_only(user):
    before = stored(sessions.token_pair_issue(user_id=user.pk).refresh_token)
    config.REFRESH_TOKEN_LIFETIME = 600

    after = stored(sessions.token_pair_issue(user_id=user.pk).refresh_token)

    assert before.expires_at - before.issued_at == timedelta(days=30)
    assert after.expires_at - after.issued_at == timedelta(seconds=600)


@pytest.mark.redis
def test_lifetime_set_by_another_process_applies_to_the_next_token(user):
    # Another process stands for another gunicorn worker: the plain Redis backend has no
    # per-process copy, so this process sees the new value at once.
    subprocess.run(
        [sys.executable, "manage.py", "constance", "set", "ACCESS_TOKEN_LIFETIME", "90"],
        cwd=django_settings.BASE_DIR,
        check=True,
        capture_output=True,
        timeout=60,
    )

    access = sessions.token_pair_issue(user_id=user.pk).access_token

    payload = jwt.decode(access, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 90


def test_login_starts_a_new_family(user):
    first = stored(sessions.token_pair_issue(user_id=user.pk).refresh_token)
    second = stored(sessions.token_pair_issue(user_id=user.pk).refresh_token)

    assert first.family != second.family


# --- rotation --------------------------------------------------------------------------------


def test_rotation_revokes_the_token_and_issues_one_in_the_same_family(pair):
    new = rotate(pair.refresh_token)

    assert stored(pair.refresh_token).revoked_at is not None
    assert stored(new.refresh_token).revoked_at is None
    assert stored(new.refresh_token).family == stored(pair.refresh_token).family


def test_rotated_token_gets_a_fresh_lifetime(pair):
    with time_machine.travel(timedelta(days=10)):
        new = rotate(pair.refresh_token)

    renewed = stored(new.refresh_token)
    assert renewed.expires_at - renewed.issued_at == timedelta(days=30)


def test_refresh_token_accepted_just_before_expiry(pair):
    with time_machine.travel(timedelta(days=30, seconds=-1)):
        assert rotate(pair.refresh_token).refresh_token


def test_replayed_refresh_token_revokes_its_family(pair):
    second = rotate(pair.refresh_token)
    third = rotate(second.refresh_token)

    with pytest.raises(errors.RefreshTokenError, match="revoked"):
        rotate(pair.refresh_token)

    assert stored(third.refresh_token).revoked_at is not None
    with pytest.raises(errors.RefreshTokenError):
        rotate(third.refresh_token)


def test_replay_leaves_other_families_alone(user, pair):
    other_session = sessions.token_pair_issue(user_id=user.pk)
    rotate(pair.refresh_token)

    with pytest.raises(errors.RefreshTokenError):
        rotate(pair.refresh_token)

    assert stored(other_session.refresh_token).revoked_at is None


def test_replay_is_logged_as_a_warning(pair, caplog):
    rotate(pair.refresh_token)

    with (
        caplog.at_level(logging.WARNING, logger="accounts"),
        pytest.raises(errors.RefreshTokenError),
    ):
        rotate(pair.refresh_token)

    assert "Revoked refresh token reused" in caplog.text
    assert str(stored(pair.refresh_token).family) in caplog.text


@pytest.mark.parametrize(
    "end",
    [
        lambda token, user_id: sessions.refresh_token_revoke(token=uuid.UUID(token)),
        lambda token, user_id: sessions.sessions_end(user_id=user_id),
    ],
    ids=["logout", "every-session-ended"],
)
def test_a_token_revoked_without_rotation_is_not_logged_as_a_replay(user, pair, caplog, end):
    end(pair.refresh_token, user.pk)

    with (
        caplog.at_level(logging.INFO, logger="accounts"),
        pytest.raises(errors.RefreshTokenError, match="revoked"),
    ):
        rotate(pair.refresh_token)

    assert "Revoked refresh token reused" not in caplog.text
    # The service's own lines (the audit trail's are the logger "audit"'s).
    own = [record.levelno for record in caplog.records if record.name.startswith("accounts")]
    assert own == [logging.INFO]
    assert "after its session ended" in caplog.text


def test_a_rotated_token_is_a_replay_after_its_session_ended_too(pair, caplog):
    second = rotate(pair.refresh_token)
    sessions.refresh_token_revoke(token=uuid.UUID(second.refresh_token))

    with (
        caplog.at_level(logging.WARNING, logger="accounts"),
        pytest.raises(errors.RefreshTokenError),
    ):
        rotate(pair.refresh_token)

    assert "Revoked refresh token reused" in caplog.text


def test_expired_token_does_not_revoke_its_family(user, pair):
    with (
        time_machine.travel(timedelta(days=31)),
        pytest.raises(errors.RefreshTokenError, match="expired"),
    ):
        rotate(pair.refresh_token)

    assert stored(pair.refresh_token).revoked_at is None


def test_refresh_query_count_does_not_grow_with_the_table(user, other_user):
    def queries_for_one_refresh() -> int:
        token = sessions.token_pair_issue(user_id=user.pk).refresh_token
        with CaptureQueriesContext(connection) as captured:
            rotate(token)
        return len(captured)

    queries_for_one_refresh()  # constance's database backend stores a key's default on first read
    small = queries_for_one_refresh()
    now = timezone.now()
    RefreshToken.objects.bulk_create(
        RefreshToken(
            digest=f"{n:064x}",
            user=other_user,
            family=uuid.uuid4(),
            issued_at=now,
            expires_at=now + timedelta(days=1),
            authenticated_at=now,
            session_started_at=now,
        )
        for n in range(500)
    )

    assert queries_for_one_refresh() == small


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_exactly_one_pair():
    user = users.user_create(email="racer@example.com", password=PASSWORD)
    for _ in range(5):
        token = uuid.UUID(sessions.token_pair_issue(user_id=user.pk).refresh_token)
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def refresh(token=token, barrier=barrier, outcomes=outcomes) -> None:
            try:
                barrier.wait()
                outcomes.append(sessions.refresh_token_rotate(token=token))
            except errors.RefreshTokenError as e:
                outcomes.append(e)
            finally:
                connection.close()

        threads = [threading.Thread(target=refresh) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        pairs = [o for o in outcomes if isinstance(o, sessions.TokenPair)]
        rejections = [o for o in outcomes if isinstance(o, errors.RefreshTokenError)]
        assert (len(pairs), len(rejections)) == (1, 1)
        assert RefreshToken.objects.filter(family=stored(str(token)).family).count() == 2


# --- logout ----------------------------------------------------------------------------------


def test_revoke_is_idempotent(pair):
    token = uuid.UUID(pair.refresh_token)

    assert sessions.refresh_token_revoke(token=token) == 1
    assert sessions.refresh_token_revoke(token=token) == 0


def test_revoke_of_an_unknown_token_revokes_nothing():
    assert sessions.refresh_token_revoke(token=uuid.uuid4(), all_sessions=True) == 0


def test_revoke_all_with_a_stale_token_leaves_other_sessions_alive(user, pair):
    other_session = sessions.token_pair_issue(user_id=user.pk)
    sessions.refresh_token_revoke(token=uuid.UUID(pair.refresh_token))

    sessions.refresh_token_revoke(token=uuid.UUID(pair.refresh_token), all_sessions=True)

    assert stored(other_session.refresh_token).revoked_at is None


def test_revoke_all_revokes_every_active_token_of_the_user(user, pair):
    for _ in range(3):
        sessions.token_pair_issue(user_id=user.pk)

    revoked = sessions.refresh_token_revoke(token=uuid.UUID(pair.refresh_token), all_sessions=True)

    assert revoked == 4
    assert not RefreshToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_a_logout_with_a_rotated_token_ends_its_family(pair):
    # The review's repro: after T0 -> T1, a logout with T0 revoked nothing and T1 lived on.
    newest = sessions.refresh_token_rotate(token=uuid.UUID(pair.refresh_token))

    sessions.refresh_token_revoke(token=uuid.UUID(pair.refresh_token))

    assert stored(newest.refresh_token).revoked_at is not None


# --- sessions: tokens name theirs, and credential changes end them ---------------------------


def unverified_claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def test_a_pair_names_its_session_and_when_it_signed_in(pair):
    token = stored(pair.refresh_token)
    access = unverified_claims(pair.access_token)

    assert access["sid"] == str(token.family)
    assert access["auth_time"] == int(token.authenticated_at.timestamp())


def test_a_refresh_keeps_the_sign_in_time_of_its_session(pair):
    with time_machine.travel(timedelta(minutes=10)):
        rotated = sessions.refresh_token_rotate(token=uuid.UUID(pair.refresh_token))

    assert (
        unverified_claims(rotated.access_token)["auth_time"]
        == (unverified_claims(pair.access_token)["auth_time"])
    )


def test_a_login_that_read_the_user_before_a_password_change_starts_no_session(user):
    # The review's race, in its worst order: the login checked the old password, then the
    # owner changed it, then the login issued its pair.
    in_flight = users.user_authenticate(email=user.email, password=PASSWORD)
    users.user_password_set(user=User.objects.get(pk=user.pk), password="An0ther-passphrase")

    with pytest.raises(errors.InvalidCredentialsError):
        sessions.session_start(user=in_flight)

    assert not RefreshToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_a_login_that_read_the_user_before_logout_everywhere_starts_no_session(user, pair):
    in_flight = users.user_authenticate(email=user.email, password=PASSWORD)
    sessions.refresh_token_revoke(token=uuid.UUID(pair.refresh_token), all_sessions=True)

    with pytest.raises(errors.InvalidCredentialsError):
        sessions.session_start(user=in_flight)


def test_a_login_after_a_password_change_starts_a_session(user):
    users.user_password_set(user=user, password="An0ther-passphrase")
    current = users.user_authenticate(email=user.email, password="An0ther-passphrase")

    assert sessions.session_start(user=current).refresh_token


# --- clean-up --------------------------------------------------------------------------------


def test_purge_deletes_expired_and_long_revoked_tokens_only(user):
    expired = sessions.token_pair_issue(user_id=user.pk).refresh_token
    long_revoked = sessions.token_pair_issue(user_id=user.pk).refresh_token
    recently_revoked = sessions.token_pair_issue(user_id=user.pk).refresh_token
    active = sessions.token_pair_issue(user_id=user.pk).refresh_token
    now = timezone.now()
    RefreshToken.objects.filter(pk=stored(expired).pk).update(expires_at=now)
    RefreshToken.objects.filter(pk=stored(long_revoked).pk).update(
        revoked_at=now - timedelta(days=8)
    )
    RefreshToken.objects.filter(pk=stored(recently_revoked).pk).update(
        revoked_at=now - timedelta(days=6)
    )

    deleted = sessions.refresh_tokens_purge(revoked_for=timedelta(days=7), batch_size=1)

    assert deleted == 2
    remaining = set(RefreshToken.objects.values_list("digest", flat=True))
    assert remaining == {stored(recently_revoked).digest, stored(active).digest}

"""Management commands: ensure_superuser, purge_refresh_tokens, makemigrations --check."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import RefreshToken, SecurityEvent, User
from accounts.services import sessions
from accounts.services.events import Event, event_record
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def superuser_env(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)


def test_ensure_superuser_creates_the_superuser_from_the_environment(superuser_env):
    run("ensure_superuser")

    admin = User.objects.get(email="root@example.com")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    assert admin.check_password(PASSWORD)


def test_createsuperuser_refuses_an_email_taken_in_another_case(superuser_env):
    User.objects.create_user(email="Root@Example.com", password=PASSWORD)

    with pytest.raises(CommandError, match="email address is already taken"):
        call_command("createsuperuser", interactive=False, stdout=StringIO())


def test_ensure_superuser_leaves_an_existing_user_alone(superuser_env, monkeypatch):
    run("ensure_superuser")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "An0ther-Passw0rd!")

    output = run("ensure_superuser")

    assert "left unchanged" in output
    assert User.objects.get(email="root@example.com").check_password(PASSWORD)


def test_ensure_superuser_does_nothing_without_the_environment(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)

    run("ensure_superuser")

    assert not User.objects.exists()


def test_ensure_superuser_refuses_a_weak_password(superuser_env, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "password")

    with pytest.raises(CommandError, match="too common"):
        run("ensure_superuser")

    assert not User.objects.exists()


def test_purge_command_deletes_expired_tokens_in_batches(user):
    for _ in range(5):
        sessions.token_pair_issue(user_id=user.pk)
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    output = run("purge_refresh_tokens", "--batch-size", "2")

    assert output.splitlines() == [
        "Deleted 5 refresh token(s).",
        "Deleted 0 security event(s) older than 90 days.",
    ]
    assert not RefreshToken.objects.exists()


def test_purge_command_keeps_recently_revoked_tokens(user, pair):
    sessions.refresh_token_revoke(token=uuid.UUID(pair.refresh_token))

    run("purge_refresh_tokens", "--revoked-days", "1")

    assert RefreshToken.objects.count() == 1


@pytest.mark.parametrize("option", ["--batch-size=0", "--revoked-days=-1"])
def test_purge_command_refuses_a_meaningless_count(option):
    with pytest.raises(CommandError, match="must be at least"):
        run("purge_refresh_tokens", option)


def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_purge_command_deletes_security_events_older_than_the_retention(user, settings):
    settings.SECURITY_EVENT_RETENTION_DAYS = 90
    start = timezone.now()  # the `user` fixture's registration is recorded about now
    with time_machine.travel(start, tick=False):
        event_record(Event.LOGIN, user_id=user.pk)
    with time_machine.travel(start + timedelta(days=2), tick=False):
        kept = event_record(Event.LOGIN, user_id=user.pk)

    with time_machine.travel(start + timedelta(days=91), tick=False):
        output = run("purge_refresh_tokens")

    assert "Deleted 2 security event(s) older than 90 days." in output
    assert list(SecurityEvent.objects.all()) == [kept]

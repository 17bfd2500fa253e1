"""Metrics and the audit trail (accounts/metrics.py, config/observability.py,
accounts/services/events.py): what an operator reads, counted once per thing done."""

import json
import logging

import pytest
import redis
from prometheus_client import REGISTRY

from accounts.redis_outage import RedisOutage
from accounts.request_records import REQUESTS
from tests.conftest import PASSWORD, bearer
from tests.test_settings import JWT_KEYS, SECRET_KEY, run_django

pytestmark = pytest.mark.django_db


def value(name: str, **labels: str) -> float:
    REQUESTS.flush()  # the requests' metrics, which a thread adds every second
    return REGISTRY.get_sample_value(name, labels) or 0.0


def events(event: str, outcome: str, reason: str = "") -> float:
    return value("auth_events_total", event=event, outcome=outcome, reason=reason)


def login(client, email: str, password: str = PASSWORD):
    return client.post("/api/login/", {"email": email, "password": password}, format="json")


def test_requests_are_counted_by_route_template_method_and_status(api_client, pair):
    labels = {"route": "/api/me/", "method": "GET", "status": "200"}
    before = value("http_requests_total", **labels)

    api_client.get("/api/me/?page=3", **bearer(pair.access_token))

    assert value("http_requests_total", **labels) == before + 1
    assert value("http_request_duration_seconds_count", **labels) == before + 1


def test_a_path_no_route_matches_is_counted_as_unmatched(api_client):
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    before = value("http_requests_total", **labels)

    api_client.get("/api/no-such-thing-17/")

    assert value("http_requests_total", **labels) == before + 1


def test_a_made_up_method_is_counted_as_other(api_client):
    before = value("http_requests_total", route="/api/health/", method="other", status="405")

    api_client.generic("BREW", "/api/health/")

    assert value("http_requests_total", route="/api/health/", method="other", status="405") == (
        before + 1
    )


def test_a_login_of_an_unknown_account_is_counted_with_its_reason(api_client):
    before = events("login", "failure", "unknown_account")

    login(api_client, "nobody@example.com")

    assert events("login", "failure", "unknown_account") == before + 1


def test_a_login_counts_one_login_and_one_access_token(api_client, user):
    logins, tokens = events("login", "success"), events("access_token_issued", "success")

    assert login(api_client, user.email).status_code == 200

    assert events("login", "success") == logins + 1
    assert events("access_token_issued", "success") == tokens + 1


def test_a_refresh_replay_is_counted_as_a_refused_refresh(api_client, pair):
    refreshed, replays = events("refresh", "success"), events("refresh", "failure", "replay")
    body = {"refresh_token": pair.refresh_token}

    assert api_client.post("/api/refresh/", body, format="json").status_code == 200
    assert api_client.post("/api/refresh/", body, format="json").status_code == 401

    assert events("refresh", "success") == refreshed + 1
    assert events("refresh", "failure", "replay") == replays + 1


def test_an_unknown_refresh_token_is_counted_as_unknown(api_client, db):
    before = events("refresh", "failure", "unknown")
    body = {"refresh_token": "d952527b-caef-452c-8c93-1100214f82e5"}

    assert api_client.post("/api/refresh/", body, format="json").status_code == 401

    assert events("refresh", "failure", "unknown") == before + 1


def test_a_failed_login_writes_one_audit_line_without_email_or_password(api_client, user, caplog):
    with caplog.at_level(logging.INFO, logger="audit"):
        login(api_client, user.email, "Not-the-password-9")

    (record,) = [r for r in caplog.records if r.name == "audit"]
    assert (record.audience, record.event, record.outcome, record.reason) == (
        "audit",
        "login",
        "failure",
        "bad_password",
    )
    assert record.user_id == user.pk
    logged = json.dumps(record.__dict__, default=str)
    assert user.email not in logged
    assert "Not-the-password-9" not in logged


def test_password_verifications_are_timed(api_client, user, settings):
    settings.PASSWORD_HASHERS = ["accounts.hashers.ConfiguredArgon2PasswordHasher"]
    user.set_password(PASSWORD)
    user.save()
    before = value("auth_password_verify_duration_seconds_count")

    assert login(api_client, user.email).status_code == 200

    assert value("auth_password_verify_duration_seconds_count") == before + 1


def test_the_redis_fallback_gauge_follows_an_outage():
    outage = RedisOutage()

    def down() -> None:
        raise redis.ConnectionError("refused")

    outage.call(down, lambda: None)
    assert value("auth_redis_fallback_active") == 1
    outage._retry_at = 0.1  # the retry is due: Redis answers again
    outage.call(lambda: None, lambda: None)
    assert value("auth_redis_fallback_active") == 0


def test_a_request_the_database_cannot_answer_is_counted(tmp_path):
    result = run_django(
        "from django.test import Client; from prometheus_client import REGISTRY; "
        "Client(HTTP_HOST='localhost').post('/api/refresh/', "
        "{'refresh_token': '0b1e6bb3-58a5-4a39-8f43-0e7e41b1fd5c'}, "
        "content_type='application/json'); "
        "print(REGISTRY.get_sample_value('auth_database_errors_total'))",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        DATABASE_URL=f"sqlite:///{tmp_path / 'missing-folder' / 'auth.sqlite3'}",
    )

    assert result.stdout.split() == ["1.0"], result.stderr


def test_a_refresh_token_presented_after_logout_is_counted_as_revoked_not_replay(api_client, pair):
    revoked, replays = (
        events("refresh", "failure", "revoked"),
        events("refresh", "failure", "replay"),
    )
    body = {"refresh_token": pair.refresh_token}

    assert api_client.post("/api/logout/", body, format="json").status_code == 200
    assert api_client.post("/api/refresh/", body, format="json").status_code == 401

    assert events("refresh", "failure", "revoked") == revoked + 1
    assert events("refresh", "failure", "replay") == replays

"""accounts/throttles.py: per-IP and per-account limits, 429 with Retry-After."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def allowed(scope: str) -> int:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]
    return SimpleRateThrottle.parse_rate(None, rate)[0]


def attempt_login(client, email: str, **meta) -> object:
    return client.post(
        "/api/login/", {"email": email, "password": "Wrong-Passw0rd!"}, format="json", **meta
    )


def login_with(client, email: str, password: str, **meta) -> object:
    return client.post("/api/login/", {"email": email, "password": password}, format="json", **meta)


def test_failed_logins_lock_the_account_for_that_address_with_retry_after(api_client, user):
    for _ in range(allowed("login_account_ip")):
        assert attempt_login(api_client, user.email).status_code == 401

    response = attempt_login(api_client, user.email)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["detail"].startswith("Request was throttled.")


def test_a_locked_account_refuses_even_the_right_password_from_that_address(api_client, user):
    for _ in range(allowed("login_account_ip")):
        attempt_login(api_client, user.email)

    assert login_with(api_client, user.email, PASSWORD).status_code == 429


def test_an_account_locked_from_one_address_still_logs_in_from_another(api_client, user):
    for _ in range(allowed("login_account_ip")):
        attempt_login(api_client, user.email, REMOTE_ADDR="192.0.2.1")

    response = login_with(api_client, user.email, PASSWORD, REMOTE_ADDR="198.51.100.1")

    assert response.status_code == 200


def test_successful_logins_never_lock_the_account(api_client, user):
    # Six devices logging in within a minute, the review's case.
    statuses = {
        login_with(api_client, user.email, PASSWORD).status_code
        for _ in range(allowed("login_account_ip") + 1)
    }

    assert statuses == {200}


def test_failed_logins_from_many_addresses_meet_the_account_ceiling(api_client, user):
    for n in range(allowed("login_account")):
        attempt_login(api_client, "PLAYER@example.com", REMOTE_ADDR=f"192.0.2.{n}")

    response = login_with(api_client, user.email, PASSWORD, REMOTE_ADDR="198.51.100.1")

    assert response.status_code == 429


def test_a_malformed_login_is_not_a_failure(api_client, user):
    for _ in range(allowed("login_account_ip")):
        api_client.post("/api/login/", {"email": user.email}, format="json")

    assert login_with(api_client, user.email, PASSWORD).status_code == 200


def test_a_dotted_capital_i_variant_of_a_locked_account_gets_no_tokens(api_client):
    # The review's repro: Python's lower() and PostgreSQL's LOWER() used to disagree on "İ".
    api_client.post(
        "/api/register/", {"email": "victim-iii@example.com", "password": PASSWORD}, format="json"
    )
    for _ in range(allowed("login_account_ip") + 2):
        attempt_login(api_client, "victim-iii@example.com")

    response = login_with(api_client, "vİctim-iii@example.com", PASSWORD)

    assert response.status_code == 401


def test_login_account_limit_counts_every_variant_of_one_normal_form(api_client, user):
    variants = ["\uff50\uff4c\uff41\uff59\uff45\uff52@example.com", "PLAYER@example.com"]
    for n in range(allowed("login_account_ip")):
        attempt_login(api_client, variants[n % len(variants)])

    assert attempt_login(api_client, "\uff30layer@example.com").status_code == 429


def test_login_is_throttled_per_client_address(api_client):
    for n in range(allowed("login_ip")):
        assert attempt_login(api_client, f"user{n}@example.com").status_code == 401

    assert attempt_login(api_client, "another@example.com").status_code == 429


def test_login_limit_per_address_does_not_affect_other_addresses(api_client):
    for n in range(allowed("login_ip")):
        attempt_login(api_client, f"user{n}@example.com")

    response = attempt_login(api_client, "another@example.com", REMOTE_ADDR="198.51.100.1")

    assert response.status_code == 401


def test_address_behind_the_gateway_is_the_one_it_appended(api_client):
    for n in range(allowed("login_ip")):
        attempt_login(api_client, f"user{n}@example.com", HTTP_X_FORWARDED_FOR="203.0.113.5")

    other_client = attempt_login(
        api_client, "another@example.com", HTTP_X_FORWARDED_FOR="203.0.113.6"
    )
    same_client_spoofing = attempt_login(
        api_client, "another@example.com", HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.5"
    )

    assert other_client.status_code == 401
    assert same_client_spoofing.status_code == 429


def test_forwarded_header_from_an_untrusted_address_is_ignored(api_client):
    for n in range(allowed("login_ip")):
        attempt_login(
            api_client,
            f"user{n}@example.com",
            REMOTE_ADDR="192.0.2.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )

    response = attempt_login(
        api_client, "x@example.com", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.99"
    )

    assert response.status_code == 429


def test_login_with_a_lone_surrogate_in_the_email_is_refused_as_malformed(api_client):
    body = '{"email": "\\ud800@example.com", "password": "Wrong-Passw0rd!"}'

    response = api_client.post("/api/login/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_login_is_allowed_again_after_the_window(api_client, user):
    for _ in range(allowed("login_account")):
        attempt_login(api_client, user.email)

    with time_machine.travel(timedelta(minutes=1, seconds=1)):
        response = attempt_login(api_client, user.email)

    assert response.status_code == 401


def test_register_is_throttled(api_client):
    for n in range(allowed("register")):
        api_client.post(
            "/api/register/", {"email": f"u{n}@example.com", "password": PASSWORD}, format="json"
        )

    response = api_client.post(
        "/api/register/", {"email": "late@example.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 429
    assert "Retry-After" in response


def test_refresh_is_throttled(api_client):
    for _ in range(allowed("refresh")):
        api_client.post("/api/refresh/", {"refresh_token": str(uuid.uuid4())}, format="json")

    response = api_client.post("/api/refresh/", {"refresh_token": str(uuid.uuid4())}, format="json")

    assert response.status_code == 429
    assert "Retry-After" in response

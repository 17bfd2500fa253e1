"""accounts/services/events.py: each security event is recorded once, by the service that
does the thing, with the client that asked."""

import uuid

import jwt
import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.clients import IP_MAX_LENGTH, USER_AGENT_MAX_LENGTH
from accounts.models import SecurityEvent, User
from tests.conftest import PASSWORD, bearer

pytestmark = pytest.mark.django_db

Event = SecurityEvent.Kind
REGISTERED = (Event.REGISTERED, "success", "")  # the `user` fixture's registration
BROWSER = {"HTTP_USER_AGENT": "Firefox/140.0", "REMOTE_ADDR": "127.0.0.1"}


def post(client, url: str, body, **headers) -> object:
    return client.post(url, body, format="json", **{**BROWSER, **headers})


def recorded() -> list[tuple[str, str, str]]:
    """(event, outcome, reason) of every stored event, oldest first."""
    return list(
        SecurityEvent.objects.order_by("occurred_at", "pk").values_list(
            "event", "outcome", "reason"
        )
    )


def login(client, email: str = "player@example.com", password: str = PASSWORD) -> dict:
    return post(client, "/api/login/", {"email": email, "password": password}).json()


def test_registration_is_recorded_with_the_client(api_client):
    post(api_client, "/api/register/", {"email": "new@example.com", "password": PASSWORD})

    event = SecurityEvent.objects.get()
    assert (event.event, event.outcome) == (Event.REGISTERED, "success")
    assert event.user == User.objects.get(email="new@example.com")
    assert (event.ip, event.user_agent) == ("127.0.0.1", "Firefox/140.0")


def test_a_login_is_recorded_with_its_session(api_client, user):
    pair = login(api_client)

    event = SecurityEvent.objects.get(event=Event.LOGIN)
    assert (event.outcome, event.user_id) == ("success", user.pk)
    sid = jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"]
    assert str(event.session_id) == sid


def test_a_wrong_password_is_recorded_for_the_account(api_client, user):
    login(api_client, password="wrong-password")

    assert recorded() == [REGISTERED, (Event.LOGIN, "failure", "bad_password")]
    assert SecurityEvent.objects.get(event=Event.LOGIN).user_id == user.pk


def test_a_login_of_an_unknown_email_is_recorded_without_an_account(api_client):
    login(api_client, email="nobody@example.com")

    assert recorded() == [(Event.LOGIN, "failure", "unknown_account")]
    assert SecurityEvent.objects.get().user_id is None


def test_a_throttled_login_is_recorded_for_the_account(api_client, user, settings):
    for _ in range(5):  # THROTTLE_RATE_LOGIN_ACCOUNT_IP=5/min (pytest.ini)
        login(api_client, password="wrong-password")

    response = post(api_client, "/api/login/", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 429
    assert recorded()[-1] == (Event.LOGIN, "failure", "throttled")


def test_a_password_change_is_recorded(api_client, user):
    pair = login(api_client)
    post(
        api_client,
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": "An0ther-Str0ng-One!"},
        **bearer(pair["access_token"]),
    )

    assert recorded()[-1] == (Event.PASSWORD_CHANGED, "success", "")


def test_a_reset_request_and_its_completion_are_recorded(api_client, user):
    post(api_client, "/api/password/reset/", {"email": user.email})
    post(
        api_client,
        "/api/password/reset/confirm/",
        {
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
            "new_password": "An0ther-Str0ng-One!",
        },
    )

    assert recorded() == [
        REGISTERED,
        (Event.PASSWORD_RESET_REQUESTED, "success", ""),
        (Event.PASSWORD_RESET_COMPLETED, "success", ""),
    ]
    assert set(SecurityEvent.objects.values_list("user_id", flat=True)) == {user.pk}


def test_an_email_change_is_recorded(api_client, user):
    pair = login(api_client)
    api_client.patch(
        "/api/me/",
        {"email": "moved@example.com"},
        format="json",
        **bearer(pair["access_token"]),
        **BROWSER,
    )

    assert recorded()[-1] == (Event.EMAIL_CHANGED, "success", "")


def test_a_logout_is_recorded_as_the_end_of_its_session(api_client, user):
    pair = login(api_client)
    post(api_client, "/api/logout/", {"refresh_token": pair["refresh_token"]})

    assert recorded()[-1] == (Event.SESSION_ENDED, "success", "logout")


def test_a_logout_of_an_unknown_token_records_nothing(api_client):
    post(api_client, "/api/logout/", {"refresh_token": str(uuid.uuid4())})

    assert recorded() == []  # no account: nothing happened to one


def test_a_refresh_replay_is_recorded(api_client, user):
    pair = login(api_client)
    post(api_client, "/api/refresh/", {"refresh_token": pair["refresh_token"]})
    post(api_client, "/api/refresh/", {"refresh_token": pair["refresh_token"]})

    assert recorded()[-1] == (Event.REFRESH_REPLAYED, "failure", "")


def test_a_logged_out_token_presented_again_is_no_replay(api_client, user):
    pair = login(api_client)
    post(api_client, "/api/logout/", {"refresh_token": pair["refresh_token"]})
    post(api_client, "/api/refresh/", {"refresh_token": pair["refresh_token"]})

    assert recorded()[-1] == (Event.SESSION_ENDED, "success", "logout")


def test_an_account_deletion_is_recorded_and_outlives_the_account(api_client, user):
    pair = login(api_client)
    api_client.delete(
        "/api/me/",
        {"current_password": PASSWORD},
        format="json",
        **bearer(pair["access_token"]),
        **BROWSER,
    )

    deleted = SecurityEvent.objects.get(event=Event.ACCOUNT_DELETED)
    assert deleted.user_id is None  # unlinked with the account, kept until the retention ends


def test_an_over_long_user_agent_and_address_are_stored_truncated(api_client):
    post(
        api_client,
        "/api/register/",
        {"email": "new@example.com", "password": PASSWORD},
        HTTP_USER_AGENT="x" * 5000,
        REMOTE_ADDR="1" * 100,
    )

    event = SecurityEvent.objects.get()
    assert len(event.user_agent) == USER_AGENT_MAX_LENGTH
    assert len(event.ip) == IP_MAX_LENGTH

"""Password change, password reset, account deletion and email verification, through the API.

Mail goes to Django's locmem outbox (pytest-django's `mailoutbox`); it is sent off the request
thread, so each test reads it through `sent()`, which waits for the queued deliveries.
"""

import re
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.http import urlsafe_base64_encode

from accounts.errors import LINK_INVALID, WRONG_CURRENT_PASSWORD
from accounts.mail import mail_wait
from accounts.models import RefreshToken, User
from accounts.services import users
from tests.conftest import PASSWORD, bearer

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "An0ther-str0ng-passphrase"
LINK = re.compile(r"^(?P<url>http\S+)$", re.MULTILINE)
RESET_ANSWER = {
    "detail": "If an account has this email, a password reset link has been sent to it."
}
RESEND_ANSWER = {
    "detail": "If an account with this email awaits verification, a new link has been sent to it."
}


def post(client, url: str, body, **extra) -> object:
    return client.post(url, body, format="json", **extra)


def login_status(client, email: str = "player@example.com", password: str = PASSWORD) -> int:
    return post(client, "/api/login/", {"email": email, "password": password}).status_code


@pytest.fixture
def sent(mailoutbox) -> Callable[[], list[mail.EmailMessage]]:
    """Return the messages sent so far, once every queued delivery has finished."""

    def sent() -> list[mail.EmailMessage]:
        mail_wait()
        return mailoutbox

    return sent


def link_parts(message: mail.EmailMessage) -> dict[str, str]:
    """Return the uid and token of the one link in `message`."""
    url = LINK.search(message.body)["url"]
    return dict(re.findall(r"[?&](uid|token)=([^&]+)", url))


@pytest.fixture
def reset_link(api_client, user, sent) -> dict[str, str]:
    """Ask for a reset of `user`'s password; return the mailed link's uid and token."""
    post(api_client, "/api/password/reset/", {"email": user.email})
    return link_parts(sent()[-1])


@pytest.fixture
def verification(settings) -> None:
    settings.REQUIRE_EMAIL_VERIFICATION = True


# --- password change ---------------------------------------------------------------------------


def change(client, access_token: str, current: str = PASSWORD, new: str = NEW_PASSWORD):
    return post(
        client,
        "/api/password/change/",
        {"current_password": current, "new_password": new},
        **bearer(access_token),
    )


def test_password_change_returns_a_fresh_pair_that_works(api_client, pair):
    response = change(api_client, pair.access_token)

    assert response.status_code == 200
    fresh = response.json()
    assert fresh["refresh_token"] != pair.refresh_token
    refreshed = post(api_client, "/api/refresh/", {"refresh_token": fresh["refresh_token"]})
    assert refreshed.status_code == 200


def test_password_change_ends_every_other_session(api_client, user, pair):
    other_session = post(api_client, "/api/login/", {"email": user.email, "password": PASSWORD})

    change(api_client, pair.access_token)

    for token in (pair.refresh_token, other_session.json()["refresh_token"]):
        assert post(api_client, "/api/refresh/", {"refresh_token": token}).status_code == 401


def test_password_change_replaces_the_old_password(api_client, pair):
    change(api_client, pair.access_token)

    assert login_status(api_client) == 401
    assert login_status(api_client, password=NEW_PASSWORD) == 200


def test_password_change_refuses_a_wrong_current_password(api_client, pair):
    response = change(api_client, pair.access_token, current="Wr0ng-password!")

    assert response.status_code == 400
    assert response.json() == {"current_password": [WRONG_CURRENT_PASSWORD]}
    assert login_status(api_client) == 200


def test_password_change_refuses_a_weak_new_password(api_client, pair):
    response = change(api_client, pair.access_token, new="password")

    assert response.status_code == 400
    assert response.json() == {"new_password": ["This password is too common."]}


def test_password_change_needs_an_access_token(api_client, user):
    response = post(
        api_client,
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 401


def test_password_change_is_throttled_per_user(api_client, pair):
    for _ in range(5):  # THROTTLE_RATE_CURRENT_PASSWORD=5/min
        change(api_client, pair.access_token, current="Wr0ng-password!")

    response = change(api_client, pair.access_token)

    assert response.status_code == 429


# --- password reset: the request ---------------------------------------------------------------


def test_password_reset_mails_a_link_to_a_registered_email(api_client, user, sent):
    response = post(api_client, "/api/password/reset/", {"email": user.email})

    assert (response.status_code, response.json()) == (202, RESET_ANSWER)
    [message] = sent()
    assert message.to == [user.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject == "[Game platform] Reset your password"
    assert "http://localhost:8000/api/password/reset/confirm/?uid=" in message.body
    assert set(link_parts(message)) == {"uid", "token"}


def test_password_reset_answers_the_same_for_an_unknown_email(api_client, user, sent):
    response = post(api_client, "/api/password/reset/", {"email": "nobody@example.com"})

    assert (response.status_code, response.json()) == (202, RESET_ANSWER)
    assert sent() == []


def test_password_reset_finds_the_email_in_any_case(api_client, user, sent):
    post(api_client, "/api/password/reset/", {"email": "PLAYER@example.COM"})

    assert [message.to for message in sent()] == [[user.email]]


def test_password_reset_mails_nothing_to_an_inactive_user(api_client, user, sent):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = post(api_client, "/api/password/reset/", {"email": user.email})

    assert (response.status_code, response.json()) == (202, RESET_ANSWER)
    assert sent() == []


def test_password_reset_refuses_a_malformed_email(api_client):
    response = post(api_client, "/api/password/reset/", {"email": "not-an-email"})

    assert response.status_code == 400
    assert response.json() == {"email": ["Enter a valid email address."]}


def test_password_reset_is_throttled_per_email(api_client, user):
    for index in range(3):  # THROTTLE_RATE_MAIL_ACCOUNT=3/hour, from three addresses
        address = {"REMOTE_ADDR": f"192.0.2.{index + 1}"}
        post(api_client, "/api/password/reset/", {"email": user.email}, **address)

    response = post(
        api_client, "/api/password/reset/", {"email": user.email}, REMOTE_ADDR="192.0.2.9"
    )

    assert response.status_code == 429


def test_password_reset_is_throttled_per_address(api_client):
    for index in range(10):  # THROTTLE_RATE_MAIL_IP=10/hour
        post(api_client, "/api/password/reset/", {"email": f"user{index}@example.com"})

    response = post(api_client, "/api/password/reset/", {"email": "another@example.com"})

    assert response.status_code == 429


def test_failed_mail_delivery_is_logged_and_still_answers_202(api_client, user, settings, caplog):
    with socket.socket() as closed:  # a port nobody listens on: the SMTP connect is refused
        closed.bind(("127.0.0.1", 0))
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = closed.getsockname()

        response = post(api_client, "/api/password/reset/", {"email": user.email})
        mail_wait()

    assert (response.status_code, response.json()) == (202, RESET_ANSWER)
    assert f"Mail not sent: password reset for user {user.pk}." in caplog.messages


# --- password reset: the link --------------------------------------------------------------------


def confirm(client, link: dict[str, str], new_password: str = NEW_PASSWORD):
    return post(client, "/api/password/reset/confirm/", {**link, "new_password": new_password})


def test_reset_link_sets_the_new_password(api_client, reset_link):
    response = confirm(api_client, reset_link)

    assert response.status_code == 200
    assert response.json() == {"detail": "Password has been reset. Log in with the new password."}
    assert login_status(api_client) == 401
    assert login_status(api_client, password=NEW_PASSWORD) == 200


def test_reset_ends_every_session(api_client, pair, reset_link):
    confirm(api_client, reset_link)

    assert (
        post(api_client, "/api/refresh/", {"refresh_token": pair.refresh_token}).status_code == 401
    )
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()


def test_reused_reset_link_is_refused(api_client, reset_link):
    confirm(api_client, reset_link)

    response = confirm(api_client, reset_link, new_password="Yet-an0ther-passphrase")

    assert response.status_code == 400
    assert response.json() == {"token": [LINK_INVALID]}
    assert login_status(api_client, password=NEW_PASSWORD) == 200


def test_expired_reset_link_is_refused(api_client, reset_link):
    with time_machine.travel(timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)):
        response = confirm(api_client, reset_link)

    assert response.status_code == 400
    assert response.json() == {"token": [LINK_INVALID]}


@pytest.mark.parametrize(
    "wrong",
    [
        {"token": "cxyz12-0123456789abcdef"},
        {"uid": "MTIzNDU2Nzg5"},
        {"uid": "%%not-base64"},
        {"uid": "MTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA"},
    ],
    ids=["wrong token", "another user", "garbled uid", "out-of-range uid"],
)
def test_reset_link_with_a_wrong_part_is_refused(api_client, reset_link, wrong):
    response = confirm(api_client, {**reset_link, **wrong})

    assert response.status_code == 400
    assert response.json() == {"token": [LINK_INVALID]}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uses_of_one_reset_link_set_one_password():
    for attempt in range(5):  # a race: several tries make a missing lock show
        user = users.user_create(email=f"racer{attempt}@example.com", password=PASSWORD)
        link = {
            "uid": urlsafe_base64_encode(str(user.pk).encode()),
            "token": default_token_generator.make_token(user),
        }
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def use(new_password: str, link=link, barrier=barrier, outcomes=outcomes) -> None:
            try:
                barrier.wait()
                outcomes.append(users.password_reset_confirm(**link, new_password=new_password))
            except ValidationError as e:
                outcomes.append(e)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=use, args=(password,))
            for password in (NEW_PASSWORD, "Yet-an0ther-passphrase")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(type(outcome).__name__ for outcome in outcomes) == [
            "User",
            "ValidationError",
        ]


def test_reset_link_is_no_verification_link(api_client, reset_link):
    response = post(api_client, "/api/verify-email/", reset_link)

    assert response.status_code == 400


def test_reset_refuses_a_weak_password_and_the_link_stays_usable(api_client, reset_link):
    weak = confirm(api_client, reset_link, new_password="password")
    strong = confirm(api_client, reset_link)

    assert weak.status_code == 400
    assert weak.json() == {"new_password": ["This password is too common."]}
    assert strong.status_code == 200


def test_reset_link_opens_a_form_that_asks_only_for_the_new_password(api_client, reset_link):
    url = "/api/password/reset/confirm/?uid={uid}&token={token}".format(**reset_link)

    page = api_client.get(url, HTTP_ACCEPT="text/html").content.decode()

    inputs = dict(re.findall(r'<input name="(\w+)"[^>]* type="(\w+)"', page))
    assert inputs == {"uid": "hidden", "token": "hidden", "new_password": "password"}
    assert f'name="token" class="form-control" type="hidden"  value="{reset_link["token"]}"' in page


def test_reset_form_of_the_browsable_api_sets_the_password(api_client, reset_link):
    response = api_client.post(  # multipart/form-data, as the page's form sends it
        "/api/password/reset/confirm/", {**reset_link, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 200


def test_reset_verifies_the_email(api_client, user, reset_link):
    confirm(api_client, reset_link)

    user.refresh_from_db()
    assert user.email_verified_at is not None


# --- account deletion ----------------------------------------------------------------------------


def delete_me(client, access_token: str, current: str = PASSWORD):
    return client.delete(
        "/api/me/", {"current_password": current}, format="json", **bearer(access_token)
    )


def test_delete_me_removes_the_user_and_its_refresh_tokens(api_client, user, pair):
    response = delete_me(api_client, pair.access_token)

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not RefreshToken.objects.exists()
    assert (
        post(api_client, "/api/refresh/", {"refresh_token": pair.refresh_token}).status_code == 401
    )


def test_delete_me_refuses_a_wrong_password(api_client, user, pair):
    response = delete_me(api_client, pair.access_token, current="Wr0ng-password!")

    assert response.status_code == 400
    assert response.json() == {"current_password": [WRONG_CURRENT_PASSWORD]}
    assert User.objects.filter(pk=user.pk).exists()


def test_delete_me_needs_the_current_password(api_client, pair):
    response = api_client.delete("/api/me/", **bearer(pair.access_token))

    assert response.status_code == 400
    assert response.json() == {"current_password": ["This field is required."]}


def test_access_token_of_a_deleted_user_is_refused_by_me(api_client, pair):
    delete_me(api_client, pair.access_token)

    response = api_client.get("/api/me/", **bearer(pair.access_token))

    assert response.status_code == 401


def test_delete_me_is_throttled_per_user(api_client, pair):
    for _ in range(5):  # THROTTLE_RATE_CURRENT_PASSWORD=5/min
        delete_me(api_client, pair.access_token, current="Wr0ng-password!")

    assert delete_me(api_client, pair.access_token).status_code == 429


def test_reading_me_is_not_throttled_like_deletion(api_client, pair):
    for _ in range(6):
        delete_me(api_client, pair.access_token, current="Wr0ng-password!")

    assert api_client.get("/api/me/", **bearer(pair.access_token)).status_code == 200


# --- email verification --------------------------------------------------------------------------


def register(client, email: str = "new@example.com"):
    return post(client, "/api/register/", {"email": email, "password": PASSWORD})


def test_register_mails_nothing_when_verification_is_off(api_client, sent):
    register(api_client)

    assert sent() == []
    assert login_status(api_client, email="new@example.com") == 200


def test_register_mails_a_verification_link_when_it_is_on(api_client, verification, sent):
    response = register(api_client)

    assert response.status_code == 201
    [message] = sent()
    assert message.to == ["new@example.com"]
    assert message.subject == "[Game platform] Verify your email address"
    assert "http://localhost:8000/api/verify-email/?uid=" in message.body


def test_login_before_verification_is_refused_with_403(api_client, verification):
    register(api_client)

    response = post(api_client, "/api/login/", {"email": "new@example.com", "password": PASSWORD})

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Email address is not verified. Follow the link sent to it, or ask for a new "
        "one at /api/verify-email/resend/."
    }


def test_unverified_login_with_a_wrong_password_is_the_usual_401(api_client, verification):
    register(api_client)

    assert login_status(api_client, email="new@example.com", password="Wr0ng-pass!") == 401


def test_verification_link_lets_the_user_log_in(api_client, verification, sent):
    register(api_client)

    response = post(api_client, "/api/verify-email/", link_parts(sent()[0]))

    assert (response.status_code, response.json()) == (200, {"detail": "Email address verified."})
    assert login_status(api_client, email="new@example.com") == 200


def test_verification_link_works_once(api_client, verification, sent):
    register(api_client)
    link = link_parts(sent()[0])
    post(api_client, "/api/verify-email/", link)

    response = post(api_client, "/api/verify-email/", link)

    assert response.status_code == 400
    assert response.json() == {"token": [LINK_INVALID]}


def test_verification_link_is_no_reset_link(api_client, verification, sent):
    register(api_client)

    response = confirm(api_client, link_parts(sent()[0]))

    assert response.status_code == 400


def test_resend_mails_a_new_link_to_an_unverified_user(api_client, verification, sent):
    register(api_client)

    response = post(api_client, "/api/verify-email/resend/", {"email": "new@example.com"})

    assert (response.status_code, response.json()) == (202, RESEND_ANSWER)
    assert len(sent()) == 2
    assert post(api_client, "/api/verify-email/", link_parts(sent()[1])).status_code == 200


def test_resend_answers_the_same_for_an_unknown_email(api_client, verification, sent):
    response = post(api_client, "/api/verify-email/resend/", {"email": "nobody@example.com"})

    assert (response.status_code, response.json()) == (202, RESEND_ANSWER)
    assert sent() == []


def test_resend_mails_nothing_to_a_verified_user(api_client, verification, sent):
    register(api_client)
    post(api_client, "/api/verify-email/", link_parts(sent()[0]))

    response = post(api_client, "/api/verify-email/resend/", {"email": "new@example.com"})

    assert (response.status_code, response.json()) == (202, RESEND_ANSWER)
    assert len(sent()) == 1


def test_resend_mails_nothing_when_verification_is_off(api_client, user, sent):
    response = post(api_client, "/api/verify-email/resend/", {"email": user.email})

    assert (response.status_code, response.json()) == (202, RESEND_ANSWER)
    assert sent() == []


def test_email_change_asks_to_verify_the_new_address(api_client, verification, sent):
    register(api_client)
    post(api_client, "/api/verify-email/", link_parts(sent()[0]))
    tokens = post(api_client, "/api/login/", {"email": "new@example.com", "password": PASSWORD})

    api_client.patch(
        "/api/me/",
        {"email": "moved@example.com", "current_password": PASSWORD},
        format="json",
        **bearer(tokens.json()["access_token"]),
    )

    assert sent()[-1].to == ["moved@example.com"]
    assert login_status(api_client, email="moved@example.com") == 403

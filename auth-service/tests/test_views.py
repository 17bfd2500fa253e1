"""accounts/views.py and config/urls.py: the HTTP contract of DESIGN.md, one case each."""

import contextlib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
import time_machine
from constance import config
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from accounts.errors import (
    ACCESS_TOKEN_AS_REFRESH_TOKEN,
    EMAIL_TAKEN,
    MOVED_TO_SLASH,
    REAUTHENTICATION_REQUIRED,
)
from accounts.models import RefreshToken, User
from tests.conftest import PASSWORD, bearer

REAUTHENTICATION_WINDOW = settings.CONSTANCE_CONFIG["REAUTHENTICATION_WINDOW"][0]

pytestmark = pytest.mark.django_db


def post(client, url: str, body) -> object:
    return client.post(url, body, format="json")


def login(client, email: str = "player@example.com", password: str = PASSWORD) -> dict:
    response = post(client, "/api/login/", {"email": email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


# --- register --------------------------------------------------------------------------------


def test_register_creates_a_user_and_returns_its_id_and_email(api_client):
    response = post(
        api_client, "/api/register/", {"email": "new@example.com", "password": PASSWORD}
    )

    assert response.status_code == 201
    created = User.objects.get(email="new@example.com")
    assert response.json() == {"id": created.pk, "email": "new@example.com"}


def test_registered_password_is_stored_hashed(api_client):
    post(api_client, "/api/register/", {"email": "new@example.com", "password": PASSWORD})

    stored = User.objects.get(email="new@example.com")
    assert stored.password != PASSWORD
    assert stored.check_password(PASSWORD)


def test_register_refuses_an_email_registered_in_another_case(api_client, user):
    response = post(
        api_client, "/api/register/", {"email": "PLAYER@Example.com", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert response.json() == {"email": ["A user with this email already exists."]}


def test_register_refuses_an_invalid_email(api_client):
    response = post(api_client, "/api/register/", {"email": "not-an-email", "password": PASSWORD})

    assert response.status_code == 400
    assert response.json() == {"email": ["Enter a valid email address."]}


def test_register_refuses_a_common_password(api_client):
    response = post(
        api_client, "/api/register/", {"email": "new@example.com", "password": "password"}
    )

    assert response.status_code == 400
    assert "This password is too common." in response.json()["password"]


def test_register_refuses_a_password_similar_to_the_email(api_client):
    response = post(
        api_client,
        "/api/register/",
        {"email": "galahad.knight@example.com", "password": "galahad.knight"},
    )

    assert response.status_code == 400
    assert "The password is too similar to the email address." in response.json()["password"]


def test_register_requires_email_and_password(api_client):
    response = post(api_client, "/api/register/", {})

    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


def test_register_reports_every_bad_field_at_once(api_client, user):
    response = post(
        api_client,
        "/api/register/",
        {"email": "PLAYER@example.com", "password": "password", "is_staff": True},
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"email", "password", "is_staff"}
    assert errors["email"] == [EMAIL_TAKEN]
    assert "This password is too common." in errors["password"]


def test_register_reports_an_invalid_email_and_a_short_password_at_once(api_client):
    response = post(api_client, "/api/register/", {"email": "not-an-email", "password": "x1"})

    assert set(response.json()) == {"email", "password"}


def test_register_refuses_fields_it_does_not_take(api_client):
    response = post(
        api_client,
        "/api/register/",
        {"email": "new@example.com", "password": PASSWORD, "is_staff": True},
    )

    assert response.status_code == 400
    assert list(response.json()) == ["is_staff"]
    assert not User.objects.filter(email="new@example.com").exists()


# --- login -----------------------------------------------------------------------------------


def test_login_returns_an_access_token_and_a_refresh_token(api_client, user):
    body = login(api_client)

    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert uuid.UUID(body["refresh_token"]).version == 4
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["sub"] == str(user.pk)


def test_login_stores_only_a_digest_of_the_refresh_token(api_client, user):
    refresh_token = login(api_client)["refresh_token"]

    stored = RefreshToken.objects.get(user=user)
    assert refresh_token not in stored.digest
    assert len(stored.digest) == 64


def test_login_accepts_the_email_in_any_case(api_client, user):
    assert login(api_client, email="Player@EXAMPLE.com")["access_token"]


def test_register_refuses_an_email_whose_normal_form_is_not_a_valid_address(api_client):
    # "İ" folds to "i" + U+0307, which Django's validator refuses in the local part (it
    # accepted "İ" itself only through re.IGNORECASE).
    response = post(
        api_client, "/api/register/", {"email": "İvan@example.com", "password": PASSWORD}
    )

    assert response.json() == {"email": ["Enter a valid email address."]}


def test_an_email_with_a_dotted_capital_i_in_its_domain_logs_in_as_registered(api_client):
    email = "ivan@exİmple.com"
    assert (
        post(api_client, "/api/register/", {"email": email, "password": PASSWORD}).status_code
        == 201
    )

    assert login(api_client, email=email)["access_token"]


@pytest.mark.parametrize(
    ("registered", "variant"),
    [
        ("kelvin@example.com", "\u212aelvin@example.com"),  # Kelvin sign
        ("strasse@example.com", "STRAẞE@example.com"),  # capital sharp s
        ("straße@example.com", "strasse@example.com"),
        ("player@example.com", "\uff50\uff4c\uff41\uff59\uff45\uff52@example.com"),  # fullwidth
        ("jose@exámple.com", "jose@exa\u0301mple.com"),  # NFD
    ],
)
def test_an_email_variant_with_the_same_normal_form_logs_into_the_same_account(
    api_client, registered, variant
):
    post(api_client, "/api/register/", {"email": registered, "password": PASSWORD})

    assert login(api_client, email=variant)["access_token"]


@pytest.mark.parametrize(
    ("registered", "variant"),
    [
        ("straße@example.com", "STRASSE@example.com"),
        ("kelvin@example.com", "\u212aelvin@example.com"),
    ],
)
def test_register_refuses_an_email_whose_normal_form_is_taken(api_client, registered, variant):
    post(api_client, "/api/register/", {"email": registered, "password": PASSWORD})

    response = post(api_client, "/api/register/", {"email": variant, "password": PASSWORD})

    assert response.json() == {"email": ["A user with this email already exists."]}


def test_register_stores_and_returns_the_normalised_email(api_client):
    response = post(
        api_client, "/api/register/", {"email": "\uff2aose@EXÁMPLE.com", "password": PASSWORD}
    )

    assert response.json()["email"] == "jose@exámple.com"
    assert User.objects.get().email == "jose@exámple.com"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("nobody@example.com", PASSWORD),
        ("player@example.com", "Wrong-Passw0rd!"),
    ],
    ids=["unknown-email", "wrong-password"],
)
def test_login_refuses_bad_credentials_with_one_message(api_client, user, email, password):
    response = post(api_client, "/api/login/", {"email": email, "password": password})

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid email or password."}
    # Credentials in the body, not an Authorization header: no challenge (RFC 6750 3).
    assert "WWW-Authenticate" not in response


def test_login_refuses_an_inactive_user_with_the_same_message(api_client, user):
    user.is_active = False
    user.save()

    response = post(api_client, "/api/login/", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid email or password."}


def test_login_requires_email_and_password(api_client):
    response = post(api_client, "/api/login/", {"email": "player@example.com"})

    assert response.status_code == 400
    assert response.json() == {"password": ["This field is required."]}


def test_login_records_the_last_login(api_client, user):
    login(api_client)

    user.refresh_from_db()
    assert user.last_login is not None


# --- refresh ---------------------------------------------------------------------------------


def test_refresh_returns_a_new_pair(api_client, user):
    first = login(api_client)

    response = post(api_client, "/api/refresh/", {"refresh_token": first["refresh_token"]})

    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert second["refresh_token"] != first["refresh_token"]
    assert api_client.get("/api/me/", **bearer(second["access_token"])).status_code == 200


def test_refresh_revokes_the_presented_token(api_client, user):
    first = login(api_client)["refresh_token"]
    post(api_client, "/api/refresh/", {"refresh_token": first})

    response = post(api_client, "/api/refresh/", {"refresh_token": first})

    assert response.status_code == 401
    assert response.json() == {"detail": "Refresh token has been revoked."}


def test_refresh_refuses_an_unknown_token(api_client, user):
    response = post(api_client, "/api/refresh/", {"refresh_token": str(uuid.uuid4())})

    assert response.status_code == 401
    assert response.json() == {"detail": "Refresh token is unknown."}
    assert "WWW-Authenticate" not in response


def test_refresh_refuses_an_expired_token(api_client, user):
    refresh_token = login(api_client)["refresh_token"]

    with time_machine.travel(timedelta(days=30, seconds=1)):
        response = post(api_client, "/api/refresh/", {"refresh_token": refresh_token})

    assert response.status_code == 401
    assert response.json() == {"detail": "Refresh token has expired."}


def test_refresh_refuses_a_logged_out_token(api_client, user):
    refresh_token = login(api_client)["refresh_token"]
    post(api_client, "/api/logout/", {"refresh_token": refresh_token})

    response = post(api_client, "/api/refresh/", {"refresh_token": refresh_token})

    assert response.status_code == 401


def test_refresh_refuses_a_token_of_an_inactive_user(api_client, user):
    refresh_token = login(api_client)["refresh_token"]
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = post(api_client, "/api/refresh/", {"refresh_token": refresh_token})

    assert response.status_code == 401
    assert response.json() == {"detail": "User is inactive."}


@pytest.mark.parametrize("body", [{}, {"refresh_token": "not-a-uuid"}, {"refresh_token": 5}])
def test_refresh_refuses_a_malformed_body(api_client, body):
    response = post(api_client, "/api/refresh/", body)

    assert response.status_code == 400
    assert "refresh_token" in response.json()


@pytest.mark.parametrize("url", ["/api/refresh/", "/api/logout/"])
def test_an_access_token_sent_as_the_refresh_token_is_named_as_such(api_client, user, url):
    access_token = login(api_client)["access_token"]

    response = post(api_client, url, {"refresh_token": access_token})

    assert response.status_code == 400
    assert response.json() == {"refresh_token": [ACCESS_TOKEN_AS_REFRESH_TOKEN]}


# --- logout ----------------------------------------------------------------------------------


def test_logout_answers_success_and_revokes_the_token(api_client, user):
    refresh_token = login(api_client)["refresh_token"]

    response = post(api_client, "/api/logout/", {"refresh_token": refresh_token})

    assert response.status_code == 200
    assert response.json() == {"success": "User logged out."}
    assert RefreshToken.objects.get(user=user).revoked_at is not None


def test_logout_twice_answers_success_both_times(api_client, user):
    refresh_token = login(api_client)["refresh_token"]
    post(api_client, "/api/logout/", {"refresh_token": refresh_token})

    response = post(api_client, "/api/logout/", {"refresh_token": refresh_token})

    assert response.status_code == 200
    assert response.json() == {"success": "User logged out."}


def test_logout_with_an_unknown_token_answers_success(api_client):
    response = post(api_client, "/api/logout/", {"refresh_token": str(uuid.uuid4())})

    assert response.status_code == 200
    assert response.json() == {"success": "User logged out."}


def test_logout_leaves_other_sessions_alive(api_client, user):
    phone, laptop = login(api_client), login(api_client)
    post(api_client, "/api/logout/", {"refresh_token": phone["refresh_token"]})

    response = post(api_client, "/api/refresh/", {"refresh_token": laptop["refresh_token"]})

    assert response.status_code == 200


def test_logout_all_revokes_every_session_of_the_user(api_client, user):
    phone, laptop = login(api_client), login(api_client)
    post(api_client, "/api/logout/", {"refresh_token": phone["refresh_token"], "all": True})

    response = post(api_client, "/api/refresh/", {"refresh_token": laptop["refresh_token"]})

    assert response.status_code == 401


def test_logout_all_leaves_other_users_sessions_alive(api_client, user, other_user):
    mine = login(api_client)
    theirs = login(api_client, email=other_user.email)
    post(api_client, "/api/logout/", {"refresh_token": mine["refresh_token"], "all": True})

    response = post(api_client, "/api/refresh/", {"refresh_token": theirs["refresh_token"]})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "body", [{}, {"refresh_token": "nope"}, {"refresh_token": str(uuid.uuid4()), "all": "maybe"}]
)
def test_logout_refuses_a_malformed_body(api_client, body):
    response = post(api_client, "/api/logout/", body)

    assert response.status_code == 400


@pytest.mark.parametrize("flag", [1, "yes", "true"])
def test_logout_refuses_an_all_flag_that_is_not_a_json_boolean(api_client, user, flag):
    session = login(api_client)

    response = post(
        api_client, "/api/logout/", {"refresh_token": session["refresh_token"], "all": flag}
    )

    assert response.status_code == 400
    assert response.json() == {"all": ["Must be a valid boolean."]}


def test_logout_all_accepts_the_flag_as_text_in_a_form_body(api_client, user):
    phone, laptop = login(api_client), login(api_client)
    api_client.post(
        "/api/logout/",
        f"refresh_token={phone['refresh_token']}&all=true",
        content_type="application/x-www-form-urlencoded",
    )

    response = post(api_client, "/api/refresh/", {"refresh_token": laptop["refresh_token"]})

    assert response.status_code == 401


# --- me --------------------------------------------------------------------------------------


def test_me_returns_the_current_user(api_client, user, pair):
    response = api_client.get("/api/me/", **bearer(pair.access_token))

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": "", "email": "player@example.com"}


def test_put_me_changes_the_username_and_keeps_the_email(api_client, user, pair):
    response = api_client.put(
        "/api/me/", {"username": "John Smith"}, format="json", **bearer(pair.access_token)
    )

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": "John Smith", "email": user.email}


def test_put_me_changes_the_email_and_keeps_the_username(api_client, user, pair):
    User.objects.filter(pk=user.pk).update(username="John Smith")

    response = api_client.put(
        "/api/me/",
        {"email": "new@example.com", "current_password": PASSWORD},
        format="json",
        **bearer(pair.access_token),
    )

    assert response.json() == {"id": user.pk, "username": "John Smith", "email": "new@example.com"}
    assert User.objects.get(pk=user.pk).email == "new@example.com"


def test_patch_me_changes_only_the_given_field(api_client, user, pair):
    response = api_client.patch(
        "/api/me/", {"username": "Jane"}, format="json", **bearer(pair.access_token)
    )

    assert response.json() == {"id": user.pk, "username": "Jane", "email": user.email}


def test_updated_email_is_the_new_login(api_client, user, pair):
    api_client.patch(
        "/api/me/",
        {"email": "new@example.com", "current_password": PASSWORD},
        format="json",
        **bearer(pair.access_token),
    )

    assert login(api_client, email="new@example.com")["access_token"]


def test_email_change_right_after_login_needs_only_the_access_token(api_client, user):
    # The brief's own example: PUT {"email"} with nothing but the access token of a new login.
    tokens = login(api_client)

    response = api_client.put(
        "/api/me/", {"email": "new@example.com"}, format="json", **bearer(tokens["access_token"])
    )

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": "", "email": "new@example.com"}


@contextlib.contextmanager
def access_after_the_window(client) -> Iterator[str]:
    """Yield an access token of a session that logged in REAUTHENTICATION_WINDOW + 1 s ago
    and refreshed since (a refresh does not renew the sign-in); the clock stays there."""
    tokens = login(client)
    with time_machine.travel(timedelta(seconds=REAUTHENTICATION_WINDOW + 1)):
        refreshed = post(client, "/api/refresh/", {"refresh_token": tokens["refresh_token"]})
        yield refreshed.json()["access_token"]


def test_refreshing_does_not_renew_the_sign_in(api_client, user):
    with access_after_the_window(api_client) as access:
        response = api_client.put(
            "/api/me/", {"email": "thief@example.com"}, format="json", **bearer(access)
        )

    assert response.status_code == 400
    assert response.json() == {"current_password": [REAUTHENTICATION_REQUIRED]}
    assert User.objects.get(pk=user.pk).email == "player@example.com"


def test_email_change_outside_the_window_succeeds_with_the_current_password(api_client, user):
    with access_after_the_window(api_client) as access:
        response = api_client.put(
            "/api/me/",
            {"email": "new@example.com", "current_password": PASSWORD},
            format="json",
            **bearer(access),
        )

    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).email == "new@example.com"


def test_the_window_is_read_from_constance_on_each_request(api_client, user):
    tokens = login(api_client)
    config.REAUTHENTICATION_WINDOW = 0

    response = api_client.put(
        "/api/me/", {"email": "new@example.com"}, format="json", **bearer(tokens["access_token"])
    )

    assert response.json() == {"current_password": [REAUTHENTICATION_REQUIRED]}


def test_a_logged_out_session_cannot_change_the_email_without_the_password(api_client, user):
    tokens = login(api_client)
    post(api_client, "/api/logout/", {"refresh_token": tokens["refresh_token"]})

    response = api_client.put(
        "/api/me/", {"email": "new@example.com"}, format="json", **bearer(tokens["access_token"])
    )

    assert response.json() == {"current_password": [REAUTHENTICATION_REQUIRED]}


def test_email_change_with_a_wrong_current_password_is_refused(api_client, user, pair):
    response = api_client.patch(
        "/api/me/",
        {"email": "thief@example.com", "current_password": "Wrong-Passw0rd!"},
        format="json",
        **bearer(pair.access_token),
    )

    assert response.json() == {"current_password": ["Current password is incorrect."]}


def test_email_change_keeps_this_session_and_ends_every_other(api_client, user):
    this, other = login(api_client), login(api_client)
    api_client.patch(
        "/api/me/", {"email": "new@example.com"}, format="json", **bearer(this["access_token"])
    )

    kept = post(api_client, "/api/refresh/", {"refresh_token": this["refresh_token"]})
    ended = post(api_client, "/api/refresh/", {"refresh_token": other["refresh_token"]})

    assert (kept.status_code, ended.status_code) == (200, 401)
    assert ended.json() == {"detail": "Refresh token has been revoked."}


def test_email_change_outside_the_window_says_nothing_of_the_address(api_client, user, other_user):
    # The review's probe: a taken address answered on `email`, a free one on the password.
    with access_after_the_window(api_client) as access:
        answers = [
            api_client.patch("/api/me/", {"email": email}, format="json", **bearer(access)).json()
            for email in (other_user.email, "nobody@example.com")
        ]

    assert answers == [{"current_password": [REAUTHENTICATION_REQUIRED]}] * 2


def test_email_change_attempts_are_throttled_per_user(api_client, user, pair):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["current_password"]
    body = {"email": "thief@example.com", "current_password": "Wrong-Passw0rd!"}
    for _ in range(int(rate.split("/")[0])):
        api_client.patch("/api/me/", body, format="json", **bearer(pair.access_token))

    response = api_client.patch("/api/me/", body, format="json", **bearer(pair.access_token))

    assert response.status_code == 429


def test_email_probes_without_a_password_are_throttled_per_user(api_client, other_user, pair):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["current_password"]
    body = {"email": other_user.email}
    for _ in range(int(rate.split("/")[0])):
        api_client.patch("/api/me/", body, format="json", **bearer(pair.access_token))

    response = api_client.patch("/api/me/", body, format="json", **bearer(pair.access_token))

    assert response.status_code == 429


def test_update_me_refuses_an_email_of_another_user_in_any_case(api_client, user, other_user, pair):
    response = api_client.patch(
        "/api/me/", {"email": "OTHER@example.com"}, format="json", **bearer(pair.access_token)
    )

    assert response.status_code == 400
    assert response.json() == {"email": ["A user with this email already exists."]}


def test_update_me_accepts_the_users_own_email_in_another_case(api_client, user, pair):
    response = api_client.patch(
        "/api/me/", {"email": "PLAYER@example.com"}, format="json", **bearer(pair.access_token)
    )

    assert response.status_code == 200


def test_update_me_refuses_a_too_long_username(api_client, user, pair):
    response = api_client.patch(
        "/api/me/", {"username": "x" * 151}, format="json", **bearer(pair.access_token)
    )

    assert response.status_code == 400
    assert list(response.json()) == ["username"]


def test_update_me_refuses_an_invalid_email(api_client, user, pair):
    response = api_client.put(
        "/api/me/", {"email": "nope"}, format="json", **bearer(pair.access_token)
    )

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_update_me_refuses_a_blank_email_in_a_form_body(api_client, user, pair):
    response = api_client.patch(
        "/api/me/",
        "email=",
        content_type="application/x-www-form-urlencoded",
        **bearer(pair.access_token),
    )

    assert response.status_code == 400
    assert response.json() == {"email": ["This field may not be blank."]}


def test_update_me_refuses_a_username_that_is_not_a_string(api_client, user, pair):
    response = api_client.patch(
        "/api/me/", {"username": 0}, format="json", **bearer(pair.access_token)
    )

    assert response.status_code == 400
    assert response.json() == {"username": ["Not a valid string."]}


def test_login_refuses_a_password_that_is_not_a_string(api_client, user):
    response = post(api_client, "/api/login/", {"email": user.email, "password": 12345678})

    assert response.status_code == 400
    assert response.json() == {"password": ["Not a valid string."]}


def test_update_me_refuses_id_password_and_permissions_by_name(api_client, user, pair):
    response = api_client.put(
        "/api/me/",
        {"id": 999, "password": "x", "is_staff": True, "username": "Sam"},
        format="json",
        **bearer(pair.access_token),
    )

    assert response.status_code == 400
    takes = ["Unknown field. This endpoint takes: username, email, current_password."]
    assert response.json() == {"id": takes, "password": takes, "is_staff": takes}
    stored = User.objects.get(pk=user.pk)
    assert (stored.username, stored.is_staff) == ("", False)
    assert stored.check_password(PASSWORD)


def test_a_misspelt_field_is_refused_not_ignored(api_client, user, pair):
    response = api_client.put(
        "/api/me/", {"user_name": "typo"}, format="json", **bearer(pair.access_token)
    )

    assert response.status_code == 400
    assert list(response.json()) == ["user_name"]


def test_unknown_fields_are_reported_with_the_field_errors(api_client):
    response = post(api_client, "/api/register/", {"emial": "x@example.com", "password": "p"})

    # The weak password too: every field's errors come at once.
    assert set(response.json()) == {"emial", "email", "password"}


@pytest.mark.parametrize("url", ["/api/login/", "/api/refresh/", "/api/logout/"])
def test_a_json_body_sent_as_a_form_is_told_what_to_send(api_client, url):
    # curl -d '{"email": ...}' without -H "Content-Type: application/json".
    response = api_client.post(
        url,
        '{"email": "a@example.com", "password": "x", "refresh_token": "x"}',
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "Content-Type: application/json" in response.json()["detail"]


def test_update_me_with_a_json_body_sent_as_a_form_changes_nothing_and_says_so(
    api_client, user, pair
):
    response = api_client.put(
        "/api/me/",
        '{"username": "x"}',
        content_type="application/x-www-form-urlencoded",
        **bearer(pair.access_token),
    )

    assert response.status_code == 400
    assert User.objects.get(pk=user.pk).username == ""


def test_the_browsable_apis_form_still_logs_in(api_client, user):
    body = urlencode({"email": user.email, "password": PASSWORD, "csrfmiddlewaretoken": "t"})

    response = api_client.post(
        "/api/login/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200


def test_update_me_requires_an_access_token(api_client, user):
    response = api_client.patch("/api/me/", {"username": "x"}, format="json")

    assert response.status_code == 401
    # No credentials at all: the scheme and realm, no error code (RFC 6750 3).
    assert response["WWW-Authenticate"] == f'Bearer realm="{settings.JWT_AUDIENCE}"'


# --- bodies, errors, health, browsable API ------------------------------------------------------


def test_malformed_json_body_is_refused_with_a_clear_message(api_client):
    response = api_client.post("/api/login/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_deeply_nested_json_body_is_refused_with_a_clear_message(api_client):
    response = api_client.post("/api/login/", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested too deeply."}


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_json_body_that_is_not_an_object_is_refused(api_client, body):
    response = api_client.post("/api/register/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": 'JSON body must be an object, e.g. {"email": "..."}.'}


def test_unknown_api_path_gets_a_json_404(api_client):
    response = api_client.get("/api/nothing-here/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_post_without_the_trailing_slash_gets_a_json_404_naming_the_url(api_client, user):
    response = post(api_client, "/api/login", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Not found. Did you mean /api/login/ (with a trailing slash)?"
    }


def test_get_without_the_trailing_slash_is_still_redirected(api_client):
    response = api_client.get("/api/health")

    assert response.status_code == 301
    assert response["Location"] == "/api/health/"


def test_the_redirect_to_the_trailing_slash_says_so_in_json(api_client):
    response = api_client.get("/api/me")

    assert response.status_code == 301
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": MOVED_TO_SLASH.format(path="/api/me/")}


def test_djangos_own_errors_are_written_in_drfs_bytes(api_client):
    response = api_client.get("/api/nothing-here/")

    assert response.content == b'{"detail":"Not found."}'


def test_host_not_in_allowed_hosts_gets_a_json_400(api_client):
    response = api_client.get("/api/health/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json() == {"detail": "Host header is not allowed."}


def test_body_over_the_upload_limit_gets_a_json_400(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = post(api_client, "/api/login/", {"email": "x@example.com", "password": "x" * 2048})

    assert response.status_code == 400
    assert response.json() == {"detail": "Request body is too large."}


def test_form_with_too_many_fields_gets_a_json_400(api_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"field{i}=1" for i in range(11))

    response = api_client.post(
        "/api/login/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "Request has too many fields."}


def test_unknown_path_outside_the_api_gets_an_html_404(api_client):
    response = api_client.get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.urls_failing")
def test_crash_under_the_api_gets_a_json_500(client):
    client.raise_request_exception = False

    response = client.get("/api/crash/")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}


def test_wrong_method_gets_a_json_405(api_client):
    response = api_client.get("/api/login/")

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


def test_health_reports_database_and_cache_ok(api_client):
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_health_answers_503_when_the_cache_is_down(api_client):
    unreachable = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=unreachable):
        response = api_client.get("/api/health/")
    caches["default"].clear()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "cache": "unavailable"}


def test_browsable_api_renders_html_for_a_browser(api_client, pair):
    response = api_client.get("/api/me/", HTTP_ACCEPT="text/html", **bearer(pair.access_token))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"player@example.com" in response.content


def test_settings_used_by_the_suite_are_not_debug():
    assert settings.DEBUG is False


def test_jwks_serves_the_public_keys_for_anyone(api_client):
    response = api_client.get("/.well-known/jwks.json", HTTP_AUTHORIZATION="Bearer garbage")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "6Q5Ed-lbTYfhK4g_cGcQMvQi5GUwoQRML8OR54qrWkM",
                "kid": "test-key-1",
                "use": "sig",
                "alg": "EdDSA",
            }
        ]
    }


def test_jwks_may_be_cached_for_five_minutes(api_client):
    response = api_client.get("/.well-known/jwks.json")

    assert response["Cache-Control"] == "public, max-age=300"


def test_jwks_is_empty_with_a_shared_hs256_secret(api_client, settings):
    settings.JWT_ALGORITHM = "HS256"
    settings.JWT_VERIFYING_KEYS = {}

    assert api_client.get("/.well-known/jwks.json").json() == {"keys": []}


# --- caching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/login/", {"email": "player@example.com", "password": PASSWORD}),
        ("post", "/api/refresh/", "pair"),
        ("get", "/api/me/", None),
        ("post", "/api/register/", {"email": "new@example.com", "password": PASSWORD}),
        (
            "post",
            "/api/password/change/",
            {"current_password": PASSWORD, "new_password": "An0ther-Passw0rd!"},
        ),
    ],
)
def test_responses_with_tokens_or_the_user_are_never_stored(
    api_client, user, pair, method, url, body
):
    if body == "pair":
        body = {"refresh_token": pair.refresh_token}
    response = getattr(api_client, method)(url, body, format="json", **bearer(pair.access_token))

    assert response.status_code in (200, 201)
    assert (response["Cache-Control"], response["Pragma"]) == ("no-store", "no-cache")


def test_a_refused_login_is_never_stored_either(api_client, user):
    response = post(api_client, "/api/login/", {"email": user.email, "password": "Wrong-1!"})

    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url", ["/api/me/", "/api/health/", "/.well-known/jwks.json"])
def test_head_is_answered_wherever_get_is(api_client, pair, url):
    response = api_client.head(url, **bearer(pair.access_token))

    assert response.status_code == 200
    assert response.content == b""

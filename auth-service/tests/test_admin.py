"""accounts/admin.py and the constance Config page."""

import uuid

import pytest
from constance import config
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import RefreshToken, SecurityEvent, User
from accounts.services import sessions
from tests.conftest import PASSWORD, rotate, stored

pytestmark = pytest.mark.django_db


def test_user_list_is_keyed_on_email(admin_client, user):
    response = admin_client.get("/admin/accounts/user/")

    assert response.status_code == 200
    assert b"player@example.com" in response.content


def test_user_change_page_opens(admin_client, user):
    assert admin_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200


def test_admin_creates_a_user_by_email_and_password(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "staff@example.com",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="staff@example.com").check_password(PASSWORD)


def test_admin_refuses_a_user_whose_email_differs_only_in_case(admin_client, user):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "PLAYER@example.com",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 200
    assert b"A user with this email already exists." in response.content


def test_token_list_shows_a_digest_prefix_but_never_the_digest(admin_client, pair):
    digest = RefreshToken.objects.get().digest

    response = admin_client.get("/admin/accounts/refreshtoken/")

    assert response.status_code == 200
    assert digest[:8].encode() in response.content
    assert digest.encode() not in response.content


def test_token_detail_never_shows_the_digest(admin_client, pair):
    token = RefreshToken.objects.get()

    response = admin_client.get(f"/admin/accounts/refreshtoken/{token.pk}/change/")

    assert response.status_code == 200
    assert token.digest.encode() not in response.content


def test_tokens_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get("/admin/accounts/refreshtoken/add/").status_code == 403


def test_token_detail_is_read_only(admin_client, pair):
    token = RefreshToken.objects.get()

    admin_client.post(
        f"/admin/accounts/refreshtoken/{token.pk}/change/", {"expires_at": "2099-01-01"}
    )

    assert RefreshToken.objects.get().expires_at == token.expires_at


def test_revoke_action_revokes_the_selected_tokens(admin_client, user, pair):
    kept = sessions.token_pair_issue(user_id=user.pk)
    selected = RefreshToken.objects.exclude(
        digest=sessions.refresh_token_digest(token=uuid.UUID(kept.refresh_token))
    ).get()

    response = admin_client.post(
        "/admin/accounts/refreshtoken/",
        {"action": "revoke", "_selected_action": [selected.pk]},
    )

    assert response.status_code == 302
    assert RefreshToken.objects.filter(revoked_at__isnull=False).get() == selected


def change_user(admin_client, user: User, **changes):
    """Submit the admin's change form of `user` with `changes` over its current values."""
    form = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").context["adminform"].form
    # Groups and permissions left out: the fixture's users have none.
    data = {
        name: value
        for name, value in {**form.initial, **changes}.items()
        if name in form.fields
        and name not in ("groups", "user_permissions")
        and value is not None
        and not form.fields[name].disabled
    }
    return admin_client.post(f"/admin/accounts/user/{user.pk}/change/", data)


def test_an_email_changed_in_the_admin_ends_every_session_and_awaits_verification(
    admin_client, user, pair
):
    User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())

    response = change_user(admin_client, user, email="moved@example.com")

    assert response.status_code == 302
    changed = User.objects.get(pk=user.pk)
    assert (changed.email, changed.email_verified_at) == ("moved@example.com", None)
    assert RefreshToken.objects.get(user=user).revoked_at is not None


def test_a_password_set_in_the_admin_ends_every_session(admin_client, user, pair):
    response = admin_client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": "An0ther-passphrase", "password2": "An0ther-passphrase"},
    )

    assert response.status_code == 302
    assert RefreshToken.objects.get(user=user).revoked_at is not None


def test_the_users_page_links_to_its_live_sessions_and_security_events(admin_client, user):
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()

    assert f'href="/admin/accounts/session/?user={user.pk}"' in page
    assert f'href="/admin/accounts/securityevent/?user={user.pk}"' in page


def test_the_session_list_shows_one_users_live_sessions(admin_client, user, other_user, pair):
    rotated = rotate(pair.refresh_token)  # the same session: listed once, by its newest token
    sessions.token_pair_issue(user_id=other_user.pk)
    ended = sessions.token_pair_issue(user_id=user.pk)
    sessions.refresh_token_revoke(token=uuid.UUID(ended.refresh_token))

    response = admin_client.get("/admin/accounts/session/", {"user": user.pk})

    assert [s.family for s in response.context["cl"].result_list] == [
        stored(rotated.refresh_token).family
    ]


def test_the_end_action_ends_the_selected_sessions_as_the_api_does(admin_client, user, pair):
    kept = sessions.token_pair_issue(user_id=user.pk)
    selected = stored(pair.refresh_token)

    response = admin_client.post(
        "/admin/accounts/session/", {"action": "end", "_selected_action": [selected.pk]}
    )

    assert response.status_code == 302
    ended = stored(pair.refresh_token)
    assert (ended.revoked_at is not None, ended.session_ended) == (True, True)
    assert stored(kept.refresh_token).revoked_at is None
    event = SecurityEvent.objects.get(event=SecurityEvent.Kind.SESSION_ENDED)
    assert (event.reason, event.session_id) == ("admin", selected.family)


def test_security_events_are_read_only_in_the_admin(admin_client, user):
    event = SecurityEvent.objects.get(user=user)  # the registration

    listed = admin_client.get("/admin/accounts/securityevent/", {"user": user.pk})
    detail = admin_client.get(f"/admin/accounts/securityevent/{event.pk}/change/")

    assert list(listed.context["cl"].result_list) == [event]
    assert b'name="_save"' not in detail.content
    assert admin_client.get("/admin/accounts/securityevent/add/").status_code == 403


def test_constance_page_shows_both_lifetimes(admin_client):
    response = admin_client.get("/admin/constance/config/")

    assert response.status_code == 200
    assert b"ACCESS_TOKEN_LIFETIME" in response.content
    assert b"REFRESH_TOKEN_LIFETIME" in response.content


def submit_lifetimes(admin_client, access: str, refresh: str):
    form = admin_client.get("/admin/constance/config/").context["form"]
    return admin_client.post(
        "/admin/constance/config/",
        {
            "version": form.initial["version"],
            "ACCESS_TOKEN_LIFETIME": access,
            "REFRESH_TOKEN_LIFETIME": refresh,
            "REFRESH_TOKEN_REUSE_GRACE": "0",
            "REAUTHENTICATION_WINDOW": "300",
        },
    )


def test_constance_page_saves_a_valid_lifetime(admin_client):
    response = submit_lifetimes(admin_client, "60", "86400")

    assert response.status_code == 302
    assert (config.ACCESS_TOKEN_LIFETIME, config.REFRESH_TOKEN_LIFETIME) == (60, 86400)


@pytest.mark.parametrize(
    ("access", "refresh"),
    [("0", "86400"), ("-5", "86400"), ("999999999", "86400"), ("30", "0"), ("30", "99999999999")],
    ids=["zero", "negative", "absurd-access", "zero-refresh", "absurd-refresh"],
)
def test_constance_page_refuses_an_impossible_lifetime(admin_client, access, refresh):
    response = submit_lifetimes(admin_client, access, refresh)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert (config.ACCESS_TOKEN_LIFETIME, config.REFRESH_TOKEN_LIFETIME) == (30, 2592000)


def test_constance_command_sets_a_lifetime():
    call_command("constance", "set", "ACCESS_TOKEN_LIFETIME", "2")

    assert config.ACCESS_TOKEN_LIFETIME == 2


def test_constance_command_refuses_a_zero_lifetime():
    with pytest.raises(CommandError):
        call_command("constance", "set", "ACCESS_TOKEN_LIFETIME", "0")

    assert config.ACCESS_TOKEN_LIFETIME == 30


# --- the admin's login limit -------------------------------------------------------------------


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_superuser(email="boss@example.com", password=PASSWORD)


def admin_login(client, password: str, **meta):
    return client.post(
        "/admin/login/?next=/admin/", {"username": "boss@example.com", "password": password}, **meta
    )


def failures_allowed() -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login_account_ip"].split("/")[0])


def test_admin_login_locks_an_account_after_the_api_logins_failure_limit(client, staff):
    for _ in range(failures_allowed()):
        admin_login(client, "Wrong-Passw0rd!")

    response = admin_login(client, PASSWORD)

    assert response.status_code == 200  # the form again, not the redirect of a login
    assert b"Too many failed logins for this account." in response.content


def test_admin_and_api_logins_share_one_failure_count(client, api_client, staff):
    for _ in range(failures_allowed()):
        api_client.post(
            "/api/login/",
            {"email": "boss@example.com", "password": "Wrong-Passw0rd!"},
            format="json",
        )

    assert b"Too many failed logins" in admin_login(client, PASSWORD).content


def test_admin_logins_that_succeed_never_lock_the_account(client, staff):
    for _ in range(failures_allowed()):
        assert admin_login(client, PASSWORD).status_code == 302
        client.logout()

    assert admin_login(client, PASSWORD).status_code == 302


def test_an_admin_account_locked_from_one_address_logs_in_from_another(client, staff):
    for _ in range(failures_allowed()):
        admin_login(client, "Wrong-Passw0rd!", REMOTE_ADDR="192.0.2.1")

    assert admin_login(client, PASSWORD, REMOTE_ADDR="198.51.100.1").status_code == 302

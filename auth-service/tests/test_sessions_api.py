"""The sessions a user can see and end (/api/sessions/), their access tokens once ended, and
the security activity (/api/me/activity/)."""

import uuid
from datetime import timedelta

import jwt
import pytest
import time_machine
from constance import config
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.clients import Client
from accounts.errors import SESSION_ENDED
from accounts.models import RefreshToken
from accounts.services import sessions
from tests.conftest import PASSWORD, bearer, rotate, stored

pytestmark = pytest.mark.django_db

SESSIONS = "/api/sessions/"
END_OTHERS = "/api/sessions/end-others/"
PHONE = {
    "HTTP_USER_AGENT": "Phone/1.0",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_X_FORWARDED_FOR": "203.0.113.7",
}
LAPTOP = {
    "HTTP_USER_AGENT": "Laptop/2.0",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_X_FORWARDED_FOR": "198.51.100.9",
}
NEW_PASSWORD = "An0ther-Str0ng-One!"


def login(client: APIClient, device: dict, password: str = PASSWORD) -> dict:
    response = client.post(
        "/api/login/",
        {"email": "player@example.com", "password": password},
        format="json",
        **device,
    )
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client: APIClient, token: str, device: dict) -> object:
    return client.post("/api/refresh/", {"refresh_token": token}, format="json", **device)


def listed(client: APIClient, access: str) -> list[dict]:
    response = client.get(SESSIONS, **bearer(access))
    assert response.status_code == 200, response.content
    return response.json()["results"]


def sid(access: str) -> str:
    return jwt.decode(access, options={"verify_signature": False})["sid"]


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_each_session_once_and_marks_the_current_one(api_client, user):
    phone = login(api_client, PHONE)
    laptop = login(api_client, LAPTOP)

    sessions_seen = listed(api_client, laptop["access_token"])

    assert [(s["id"], s["current"]) for s in sessions_seen] == [
        (sid(laptop["access_token"]), True),
        (sid(phone["access_token"]), False),
    ]
    assert sessions_seen[1]["login_user_agent"] == "Phone/1.0"
    assert sessions_seen[1]["login_ip"] == "203.0.113.7"


def test_a_refresh_is_the_sessions_last_use_and_keeps_its_login(api_client, user):
    phone = login(api_client, PHONE)
    with time_machine.travel(timedelta(minutes=5)):
        refreshed = refresh(api_client, phone["refresh_token"], LAPTOP).json()
        (session,) = listed(api_client, refreshed["access_token"])

    assert (session["login_user_agent"], session["login_ip"]) == ("Phone/1.0", "203.0.113.7")
    assert (session["last_user_agent"], session["last_ip"]) == ("Laptop/2.0", "198.51.100.9")
    row = stored(refreshed["refresh_token"])
    assert session["last_used_at"] != session["created_at"]
    assert row.session_started_at == stored(phone["refresh_token"]).issued_at


def test_newest_activity_comes_first(api_client, user):
    phone = login(api_client, PHONE)
    laptop = login(api_client, LAPTOP)
    with time_machine.travel(timedelta(minutes=1)):
        phone = refresh(api_client, phone["refresh_token"], PHONE).json()

        ids = [s["id"] for s in listed(api_client, phone["access_token"])]

    assert ids == [sid(phone["access_token"]), sid(laptop["access_token"])]


def test_the_list_holds_nothing_usable_as_a_token(api_client, user):
    pair = login(api_client, PHONE)

    body = api_client.get(SESSIONS, **bearer(pair["access_token"])).content.decode()

    assert pair["refresh_token"] not in body
    assert stored(pair["refresh_token"]).digest not in body
    assert set(listed(api_client, pair["access_token"])[0]) == {
        "id",
        "created_at",
        "last_used_at",
        "expires_at",
        "login_ip",
        "login_user_agent",
        "last_ip",
        "last_user_agent",
        "current",
    }


def test_ended_and_expired_sessions_are_not_listed(api_client, user):
    current = login(api_client, PHONE)
    logged_out = login(api_client, PHONE)
    api_client.post("/api/logout/", {"refresh_token": logged_out["refresh_token"]}, format="json")
    expired = login(api_client, PHONE)
    RefreshToken.objects.filter(family=sid(expired["access_token"])).update(
        expires_at=timezone.now()
    )

    assert [s["id"] for s in listed(api_client, current["access_token"])] == [
        sid(current["access_token"])
    ]


def test_another_users_sessions_are_not_listed(api_client, user, other_user):
    mine = login(api_client, PHONE)
    sessions.token_pair_issue(user_id=other_user.pk)

    assert len(listed(api_client, mine["access_token"])) == 1


def test_a_session_forked_by_a_grace_exchange_is_listed_once(api_client, user):
    config.REFRESH_TOKEN_REUSE_GRACE = 10
    pair = login(api_client, PHONE)
    rotate(pair["refresh_token"])
    again = rotate(pair["refresh_token"])  # the grace exchange: two live tokens in one family

    assert len(listed(api_client, again.access_token)) == 1


def test_the_list_is_paginated(api_client, user):
    pairs = [login(api_client, PHONE) for _ in range(3)]

    response = api_client.get(SESSIONS, {"page_size": 2}, **bearer(pairs[0]["access_token"]))

    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 2
    assert response.json()["next"] is not None


def test_the_list_needs_an_access_token(api_client):
    assert api_client.get(SESSIONS).status_code == 401


# --- ending one ------------------------------------------------------------------------------


def test_ending_a_session_revokes_its_refresh_token_and_refuses_its_access_token(api_client, user):
    phone = login(api_client, PHONE)
    laptop = login(api_client, LAPTOP)

    response = api_client.delete(
        f"{SESSIONS}{sid(phone['access_token'])}/", **bearer(laptop["access_token"])
    )

    assert response.status_code == 204
    assert refresh(api_client, phone["refresh_token"], PHONE).status_code == 401
    refused = api_client.get("/api/me/", **bearer(phone["access_token"]))
    assert (refused.status_code, refused.json()) == (401, {"detail": SESSION_ENDED})
    assert api_client.get("/api/me/", **bearer(laptop["access_token"])).status_code == 200


def test_an_ended_sessions_access_token_is_refused_by_the_sessions_endpoints(api_client, user):
    phone = login(api_client, PHONE)
    laptop = login(api_client, LAPTOP)
    api_client.delete(f"{SESSIONS}{sid(phone['access_token'])}/", **bearer(laptop["access_token"]))

    assert api_client.get(SESSIONS, **bearer(phone["access_token"])).status_code == 401
    assert api_client.post(END_OTHERS, **bearer(phone["access_token"])).status_code == 401


@pytest.mark.parametrize("kind", ["another user's", "unknown", "malformed", "ended"])
def test_a_session_that_is_not_a_live_one_of_the_caller_is_one_404(
    api_client, user, other_user, kind
):
    mine = login(api_client, PHONE)
    ended = login(api_client, PHONE)
    api_client.post("/api/logout/", {"refresh_token": ended["refresh_token"]}, format="json")
    session_id = {
        "another user's": sessions.token_pair_issue(user_id=other_user.pk).session_id,
        "unknown": str(uuid.uuid4()),
        "malformed": "not-a-session",
        "ended": sid(ended["access_token"]),
    }[kind]

    response = api_client.delete(f"{SESSIONS}{session_id}/", **bearer(mine["access_token"]))

    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_another_users_session_survives_the_attempt(api_client, user, other_user):
    mine = login(api_client, PHONE)
    theirs = sessions.token_pair_issue(user_id=other_user.pk)

    api_client.delete(f"{SESSIONS}{theirs.session_id}/", **bearer(mine["access_token"]))

    assert stored(theirs.refresh_token).revoked_at is None


# --- ending the others -------------------------------------------------------------------------


def test_ending_the_others_of_three_sessions_leaves_the_current_one(api_client, user):
    first, second = login(api_client, PHONE), login(api_client, PHONE)
    current = login(api_client, LAPTOP)

    response = api_client.post(END_OTHERS, **bearer(current["access_token"]))

    assert response.status_code == 204
    assert [s["id"] for s in listed(api_client, current["access_token"])] == [
        sid(current["access_token"])
    ]
    for ended in (first, second):
        assert refresh(api_client, ended["refresh_token"], PHONE).status_code == 401
        assert api_client.get("/api/me/", **bearer(ended["access_token"])).status_code == 401
    assert refresh(api_client, current["refresh_token"], LAPTOP).status_code == 200


# --- which endings refuse the access token at once ---------------------------------------------


def test_a_plain_logout_leaves_its_access_token_working_until_it_expires(api_client, user):
    # The brief's walkthrough: refresh, logout, then GET /api/me/ with the refreshed token.
    pair = refresh(api_client, login(api_client, PHONE)["refresh_token"], PHONE).json()
    api_client.post("/api/logout/", {"refresh_token": pair["refresh_token"]}, format="json")

    assert api_client.get("/api/me/", **bearer(pair["access_token"])).status_code == 200


def test_a_password_change_refuses_the_access_tokens_of_every_earlier_session(api_client, user):
    phone = login(api_client, PHONE)
    laptop = login(api_client, LAPTOP)
    changed = api_client.post(
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
        **bearer(laptop["access_token"]),
    ).json()

    assert api_client.get("/api/me/", **bearer(phone["access_token"])).status_code == 401
    assert api_client.get("/api/me/", **bearer(laptop["access_token"])).status_code == 401
    assert api_client.get("/api/me/", **bearer(changed["access_token"])).status_code == 200


def test_a_replay_refuses_the_access_tokens_of_its_session(api_client, user):
    pair = login(api_client, PHONE)
    rotated = refresh(api_client, pair["refresh_token"], PHONE).json()
    refresh(api_client, pair["refresh_token"], PHONE)  # the replay

    assert api_client.get("/api/me/", **bearer(rotated["access_token"])).status_code == 401


def test_an_email_change_keeps_the_session_that_asked(api_client, user):
    phone = login(api_client, PHONE)
    laptop = login(api_client, LAPTOP)
    api_client.patch(
        "/api/me/", {"email": "moved@example.com"}, format="json", **bearer(laptop["access_token"])
    )

    assert api_client.get("/api/me/", **bearer(laptop["access_token"])).status_code == 200
    assert api_client.get("/api/me/", **bearer(phone["access_token"])).status_code == 401


# --- what the bookkeeping costs ----------------------------------------------------------------


def test_recording_the_client_of_a_refresh_costs_no_query(user):
    def queries_for_one_refresh(client: Client | None) -> list[str]:
        token = uuid.UUID(sessions.token_pair_issue(user_id=user.pk).refresh_token)
        with CaptureQueriesContext(connection) as captured:
            if client is None:
                sessions.refresh_token_rotate(token=token)
            else:
                sessions.refresh_token_rotate(token=token, client=client)
        return [query["sql"] for query in captured]

    queries_for_one_refresh(
        None
    )  # constance's database backend stores a key's default on first read
    without = queries_for_one_refresh(None)
    with_client = queries_for_one_refresh(Client(ip="203.0.113.7", user_agent="Phone/1.0"))

    assert len(with_client) == len(without)
    assert not any("security" in sql.lower() for sql in with_client)  # a refresh is no event


# --- activity ------------------------------------------------------------------------------------


def activity(client: APIClient, access: str) -> list[tuple[str, str]]:
    response = client.get("/api/me/activity/", **bearer(access))
    assert response.status_code == 200, response.content
    return [(e["event"], e["outcome"]) for e in response.json()["results"]]


def test_activity_shows_a_failed_login_a_login_a_password_change_and_a_replay_newest_first(
    api_client, user
):
    failed = api_client.post(
        "/api/login/", {"email": user.email, "password": "wrong"}, format="json", **PHONE
    )
    assert failed.status_code == 401
    pair = login(api_client, PHONE)
    rotated = refresh(api_client, pair["refresh_token"], PHONE).json()  # a refresh: no event
    changed = api_client.post(
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
        **bearer(rotated["access_token"]),
        **PHONE,
    ).json()
    refresh(api_client, pair["refresh_token"], LAPTOP)  # the rotated token again: a replay

    assert activity(api_client, changed["access_token"]) == [
        ("refresh_replayed", "failure"),
        ("password_changed", "success"),
        ("login", "success"),
        ("login", "failure"),
        ("registered", "success"),  # the `user` fixture
    ]
    newest = api_client.get("/api/me/activity/", **bearer(changed["access_token"])).json()
    assert newest["results"][0]["user_agent"] == "Laptop/2.0"
    assert newest["results"][0]["ip"] == "198.51.100.9"


def test_activity_shows_only_the_callers_events(api_client, user, other_user):
    pair = login(api_client, PHONE)

    events = activity(api_client, pair["access_token"])

    assert events == [("login", "success"), ("registered", "success")]


def test_activity_needs_an_access_token(api_client):
    assert api_client.get("/api/me/activity/").status_code == 401

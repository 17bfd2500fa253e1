"""Sessions a user can see and end, and the account's security activity, through the gateway:
GET /api/sessions/, DELETE /api/sessions/{id}/, POST /api/sessions/end-others/,
GET /api/me/activity/."""

from __future__ import annotations

import httpx
import pytest

from conftest import PASSWORD, bearer, claims

PHONE = {"User-Agent": "Phone/1.0"}
LAPTOP = {"User-Agent": "Laptop/2.0"}
NEW_PASSWORD = "An0ther-Correct-horse-battery"


def login(gateway: httpx.Client, email: str, device: dict, password: str = PASSWORD) -> dict:
    response = gateway.post(
        "/api/login/", json={"email": email, "password": password}, headers=device
    )
    assert response.status_code == 200, response.text
    return response.json()


def refresh(gateway: httpx.Client, pair: dict, device: dict) -> httpx.Response:
    return gateway.post(
        "/api/refresh/", json={"refresh_token": pair["refresh_token"]}, headers=device
    )


def me(gateway: httpx.Client, pair: dict) -> httpx.Response:
    return gateway.get("/api/me/", headers=bearer(pair["access_token"]))


def listed(gateway: httpx.Client, pair: dict) -> list[dict]:
    response = gateway.get("/api/sessions/", headers=bearer(pair["access_token"]))
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.fixture
def email(register) -> str:
    return register()


def test_two_devices_see_two_sessions_and_one_ends_the_other(gateway, email):
    phone, laptop = login(gateway, email, PHONE), login(gateway, email, LAPTOP)

    seen = listed(gateway, laptop)
    assert [(s["login_user_agent"], s["current"]) for s in seen] == [
        ("Laptop/2.0", True),
        ("Phone/1.0", False),
    ]
    assert seen[1]["id"] == claims(phone["access_token"])["sid"]

    ended = gateway.delete(
        f"/api/sessions/{seen[1]['id']}/", headers=bearer(laptop["access_token"])
    )

    assert ended.status_code == 204, ended.text
    assert refresh(gateway, phone, PHONE).status_code == 401
    assert me(gateway, phone).status_code == 401
    assert me(gateway, laptop).status_code == 200
    assert refresh(gateway, laptop, LAPTOP).status_code == 200


def test_an_ended_sessions_access_token_still_reaches_the_stateless_score_service(gateway, email):
    phone, laptop = login(gateway, email, PHONE), login(gateway, email, LAPTOP)
    sid = claims(phone["access_token"])["sid"]
    gateway.delete(f"/api/sessions/{sid}/", headers=bearer(laptop["access_token"]))

    score = gateway.get("/score", params={"offset": 1}, headers=bearer(phone["access_token"]))

    assert score.status_code == 200, score.text  # until it expires (docs/tokens.md)


def test_ending_the_others_of_three_sessions_leaves_one(gateway, email):
    first, second, current = (login(gateway, email, device) for device in (PHONE, PHONE, LAPTOP))

    response = gateway.post("/api/sessions/end-others/", headers=bearer(current["access_token"]))

    assert response.status_code == 204, response.text
    assert [s["id"] for s in listed(gateway, current)] == [claims(current["access_token"])["sid"]]
    assert [refresh(gateway, pair, PHONE).status_code for pair in (first, second)] == [401, 401]
    assert [me(gateway, pair).status_code for pair in (first, second, current)] == [401, 401, 200]


def test_another_users_session_id_is_the_404_of_an_unknown_one(gateway, register):
    mine = login(gateway, register(), PHONE)
    theirs = login(gateway, register(), PHONE)
    unknown = "00000000-0000-4000-8000-000000000000"

    answers = [
        gateway.delete(f"/api/sessions/{session_id}/", headers=bearer(mine["access_token"]))
        for session_id in (claims(theirs["access_token"])["sid"], unknown)
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(404, {"detail": "Not found."})] * 2
    assert refresh(gateway, theirs, PHONE).status_code == 200


def test_after_a_plain_logout_the_refreshed_access_token_still_reads_me(gateway, email):
    # The brief's order: refresh, logout with the new refresh token, then GET /api/me/ with
    # the new access token (docs/auth-service.md: which endings refuse an access token).
    pair = refresh(gateway, login(gateway, email, PHONE), PHONE).json()
    gateway.post("/api/logout/", json={"refresh_token": pair["refresh_token"]})

    assert me(gateway, pair).status_code == 200


def test_activity_shows_a_failed_login_a_login_a_password_change_and_a_replay(gateway, email):
    failed = gateway.post(
        "/api/login/", json={"email": email, "password": "not-the-password"}, headers=PHONE
    )
    assert failed.status_code == 401
    pair = login(gateway, email, PHONE)
    rotated = refresh(gateway, pair, PHONE).json()  # a refresh is no event
    changed = gateway.post(
        "/api/password/change/",
        headers={**bearer(rotated["access_token"]), **PHONE},
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert refresh(gateway, pair, LAPTOP).status_code == 401  # the rotated token: a replay

    response = gateway.get("/api/me/activity/", headers=bearer(changed.json()["access_token"]))

    assert response.status_code == 200, response.text
    events = response.json()["results"]
    assert [(e["event"], e["outcome"], e["user_agent"]) for e in events] == [
        ("refresh_replayed", "failure", "Laptop/2.0"),
        ("password_changed", "success", "Phone/1.0"),
        ("login", "success", "Phone/1.0"),
        ("login", "failure", "Phone/1.0"),
        ("registered", "success", "python-httpx/" + httpx.__version__),
    ]
    assert {e["ip"] for e in events} == {"127.0.0.1"}  # the gateway's X-Forwarded-For

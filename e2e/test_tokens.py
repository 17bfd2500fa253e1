"""Access tokens across the two services, and lifetimes changed in constance."""

import json
import time

from conftest import auth_errors, bearer, claims


def test_access_token_from_login_works_on_score(gateway, login):
    tokens = login()
    response = gateway.get("/score", params={"offset": 0}, headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.json() == {"offset": 0, "home": 0, "away": 0}


def test_lifetime_change_applies_to_the_next_login_without_restart(login, access_lifetime):
    access_lifetime(7)
    token = claims(login()["access_token"])
    assert token["exp"] - token["iat"] == 7


def test_expired_access_token_is_refused_by_both_services(gateway, stack, login, access_lifetime):
    access_lifetime(4)
    access = login()["access_token"]
    assert gateway.get("/api/me/", headers=bearer(access)).status_code == 200
    assert gateway.get("/score", params={"offset": 0}, headers=bearer(access)).status_code == 200

    # The suite's one real sleep: past `exp` (the stack runs with JWT_LEEWAY=0).
    time.sleep(max(0.0, claims(access)["exp"] - time.time()) + 1.0)

    me = gateway.get("/api/me/", headers=bearer(access))
    score = gateway.get("/score", params={"offset": 0}, headers=bearer(access))
    assert (me.status_code, score.status_code) == (401, 401)
    # RFC 6750 3.1, from both services alike: the client should refresh.
    expected = (
        f'Bearer realm="{stack.settings["JWT_AUDIENCE"]}", error="invalid_token", '
        'error_description="Token has expired."'
    )
    assert me.headers["WWW-Authenticate"] == score.headers["WWW-Authenticate"] == expected


def test_an_access_token_sent_to_refresh_is_named_as_such(gateway, login):
    access = login()["access_token"]

    response = gateway.post("/api/refresh/", json={"refresh_token": access})

    assert response.status_code == 400
    assert response.json() == {"refresh_token": [auth_errors.ACCESS_TOKEN_AS_REFRESH_TOKEN]}


def auth_log_lines(stack, family: str) -> list[dict]:
    """The auth service's own log records (JSON lines) that name the refresh-token family
    `family`; the audit trail's (logger "audit", docs/observability.md) aside."""
    log = (stack.logs / "auth.log").read_text(encoding="utf-8")
    records = [json.loads(line) for line in log.splitlines() if family in line]
    return [record for record in records if record["logger"] != "audit"]


def test_a_logged_out_token_presented_again_is_not_logged_as_a_replay(gateway, stack, login):
    tokens = login()
    family = claims(tokens["access_token"])["sid"]
    body = {"refresh_token": tokens["refresh_token"]}
    assert gateway.post("/api/logout/", json=body).status_code == 200

    assert gateway.post("/api/refresh/", json=body).status_code == 401

    (record,) = auth_log_lines(stack, family)
    assert record["level"] == "INFO"
    assert "after its session ended" in record["message"]


def test_a_rotated_token_presented_again_is_logged_as_a_replay(gateway, stack, login):
    tokens = login()
    family = claims(tokens["access_token"])["sid"]
    body = {"refresh_token": tokens["refresh_token"]}
    assert gateway.post("/api/refresh/", json=body).status_code == 200

    assert gateway.post("/api/refresh/", json=body).status_code == 401

    (record,) = auth_log_lines(stack, family)
    assert record["level"] == "WARNING"
    assert "Revoked refresh token reused" in record["message"]

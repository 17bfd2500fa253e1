"""The brief's curl examples, through the gateway, on SQLite and on the main stack.

Each example sends the brief's own body text (-d) and headers (-H). Only what a run cannot
know in advance is replaced: the password (the brief's is refused as too common) and the
tokens, carried from the step that returned them.
"""

from __future__ import annotations

import uuid
from string import Template

import httpx

from conftest import PASSWORD, bearer, claims

JSON = {"Content-Type": "application/json"}
REGISTER = Template('{"password": "$password", "email": "user@example.com"}')
LOGIN = Template('{"email": "user@example.com", "password": "$password"}')
REFRESH_TOKEN = Template('{"refresh_token": "$refresh_token"}')  # refresh's and logout's body
USERNAME_CHANGE = '{"username": "John Smith"}'
EMAIL_CHANGE = '{"email": "newuser@example.com"}'


def curl(
    client: httpx.Client, method: str, path: str, *, headers: dict, data: str | None = None
) -> httpx.Response:
    """Send what `curl -X method URL -d data -H headers...` sends; print the exchange."""
    response = client.request(method, path, content=data, headers=headers)
    sent = f" -d '{data}'" if data else ""
    print(f"curl -X {method} {path}{sent}\n  {response.status_code} {response.text}")
    return response


def test_every_curl_example_of_the_brief_answers_as_the_brief_shows(each_stack):
    with httpx.Client(base_url=each_stack.url, timeout=30) as client:
        register = curl(
            client,
            "POST",
            "/api/register/",
            data=REGISTER.substitute(password=PASSWORD),
            headers=JSON,
        )
        assert register.status_code == 201, register.text
        user_id = register.json()["id"]
        assert register.json() == {"id": user_id, "email": "user@example.com"}
        assert isinstance(user_id, int)

        login = curl(
            client, "POST", "/api/login/", data=LOGIN.substitute(password=PASSWORD), headers=JSON
        )
        assert login.status_code == 200, login.text
        # The brief's two keys, as they are; the response may add OAuth's (RFC 6749 5.1).
        assert {"access_token", "refresh_token"} <= set(login.json())
        assert claims(login.json()["access_token"])["sub"] == str(user_id)
        assert uuid.UUID(login.json()["refresh_token"]).version == 4

        refresh = curl(
            client,
            "POST",
            "/api/refresh/",
            data=REFRESH_TOKEN.substitute(refresh_token=login.json()["refresh_token"]),
            headers=JSON,
        )
        assert refresh.status_code == 200, refresh.text
        assert {"access_token", "refresh_token"} <= set(refresh.json())
        assert refresh.json()["refresh_token"] != login.json()["refresh_token"]

        logout_body = REFRESH_TOKEN.substitute(refresh_token=refresh.json()["refresh_token"])
        logout = curl(client, "POST", "/api/logout/", data=logout_body, headers=JSON)
        assert logout.status_code == 200, logout.text
        assert logout.json() == {"success": "User logged out."}
        after_logout = curl(client, "POST", "/api/refresh/", data=logout_body, headers=JSON)
        assert after_logout.status_code == 401, after_logout.text

        # The logout ended that session; the rest of the brief runs in a new one, as its user
        # would log in again.
        session = curl(
            client, "POST", "/api/login/", data=LOGIN.substitute(password=PASSWORD), headers=JSON
        )
        assert session.status_code == 200, session.text
        authorization = bearer(session.json()["access_token"])

        me = curl(client, "GET", "/api/me/", headers=authorization)
        assert me.status_code == 200, me.text
        assert me.json() == {"id": user_id, "username": "", "email": "user@example.com"}

        username = curl(
            client, "PUT", "/api/me/", data=USERNAME_CHANGE, headers={**JSON, **authorization}
        )
        assert username.status_code == 200, username.text
        assert username.json() == {
            "id": user_id,
            "username": "John Smith",
            "email": "user@example.com",
        }

        email = curl(
            client, "PUT", "/api/me/", data=EMAIL_CHANGE, headers={**JSON, **authorization}
        )
        assert email.status_code == 200, email.text
        assert email.json() == {
            "id": user_id,
            "username": "John Smith",
            "email": "newuser@example.com",
        }


def test_the_seeds_own_password_is_refused_as_too_common(gateway):
    response = gateway.post(
        "/api/register/", json={"email": "common@example.com", "password": "password"}
    )
    assert response.status_code == 400
    assert "password" in response.json()

"""The seed's curl walkthrough, through the gateway, as README.md shows it."""

from conftest import PASSWORD, bearer


def test_seed_walkthrough_register_login_me_update_refresh_logout(gateway, register):
    email = register()

    login = gateway.post("/api/login/", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    tokens = login.json()
    assert set(tokens) == {"access_token", "refresh_token"}

    me = gateway.get("/api/me/", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json() == {"id": me.json()["id"], "username": "", "email": email}

    updated = gateway.put(
        "/api/me/", headers=bearer(tokens["access_token"]), json={"username": "John Smith"}
    )
    assert updated.status_code == 200
    assert updated.json() == {"id": me.json()["id"], "username": "John Smith", "email": email}

    refreshed = gateway.post("/api/refresh/", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    new_refresh = refreshed.json()["refresh_token"]
    assert new_refresh != tokens["refresh_token"]

    logout = gateway.post("/api/logout/", json={"refresh_token": new_refresh})
    assert logout.status_code == 200
    assert logout.json() == {"success": "User logged out."}

    after_logout = gateway.post("/api/refresh/", json={"refresh_token": new_refresh})
    assert after_logout.status_code == 401
    assert "detail" in after_logout.json()


def test_register_answers_with_id_and_email(gateway):
    email = "walkthrough-register@example.com"
    response = gateway.post("/api/register/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "email": email}


def test_the_seeds_own_password_is_refused_as_too_common(gateway):
    response = gateway.post(
        "/api/register/", json={"email": "common@example.com", "password": "password"}
    )
    assert response.status_code == 400
    assert "password" in response.json()

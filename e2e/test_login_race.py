"""A login in flight while the owner changes the password starts no session that survives
the change: real threads through the gateway (the security review's repro)."""

import threading

import httpx

from conftest import PASSWORD, bearer

RUNS = 30
LOGINS_IN_FLIGHT = 3
NEW_PASSWORD = "An0ther-long-passphrase-7"


def _race_once(gateway: httpx.Client, register) -> list[int]:
    """Log in with the old password LOGINS_IN_FLIGHT times while the owner changes it; return
    the status of a refresh of each session those logins got."""
    email = register()
    owner = gateway.post("/api/login/", json={"email": email, "password": PASSWORD}).json()
    barrier = threading.Barrier(LOGINS_IN_FLIGHT + 1)
    sessions: list[dict] = []

    def log_in() -> None:
        barrier.wait()
        response = gateway.post("/api/login/", json={"email": email, "password": PASSWORD})
        if response.status_code == 200:
            sessions.append(response.json())

    def change_password() -> None:
        barrier.wait()
        response = gateway.post(
            "/api/password/change/",
            headers=bearer(owner["access_token"]),
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert response.status_code == 200, response.text

    threads = [threading.Thread(target=log_in) for _ in range(LOGINS_IN_FLIGHT)]
    threads.append(threading.Thread(target=change_password))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [
        gateway.post("/api/refresh/", json={"refresh_token": s["refresh_token"]}).status_code
        for s in sessions
    ]


def test_no_session_of_a_login_racing_a_password_change_survives(gateway, register):
    refreshes = [status for _ in range(RUNS) for status in _race_once(gateway, register)]

    assert 200 not in refreshes, f"{refreshes.count(200)} of {len(refreshes)} sessions survived"

"""CORS through the gateway: a browser app on an allowed origin may call both services, its
preflights (OPTIONS) reach them; any other origin gets no Access-Control-Allow-Origin."""

import httpx
import pytest

from conftest import CORS_ORIGIN, PASSWORD, bearer

REFUSED = "https://elsewhere.example"
# (path, method the page will send, headers it will send) on each service.
CALLS = {
    "auth": ("/api/login/", "POST", "content-type"),
    "score": ("/score?offset=1", "GET", "authorization"),
}


def preflight(gateway, service: str, origin: str):
    path, method, headers = CALLS[service]
    return gateway.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.parametrize("service", CALLS)
def test_a_preflight_from_the_allowed_origin_is_answered_by_the_service(gateway, service):
    response = preflight(gateway, service, CORS_ORIGIN)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == CORS_ORIGIN
    assert CALLS[service][2] in response.headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("service", CALLS)
def test_a_preflight_from_another_origin_gets_no_allow_origin(gateway, service):
    response = preflight(gateway, service, REFUSED)

    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflights_are_not_counted_by_the_gateways_login_limit(strict_gateway, register):
    # strict_gateway allows 1 request a minute per address on the credential endpoints, with
    # a burst of 1: two preflights and the login itself must all pass. From an address of its
    # own, whose bucket no other test has used.
    email = register()
    transport = httpx.HTTPTransport(local_address="127.0.0.77")
    with httpx.Client(base_url=strict_gateway.base_url, transport=transport, timeout=30) as client:
        statuses = [preflight(client, "auth", CORS_ORIGIN).status_code for _ in range(2)]
        login = client.post(
            "/api/login/",
            json={"email": email, "password": PASSWORD},
            headers={"Origin": CORS_ORIGIN},
        )

    assert statuses == [200, 200]
    assert login.status_code == 200


@pytest.mark.parametrize(("origin", "allowed"), [(CORS_ORIGIN, True), (REFUSED, False)])
def test_a_login_and_a_score_from_an_origin_are_readable_only_by_the_allowed_one(
    gateway, register, origin, allowed
):
    email = register()
    login = gateway.post(
        "/api/login/", json={"email": email, "password": PASSWORD}, headers={"Origin": origin}
    )
    score = gateway.get(
        "/score?offset=1",
        headers={"Origin": origin, **bearer(login.json()["access_token"])},
    )

    assert (login.status_code, score.status_code) == (200, 200)
    for response in (login, score):
        assert response.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)

"""The gateway's own behaviour: routing, JSON errors, request IDs, headers."""

import re
import secrets
import time

import httpx
import pytest

from conftest import PASSWORD, score_errors


def test_health_is_answered_by_the_gateway(gateway):
    response = gateway.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/health/", "/score/health"])
def test_each_service_health_is_reachable_through_the_gateway(gateway, path):
    response = gateway.get(path)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_path_outside_the_known_prefixes_is_a_json_404(gateway):
    response = gateway.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_apps_own_404_passes_through_unchanged(gateway):
    response = gateway.get("/score/no-such-page")
    assert response.status_code == 404
    # The score service's own body (proxy_intercept_errors is off), in the same words as the
    # gateway's: test_errors.py compares the bytes.
    assert response.json() == {"detail": score_errors.NOT_FOUND}


def test_body_over_one_megabyte_is_a_json_413(gateway):
    response = gateway.post(
        "/api/register/",
        content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large (limit 1 MB)."}


def test_login_over_the_gateway_rate_is_a_json_429(strict_gateway):
    statuses = []
    for _ in range(3):
        response = strict_gateway.post(
            "/api/login/", json={"email": "nobody@example.com", "password": PASSWORD}
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 429]
    assert response.json() == {"detail": "Too many requests. Try again later."}
    assert response.headers.get_list("Retry-After") == ["60"]  # GATEWAY_RATE_LIMIT=1r/m


def test_a_services_429_keeps_its_own_retry_after_alone(gateway, login):
    # THROTTLE_RATE_CURRENT_PASSWORD=5/min (the default), per user: a fresh user's counter.
    headers = {"Authorization": f"Bearer {login()['access_token']}"}
    body = {"current_password": "Not-the-password-1", "new_password": "Another-passw0rd-2"}
    statuses = []
    for _ in range(6):
        response = gateway.post("/api/password/change/", json=body, headers=headers)
        statuses.append(response.status_code)

    assert statuses == [400] * 5 + [429]
    (retry_after,) = response.headers.get_list("Retry-After")
    assert int(retry_after) > 1  # DRF's wait within the minute, not the gateway's second


def test_post_without_the_trailing_slash_gets_the_auth_services_json_hint(gateway):
    response = gateway.post("/api/login", json={"email": "a@example.com", "password": "x"})

    assert response.status_code == 404
    assert "/api/login/" in response.json()["detail"]


def test_admin_login_page_is_rate_limited_like_the_api_login(strict_gateway):
    statuses = [strict_gateway.get("/admin/login/").status_code for _ in range(3)]
    assert 429 in statuses
    assert strict_gateway.get("/admin/login/").json() == {
        "detail": "Too many requests. Try again later."
    }


def test_request_id_given_by_the_client_is_echoed(gateway):
    response = gateway.get("/score/health", headers={"X-Request-ID": "e2e-given-id-42"})
    assert response.headers["X-Request-ID"] == "e2e-given-id-42"


def test_request_id_is_generated_when_the_client_sends_none(gateway):
    first = gateway.get("/api/health/").headers["X-Request-ID"]
    second = gateway.get("/api/health/").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_request_id_that_could_forge_log_fields_is_replaced(gateway):
    response = gateway.get("/health", headers={"X-Request-ID": 'x" forged=1'})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def gateway_log_line(stack, request_id: str) -> str:
    """Return the gateway's access-log line (a JSON object) of the request sent with
    `request_id`."""
    # nginx writes the line just after the response: wait for it, briefly.
    log = stack.logs / "gateway.log"
    deadline = time.monotonic() + 10
    while True:
        for line in log.read_text(encoding="utf-8").splitlines():
            if f'"request_id":"{request_id}"' in line:
                return line
        assert time.monotonic() < deadline, f"{request_id} not in the gateway's access log"
        time.sleep(0.05)


def test_request_id_is_logged_by_the_gateway(gateway, stack):
    gateway.get("/api/health/", headers={"X-Request-ID": "e2e-logged-id-7"})

    assert gateway_log_line(stack, "e2e-logged-id-7")


@pytest.mark.parametrize(
    "path",
    [
        "/api/password/reset/confirm/?uid=MQ&token=d0ymsk-the-secret-of-a-link",
        "/api/verify-email/?uid=MQ&token=d0ymsk-the-secret-of-a-link",
    ],
)
def test_no_log_of_the_stack_holds_the_token_of_a_mailed_link(gateway, stack, path):
    request_id = f"e2e-link-{secrets.token_hex(4)}"
    gateway.get(path, headers={"X-Request-ID": request_id})

    assert f'"GET {path.partition("?")[0]} HTTP/1.1"' in gateway_log_line(stack, request_id)
    for log in stack.logs.glob("*.log"):
        assert "the-secret-of-a-link" not in log.read_text(encoding="utf-8"), log.name


def test_the_gateway_logs_no_query_string_at_all(gateway, stack):
    request_id = f"e2e-query-{secrets.token_hex(4)}"
    gateway.get("/score?offset=1&access_token=abc", headers={"X-Request-ID": request_id})

    assert '"GET /score HTTP/1.1"' in gateway_log_line(stack, request_id)


def test_security_headers_are_set_once(gateway):
    response = gateway.get("/admin/login/")
    assert response.headers.get_list("X-Frame-Options") == ["DENY"]
    assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]


def test_json_is_gzipped_for_clients_that_accept_it(gateway):
    response = gateway.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/api/docs/", "swagger"),
        ("/api/redoc/", "redoc"),
        ("/score/docs", "swagger"),
        ("/admin/login/", "csrfmiddlewaretoken"),
    ],
)
def test_docs_and_admin_pages_load_through_the_gateway(gateway, path, marker):
    response = gateway.get(path)
    assert response.status_code == 200
    assert marker in response.text.lower()


def test_bare_host_redirects_to_the_api_docs(gateway):
    response = gateway.get("/")

    assert (response.status_code, response.headers["Location"]) == (302, "/api/docs/")


def test_admin_static_files_are_served_through_the_gateway(gateway):
    response = gateway.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


def test_superuser_reaches_the_lifetime_settings_in_the_admin(stack):
    # A client of its own: the admin's session cookie must not follow the other tests.
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        page = browser.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = browser.post(
            "/admin/login/?next=/admin/constance/config/",
            data={
                "username": "admin@example.com",
                "password": PASSWORD,
                "csrfmiddlewaretoken": token,
            },
            headers={"Origin": stack.url, "Referer": f"{stack.url}/admin/login/"},
            follow_redirects=True,
        )
    assert login.status_code == 200
    assert "ACCESS_TOKEN_LIFETIME" in login.text


def test_token_responses_reach_the_client_marked_no_store(gateway, login):
    tokens = login()
    refreshed = gateway.post("/api/refresh/", json={"refresh_token": tokens["refresh_token"]})
    me = gateway.get("/api/me/", headers={"Authorization": f"Bearer {tokens['access_token']}"})

    for response in (refreshed, me):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"


@pytest.mark.parametrize("path", ["/health", "/api/health/", "/score/health", "/score?offset=1"])
def test_head_is_answered_wherever_get_is(gateway, login, path):
    headers = {"Authorization": f"Bearer {login()['access_token']}"}

    response = gateway.head(path, headers=headers)

    assert response.status_code == 200
    assert response.content == b""

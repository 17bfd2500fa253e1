"""The gateway's edges from the outside review: every error a client can trigger is JSON,
paths are routed as they are read, redirects name no host, and the docs' assets."""

import socket

import pytest


def raw_request(stack, data: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send `data` as it is (httpx would refuse to) and return (status line, headers, body)."""
    with socket.create_connection((stack.host, stack.ports.gateway), timeout=10) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in lines)}
    return status, headers, body


def request_line(target: str, version: str = "HTTP/1.1") -> bytes:
    return f"GET {target} {version}\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


@pytest.mark.parametrize(
    ("data", "status", "detail"),
    [
        (request_line("/api/health/?x=" + "a" * 9000), 414, "Request line or headers too large."),
        (request_line("/api/me/%00"), 400, "Bad request."),
        (request_line("/../etc/passwd"), 400, "Bad request."),
        (b"BLAH\r\n\r\n", 400, "Bad request."),
        (request_line("/health", "HTTP/2.5"), 505, "HTTP version not supported."),
        (
            b"POST /api/login/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            "Not implemented (an unknown Transfer-Encoding).",
        ),
        (request_line("/static/../api/me/"), 400, "Bad request."),
        (request_line("/static/%2E%2e/api/me/"), 400, "Bad request."),
        (request_line("/score/./health"), 400, "Bad request."),
    ],
    ids=[
        "line-over-8k",
        "nul",
        "above-root",
        "garbage",
        "http-version",
        "transfer-encoding",
        "dot-segments",
        "encoded-dot-segments",
        "single-dot",
    ],
)
def test_errors_a_client_can_trigger_at_the_gateway_are_json(stack, data, status, detail):
    status_line, headers, body = raw_request(stack, data)

    assert status_line.split(" ")[1] == str(status)
    assert headers["content-type"] == "application/json"
    assert body == f'{{"detail":"{detail}"}}'.encode()


def test_a_7_kb_query_reaches_the_auth_service(gateway):
    assert gateway.get("/api/health/", params={"x": "a" * 7000}).status_code == 200


def test_a_dot_in_a_file_name_is_not_a_dot_segment(gateway):
    assert gateway.get("/.well-known/jwks.json").status_code == 200


@pytest.mark.parametrize(
    ("path", "location"), [("/score/docs/", "/score/docs"), ("/admin", "/admin/")]
)
def test_redirects_never_name_the_host_the_client_sent(gateway, path, location):
    response = gateway.get(path, headers={"Host": "evil.com"})

    assert response.is_redirect
    assert response.headers["Location"] == location


def test_a_forwarded_host_from_the_client_is_replaced_by_the_gateway(gateway):
    response = gateway.get("/api/health/", headers={"X-Forwarded-Host": "evil.com"})

    assert response.status_code == 200


def test_a_405_from_the_gateway_names_the_allowed_methods(gateway):
    response = gateway.request("TRACE", "/api/health/")

    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_favicon_is_an_empty_204(gateway):
    response = gateway.get("/favicon.ico")

    assert (response.status_code, response.content) == (204, b"")


def test_swagger_ui_bundle_is_gzipped(gateway):
    path = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"

    response = gateway.get(path, headers={"Accept-Encoding": "gzip"})

    assert response.headers["Content-Encoding"] == "gzip"


def test_score_docs_assets_are_cacheable(gateway):
    response = gateway.get("/score/static/swagger-ui.css")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "max-age=86400"


def test_redoc_page_lets_the_browser_load_images_from_this_host_only(gateway):
    page = gateway.get("/api/redoc/").text

    assert "img-src 'self' data:" in page

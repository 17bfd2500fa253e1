"""OpenTelemetry traces (docs/observability.md): with OTEL_EXPORTER_OTLP_ENDPOINT set, both
services export spans over OTLP/HTTP that join the trace of the caller's W3C traceparent,
passed on by the gateway."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conftest import PASSWORD, bearer, eventually, stack_running


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that keeps each export's path and raw protobuf body."""

    protocol_version = "HTTP/1.1"
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n")
        self.wfile.write(b"Content-Length: 0\r\n\r\n")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def collector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def traced_gateway(stack, collector, tmp_path_factory) -> Iterator[httpx.Client]:
    """A stack like the main one, on its database, exporting to `collector` within 0.2 s."""
    settings = {
        **stack.settings,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    logs = tmp_path_factory.mktemp("traced-stack") / "logs"
    with (
        stack_running("traced stack", settings, venv=stack.venv, nginx=stack.nginx, logs=logs) as s,
        httpx.Client(base_url=s.url, timeout=10) as client,
    ):
        yield client


def exported(trace_id: str, span_id: str, marker: bytes) -> bool:
    """Whether a span export holds `marker` beside the trace id and the parent span id."""
    ids = bytes.fromhex(trace_id), bytes.fromhex(span_id)
    return any(
        path == "/v1/traces" and all(part in body for part in (*ids, marker))
        for path, body in _Collector.received
    )


def test_both_services_export_spans_in_the_callers_trace(traced_gateway, register):
    email = register()
    pair = traced_gateway.post("/api/login/", json={"email": email, "password": PASSWORD})
    assert pair.status_code == 200, pair.text
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = {"traceparent": f"00-{trace_id}-{span_id}-01"}
    access = bearer(pair.json()["access_token"])

    assert traced_gateway.get("/api/me/", headers=access | traceparent).status_code == 200
    assert traced_gateway.get("/score?offset=5", headers=access | traceparent).status_code == 200

    eventually(
        lambda: exported(trace_id, span_id, b"api/me/") and exported(trace_id, span_id, b"/score"),
        "spans of both services in the caller's trace",
        timeout=20,
    )

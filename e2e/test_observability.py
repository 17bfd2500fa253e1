"""Metrics, request logs and their request id, through the real stack (docs/observability.md)."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from conftest import PASSWORD, bearer, claims, eventually
from devstack import AUTH_DIR

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

# Each auth worker's own count of one route's requests, read from its multiprocess file.
PER_WORKER = """
import json, sys
from pathlib import Path
from prometheus_client.multiprocess import MultiProcessCollector
counts = {}
for path in Path(sys.argv[1]).glob("counter_*.db"):
    pid = path.stem.rpartition("_")[2]
    for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
        for s in metric.samples:
            if s.name == "http_requests_total" and s.labels["route"] == sys.argv[2]:
                counts[pid] = counts.get(pid, 0) + s.value
print(json.dumps(counts))
"""


def metrics_read(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text


def sample(text: str, name: str, **labels: str) -> float:
    """Return the sum of the samples of `name` whose labels include `labels` (0 if none)."""
    total = 0.0
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and match["name"] == name:
            have = dict(LABEL.findall(match["labels"] or ""))
            if all(have.get(key) == value for key, value in labels.items()):
                total += float(match["value"])
    return total


def test_metrics_are_not_reachable_through_the_gateway(gateway):
    response = gateway.get("/metrics")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def grown_to(port: int, name: str, before: float, expected: float, **labels: str) -> str:
    """Return the metrics text once `name`'s samples with `labels` have grown from `before`
    by `expected`: the services add a request's metrics within a second
    (request_records.py)."""
    eventually(
        lambda: sample(metrics_read(port), name, **labels) - before >= expected,
        f"{name} {labels} grown by {expected}",
        timeout=10,
    )
    return metrics_read(port)


def test_score_requests_are_counted_by_route_template_never_by_query(gateway, login, stack):
    access = login()["access_token"]
    labels = {"route": "/score", "method": "GET", "status": "200"}
    port = stack.ports.score_metrics
    before = sample(metrics_read(port), "http_requests_total", **labels)
    for offset in (17, 18):
        assert gateway.get(f"/score?offset={offset}", headers=bearer(access)).status_code == 200
    after = grown_to(port, "http_requests_total", before, 2, **labels)

    assert sample(after, "http_requests_total", **labels) - before == 2
    assert "offset=" not in after


def auth_workers(stack) -> set[str]:
    master = stack.services["auth"].process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text(encoding="utf-8")
    return set(children.split())


def per_worker(stack, route: str) -> dict[str, float]:
    output = subprocess.run(
        [stack.python(AUTH_DIR), "-c", PER_WORKER, str(stack.metrics_dir("auth")), route],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def test_requests_spread_over_every_auth_worker_add_up(gateway, stack):
    route = "/api/health/"
    workers = auth_workers(stack)
    assert len(workers) >= 2, "gunicorn runs more than one worker"
    total_before = sample(
        metrics_read(stack.ports.auth_metrics), "http_requests_total", route=route
    )
    each_before = per_worker(stack, route)
    sent = 0
    served: dict[str, float] = {}

    def served_now() -> dict[str, float]:
        counts = per_worker(stack, route)
        return {pid: count - each_before.get(pid, 0) for pid, count in counts.items()}

    with ThreadPoolExecutor(16) as pool:
        # Batches of concurrent requests until every worker has served some of them.
        for _ in range(30):
            statuses = list(
                pool.map(lambda _: httpx.get(f"{stack.url}{route}").status_code, range(16))
            )
            assert statuses == [200] * 16
            sent += 16
            # Each worker adds its metrics within a second (request_records.py).
            eventually(
                lambda sent=sent: sum(served_now().values()) >= sent,
                f"{sent} requests counted by their workers",
                timeout=10,
            )
            served = served_now()
            if all(served.get(pid, 0) > 0 for pid in workers):
                break
    assert all(served.get(pid, 0) > 0 for pid in workers), served

    after = grown_to(
        stack.ports.auth_metrics, "http_requests_total", total_before, sent, route=route
    )
    assert sample(after, "http_requests_total", route=route) - total_before == sent


def logged(stack, name: str, request_id: str, logger: str | None = None) -> dict:
    """Return the JSON line of `name`.log for `request_id` (of `logger`, if given), waiting
    up to 10 s for it to be written."""
    deadline = time.monotonic() + 10
    while True:
        for line in (stack.logs / f"{name}.log").read_text(encoding="utf-8").splitlines():
            if request_id in line and line.startswith("{"):
                record = json.loads(line)
                same_logger = logger in (None, record.get("logger"))
                if record.get("request_id") == request_id and same_logger:
                    return record
        assert time.monotonic() < deadline, f"{request_id} not in {name}.log"
        time.sleep(0.05)


def service_log_line(stack, service: str, request_id: str) -> dict:
    """Return the request line the service wrote for `request_id`."""
    return logged(stack, service, request_id, logger="request")


def gateway_record(stack, request_id: str) -> dict:
    return logged(stack, "gateway", request_id)


def test_one_request_id_is_in_the_gateways_line_and_the_auth_services(gateway, login, stack):
    access = login()["access_token"]
    request_id = f"e2e-follow-{secrets.token_hex(4)}"
    gateway.get("/api/me/", headers={**bearer(access), "X-Request-ID": request_id})

    front = gateway_record(stack, request_id)
    back = service_log_line(stack, "auth", request_id)
    assert (front["request"], front["status"]) == ("GET /api/me/ HTTP/1.1", 200)
    assert front["upstream_response_time"] not in ("", "-")
    assert (back["method"], back["route"], back["status"]) == ("GET", "/api/me/", 200)
    assert str(back["user_id"]) == claims(access)["sub"]


def test_one_request_id_is_in_the_gateways_line_and_the_score_services(gateway, login, stack):
    access = login()["access_token"]
    request_id = f"e2e-follow-{secrets.token_hex(4)}"
    gateway.get("/score?offset=5", headers={**bearer(access), "X-Request-ID": request_id})

    assert gateway_record(stack, request_id)["status"] == 200
    back = service_log_line(stack, "score", request_id)
    assert (back["method"], back["route"], back["status"]) == ("GET", "/score", 200)
    assert str(back["user_id"]) == claims(access)["sub"]


def test_a_malformed_client_request_id_is_replaced_in_both_lines(gateway, stack):
    response = gateway.get("/api/health/", headers={"X-Request-ID": "has spaces"})
    request_id = response.headers["X-Request-ID"]

    assert request_id != "has spaces"
    assert service_log_line(stack, "auth", request_id)["route"] == "/api/health/"
    assert gateway_record(stack, request_id)["request_id"] == request_id


def test_no_log_line_holds_a_password_or_token_of_the_flows(gateway, register, stack):
    email = register()
    pair = gateway.post("/api/login/", json={"email": email, "password": PASSWORD}).json()
    wrong = f"Wrong-{secrets.token_hex(8)}"
    gateway.post("/api/login/", json={"email": email, "password": wrong})
    rotated = gateway.post("/api/refresh/", json={"refresh_token": pair["refresh_token"]}).json()
    gateway.post("/api/refresh/", json={"refresh_token": pair["refresh_token"]})  # a replay
    gateway.get("/score?offset=3", headers=bearer(rotated["access_token"]))
    gateway.get("/api/me/", headers=bearer(rotated["access_token"]))
    last = f"e2e-secrets-{secrets.token_hex(4)}"
    gateway.post(
        "/api/logout/",
        json={"refresh_token": rotated["refresh_token"]},
        headers={"X-Request-ID": last},
    )
    # The last request's lines are written: every line of the flows before them is too.
    gateway_record(stack, last)
    service_log_line(stack, "auth", last)

    secrets_used = [
        PASSWORD,
        wrong,
        pair["access_token"],
        pair["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
    ]
    for log in stack.logs.glob("*.log"):
        text = log.read_text(encoding="utf-8")
        for secret in secrets_used:
            assert secret not in text, f"{log.name} holds a secret of the flows"


def test_the_gateways_status_is_served_on_its_internal_listener_only(gateway, stack):
    status = httpx.get(f"http://127.0.0.1:{stack.ports.gateway_status}/stub_status", timeout=10)

    assert status.status_code == 200
    assert status.text.startswith("Active connections:")
    assert gateway.get("/stub_status").status_code == 404


def test_process_metrics_cover_the_master_and_every_auth_worker(stack):
    text = metrics_read(stack.ports.auth_metrics)
    pids = {
        dict(LABEL.findall(match["labels"]))["pid"]
        for line in text.splitlines()
        if (match := SAMPLE.match(line)) and match["name"] == "process_resident_memory_bytes"
    }

    assert pids == auth_workers(stack) | {str(stack.services["auth"].process.pid)}

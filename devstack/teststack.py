"""Throwaway stacks for the e2e suite and `make bench-http`: free ports, fresh secrets, the
throttles out of the way, and a database of their own."""

import os
import socket
import subprocess
import urllib.parse
import uuid
from pathlib import Path

from devstack import ENV_EXAMPLE
from devstack.envfile import env_text_read, env_text_with_secrets
from devstack.supervisor import Ports

RAISED_RATES = {
    "THROTTLE_RATE_LOGIN_IP": "1000/min",
    "THROTTLE_RATE_LOGIN_ACCOUNT_IP": "1000/min",
    "THROTTLE_RATE_LOGIN_ACCOUNT": "1000/min",
    "THROTTLE_RATE_REGISTER": "1000/min",
    "THROTTLE_RATE_REFRESH": "1000/min",
    "GATEWAY_RATE_LIMIT": "1000r/s",
    "GATEWAY_RATE_BURST": "1000",
}
# The auth service's rates for a bench that saturates it (logins, refreshes): out of its way.
UNTHROTTLED_RATES = {
    f"THROTTLE_RATE_{name}": "1000000/min"
    for name in ("LOGIN_IP", "LOGIN_ACCOUNT_IP", "LOGIN_ACCOUNT", "REGISTER", "REFRESH")
}


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports() -> Ports:
    """Return free ports for the gateway, auth and score, and the services' metrics."""
    return Ports(
        gateway=free_port(),
        auth=free_port(),
        score=free_port(),
        auth_metrics=free_port(),
        score_metrics=free_port(),
        gateway_status=free_port(),
    )


def settings_throwaway(work: Path, *, python: str, redis_db: int) -> dict[str, str]:
    """Return the settings of a throwaway stack: .env.example with fresh secrets and key pair,
    DEBUG off, the rates of RAISED_RATES, the generated game; and a database of its own.

    The database: a fresh one on DATABASE_URL's PostgreSQL server when DATABASE_URL is set
    (drop it with postgres_database_drop), else a SQLite file in work. Redis: database
    redis_db of REDIS_URL's server, flushed, when REDIS_URL is set; else none. python is an
    interpreter that has psycopg and redis (the auth service's).
    """
    settings = env_text_read(env_text_with_secrets(ENV_EXAMPLE.read_text(encoding="utf-8")))
    settings.update(RAISED_RATES, DEBUG="0", ALLOWED_HOSTS="localhost,127.0.0.1")
    settings.update(GAME_FILE="", GAME_SEED="2024")
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        settings["DATABASE_URL"] = postgres_database_create(python, database_url)
    else:
        settings["DATABASE_URL"] = f"sqlite:///{work / 'auth.sqlite3'}"
    settings["REDIS_URL"] = ""
    if os.environ.get("REDIS_URL"):
        url = urllib.parse.urlparse(os.environ["REDIS_URL"])._replace(path=f"/{redis_db}")
        settings["REDIS_URL"] = url.geturl()
        script = "import sys, redis; redis.Redis.from_url(sys.argv[1]).flushdb()"
        subprocess.run([python, "-c", script, settings["REDIS_URL"]], check=True)  # noqa: S603
    return settings


def postgres_database_create(python: str, url: str) -> str:
    """Create a fresh database on url's server; return the URL of the new database."""
    name = f"throwaway_{uuid.uuid4().hex[:12]}"
    _postgres_run(python, url, f'CREATE DATABASE "{name}"')
    return urllib.parse.urlparse(url)._replace(path=f"/{name}").geturl()


def postgres_database_drop(python: str, url: str) -> None:
    """Drop the database of url (a URL postgres_database_create returned), if it exists."""
    name = urllib.parse.urlparse(url).path.lstrip("/")
    server_url = urllib.parse.urlparse(url)._replace(path="/postgres").geturl()
    _postgres_run(python, server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_run(python: str, url: str, statement: str) -> None:
    # The auth service's own driver (psycopg), from its virtualenv: the tools venv has none.
    script = (
        "import sys, psycopg; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])"
    )
    subprocess.run([python, "-c", script, url, statement], check=True)  # noqa: S603

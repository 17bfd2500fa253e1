"""The stack's three programs as child processes: gunicorn (auth), uvicorn (score) and nginx
(the gateway), started in order, watched, and stopped gateway first."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from devstack import AUTH_DIR, ENV_EXAMPLE, SCORE_DIR
from devstack.envfile import env_file_read
from devstack.gateway import nginx_prefix_write

# What the score service must never receive: it verifies with JWT_PUBLIC_KEYS alone (and
# JWT_SECRET only when JWT_ALGORITHM is an HMAC one); the rest are the auth service's secrets.
SCORE_WITHHELD = (
    "JWT_PRIVATE_KEY",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "POSTGRES_PASSWORD",
    "DJANGO_SUPERUSER_PASSWORD",
)
READY_TIMEOUT = 90.0
PR_SET_PDEATHSIG = 1

# The score service's uvicorn options beyond its address: X-Forwarded-* from the gateway,
# believed from FORWARDED_ALLOW_IPS only (make bench-http gives its uvicorn peers the same).
UVICORN_OPTIONS = ("--proxy-headers",)


@dataclass(frozen=True)
class Ports:
    gateway: int = 8000
    auth: int = 8001
    score: int = 8002
    # Each service's Prometheus metrics, bound to 127.0.0.1 like the services, never routed.
    auth_metrics: int = 9001
    score_metrics: int = 9002
    # The gateway's internal stub_status listener (gateway/default.conf.template).
    gateway_status: int = 9003


@dataclass
class Service:
    name: str
    command: list[str]
    cwd: Path
    health_url: str
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None


def _stop_with_parent() -> None:
    """Runs in each child before exec: on Linux, ask the kernel for SIGTERM when the launcher
    dies, so that a killed `make run` or test session leaves no orphan servers behind."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class StackError(RuntimeError):
    """A program of the stack failed to start or to become healthy."""


@dataclass
class Stack:
    """gunicorn, uvicorn and nginx as child processes, each in its own process group.

    settings: the environment given to every program (secrets, DATABASE_URL, ...).
    venv: the virtualenv folder name inside each service folder (.venv, .venv-3.12).
    logs: a folder for one log file per program; None lets them write to this terminal.
    """

    settings: Mapping[str, str]
    venv: str = ".venv"
    ports: Ports = field(default_factory=Ports)
    logs: Path | None = None
    host: str = "127.0.0.1"
    services: dict[str, Service] = field(default_factory=dict, init=False)
    prefix: Path | None = field(default=None, init=False)
    nginx: str = field(default="nginx", init=False)

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return f"http://{self.host}:{self.ports.gateway}"

    def python(self, service_dir: Path) -> str:
        """Return the interpreter of service_dir's virtualenv; raise StackError if absent."""
        python = service_dir / self.venv / "bin" / "python"
        if not python.exists():
            raise StackError(f"{python} is missing: build it with `make install VENV={self.venv}`")
        return str(python)

    def environment(self, service: str | None = None) -> dict[str, str]:
        """Return the environment of a program: ours, then the stack's settings; for the
        score service, without SCORE_WITHHELD (and JWT_SECRET unless it is needed)."""
        env = {**os.environ, **self.settings}
        if service == "score":
            withheld = set(SCORE_WITHHELD)
            if not (env.get("JWT_ALGORITHM") or "EdDSA").startswith("HS"):
                withheld.add("JWT_SECRET")
            env = {name: value for name, value in env.items() if name not in withheld}
        env.update(
            GUNICORN_BIND=f"{self.host}:{self.ports.auth}",
            AUTH_UPSTREAM=f"{self.host}:{self.ports.auth}",
            SCORE_UPSTREAM=f"{self.host}:{self.ports.score}",
            GATEWAY_LISTEN=f"{self.host}:{self.ports.gateway}",
            GATEWAY_STATUS_LISTEN=f"{self.host}:{self.ports.gateway_status}",
            PYTHONUNBUFFERED="1",
        )
        if service in ("auth", "score"):
            port = self.ports.auth_metrics if service == "auth" else self.ports.score_metrics
            env["METRICS_BIND"] = f"{self.host}:{port}"
            if self.prefix is not None:
                env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir(service))
        # .env.example's values, for a .env written before these two existed (or left empty).
        example = env_file_read(ENV_EXAMPLE)
        for name in ("GATEWAY_RATE_LIMIT", "GATEWAY_RATE_BURST"):
            env[name] = env.get(name) or example[name]
        # Fixed local addresses: nothing to re-resolve (and Debian's nginx 1.22 cannot).
        env["GATEWAY_UPSTREAM_RESOLVE"] = ""
        return env

    def metrics_dir(self, service: str) -> Path:
        """Return the folder of a service's metrics files (prometheus-client's multiprocess
        mode): one file per worker process and kind of metric."""
        if self.prefix is None:
            raise StackError("the stack is not defined yet")
        return self.prefix / f"{service}-metrics"

    def manage(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the auth service's `manage.py args` with the stack's settings; raise
        CalledProcessError when it fails."""
        return subprocess.run(  # noqa: S603  (our own venv's python, our arguments)
            [self.python(AUTH_DIR), "manage.py", *args],
            cwd=AUTH_DIR,
            env=self.environment(),
            check=True,
            text=True,
            capture_output=capture,
        )

    def prepare(self) -> None:
        """Migrate, create the superuser when configured, collect the static files."""
        self.manage("migrate", "--noinput", *([] if self.logs is None else ["-v", "0"]))
        self.manage("ensure_superuser")
        self.manage("collectstatic", "--noinput", "-v", "0")

    def define(self, nginx: str) -> None:
        """Describe the three programs (and render nginx's configuration)."""
        env = self.environment()
        self.nginx = nginx
        self.prefix = Path(tempfile.mkdtemp(prefix="gateway-"))
        # nginx's workers drop root for `nobody`, who must reach the temp folders inside.
        self.prefix.chmod(0o755)
        conf = nginx_prefix_write(self.prefix, nginx=nginx, values=env)
        base = f"http://{self.host}"
        self.services = {
            "auth": Service(
                "auth",
                [self.python(AUTH_DIR), "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
                AUTH_DIR,
                f"{base}:{self.ports.auth}/api/health/",
            ),
            "score": Service(
                "score",
                [
                    self.python(SCORE_DIR),
                    "-m",
                    "app.serve",  # uvicorn's command line, with the metrics server
                    "app.main:app",
                    "--host",
                    self.host,
                    "--port",
                    str(self.ports.score),
                    *UVICORN_OPTIONS,
                ],
                SCORE_DIR,
                f"{base}:{self.ports.score}/score/health",
            ),
            "gateway": Service(
                "gateway",
                [nginx, "-p", str(self.prefix), "-c", str(conf), "-e", "stderr"],
                self.prefix,
                f"{base}:{self.ports.gateway}/health",
            ),
        }

    def start(self, nginx: str) -> None:
        """Prepare the auth service's database, then start every program and wait until each
        answers its health URL. Raise StackError (after stopping what started) otherwise."""
        self.define(nginx)
        try:
            self.prepare()
            for name in self.services:
                self.service_start(name)
            for name in self.services:
                self.service_wait(name)
        except BaseException:
            self.stop()
            raise

    def service_start(self, name: str) -> None:
        """Start one program (auth, score, gateway) and return at once."""
        service = self.services[name]
        if self.logs is not None:
            self.logs.mkdir(parents=True, exist_ok=True)
            service.log = (self.logs / f"{name}.log").open("ab")
        service.process = subprocess.Popen(  # noqa: S603  (fixed commands, see define)
            service.command,
            cwd=service.cwd,
            env=self.environment(name),
            stdout=service.log,
            stderr=subprocess.STDOUT if service.log else None,
            start_new_session=True,  # its own group: we decide the stopping order
            preexec_fn=_stop_with_parent,  # single-threaded callers: safe before exec
        )

    def service_wait(self, name: str, timeout: float = READY_TIMEOUT) -> None:
        """Return once the program answers 200 on its health URL; raise StackError if it
        exits or does not answer within timeout seconds."""
        service = self.services[name]
        deadline = time.monotonic() + timeout
        while True:
            if service.process is None or service.process.poll() is not None:
                raise StackError(f"{name} exited during start{self.log_hint(name)}")
            try:
                with urllib.request.urlopen(service.health_url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{name} not healthy after {timeout:.0f}s{self.log_hint(name)}")
            time.sleep(0.2)

    def log_hint(self, name: str) -> str:
        if self.logs is None:
            return " (see its output above)"
        return f"; log: {self.logs / (name + '.log')}"

    def service_stop(self, name: str, timeout: float = 15.0) -> None:
        """Stop one program: SIGTERM to it (gunicorn, uvicorn and nginx stop their own workers
        gracefully), then SIGKILL to its whole group after timeout seconds."""
        service = self.services.get(name)
        if service is None or service.process is None:
            return
        process = service.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        service.process = None
        if service.log is not None:
            service.log.close()
            service.log = None

    def stop(self) -> None:
        """Stop every program, the gateway first, and remove nginx's folder."""
        for name in reversed(list(self.services)):
            self.service_stop(name)
        if self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def exited(self) -> list[str]:
        """Return the names of programs that have stopped on their own."""
        return [
            f"{s.name} (exit code {s.process.returncode})"
            for s in self.services.values()
            if s.process is not None and s.process.poll() is not None
        ]

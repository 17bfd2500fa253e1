#!/usr/bin/env python3
"""The whole stack as local processes, without Docker: `make env`, `make run`, and e2e/.

Subcommands (standard library only, so it runs before any virtualenv exists):
  env                  write .env from .env.example with fresh secrets and a fresh Ed25519
                       key pair; never overwrite it
  env-keys             switch an existing .env to EdDSA: add a fresh key pair (once)
  rotate-jwt-key publish|activate|retire
                       one step of an access-token key rotation, editing .env (docs/tokens.md)
  check                create .env when missing, and stop with a hint when nginx is missing
  run [--venv NAME]    gunicorn (auth), uvicorn (score) and nginx with gateway/'s template,
                       in the foreground; Ctrl-C stops all three
  manage [--venv NAME] ARGS...
                       `python manage.py ARGS...` of the auth service, with the same settings
                       as `run` (e.g. `manage createsuperuser`, `manage constance list`)

Settings: .env, then the process environment on top (variables already set win). The e2e
suite imports this module and starts the same `Stack` on free ports with its own settings.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import hashlib
import json
import os
import re
import secrets
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

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
ENV_FILE = ROOT / ".env"
GATEWAY_TEMPLATE = ROOT / "gateway" / "default.conf.template"
AUTH_DIR = ROOT / "auth-service"
SCORE_DIR = ROOT / "score-service"

# The only names substituted in the template, as NGINX_ENVSUBST_FILTER does under compose:
# nginx's own variables ($host, $request_id, ...) must survive rendering.
TEMPLATE_VARIABLES = (
    "AUTH_UPSTREAM",
    "SCORE_UPSTREAM",
    "GATEWAY_LISTEN",
    "GATEWAY_RATE_LIMIT",
    "GATEWAY_RATE_BURST",
    "GATEWAY_UPSTREAM_RESOLVE",
)
PLACEHOLDER_PREFIX = "change-me"
# What the score service must never receive: it verifies with JWT_PUBLIC_KEYS alone (and
# JWT_SECRET only when JWT_ALGORITHM is an HMAC one); the rest are the auth service's secrets.
SCORE_WITHHELD = (
    "JWT_PRIVATE_KEY",
    "JWT_NEXT_PRIVATE_KEY",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "POSTGRES_PASSWORD",
    "DJANGO_SUPERUSER_PASSWORD",
)
NGINX_INSTALL_HINT = (
    "nginx is not installed; `make run` needs it for the gateway.\n"
    "  Debian/Ubuntu: sudo apt-get install nginx-light   (or: nginx)\n"
    "  macOS:         brew install nginx\n"
    "Or run everything in containers: make env && docker compose up --build"
)
READY_TIMEOUT = 90.0
PR_SET_PDEATHSIG = 1


# --- access-token keys ------------------------------------------------------------------------
# Ed25519 (RFC 8032) public-key derivation in plain Python, so that `make env` needs no
# package: the reference algorithm of RFC 8032 section 5.1.5, on extended coordinates.
_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point_add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    p_a = (y1 - x1) * (y2 - x2) % _P
    p_b = (y1 + x1) * (y2 + x2) % _P
    p_c = 2 * t1 * t2 * _D % _P
    p_d = 2 * z1 * z2 % _P
    e, f, g, h = p_b - p_a, p_d - p_c, p_d + p_c, p_b + p_a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _base_point() -> tuple[int, ...]:
    y = 4 * pow(5, -1, _P) % _P
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if x & 1:
        x = _P - x
    return (x, y, 1, x * y % _P)


def ed25519_public_key(seed: bytes) -> bytes:
    """Return the 32-byte Ed25519 public key of a 32-byte private key (RFC 8032 5.1.5)."""
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar = (scalar & ((1 << 254) - 8)) | (1 << 254)
    point, result = _base_point(), (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        scalar >>= 1
    x, y, z, _ = result
    z_inv = pow(z, -1, _P)
    x, y = x * z_inv % _P, y * z_inv % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def jwt_key_pair() -> tuple[dict[str, str], dict[str, str]]:
    """Return a fresh Ed25519 key pair as (private JWK, public JWK), RFC 8037. The kid is the
    public key's RFC 7638 thumbprint: unique, and checkable by anyone."""
    seed = secrets.token_bytes(32)
    public = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(ed25519_public_key(seed))}
    kid = _b64url(hashlib.sha256(_json(public).encode()).digest())
    return {**public, "d": _b64url(seed), "kid": kid}, {**public, "kid": kid}


def env_quote(value: str) -> str:
    """Return value single-quoted for .env: compose takes it literally, and a shell that
    sources .env keeps the JSON's double quotes."""
    return f"'{value}'"


# --- .env --------------------------------------------------------------------------------------


def env_text_with_secrets(example_text: str) -> str:
    """Return example_text with every `change-me...` value replaced by a fresh random secret,
    and JWT_PRIVATE_KEY / JWT_PUBLIC_KEYS by a fresh Ed25519 key pair.

    token_urlsafe(48) gives 64 characters of [A-Za-z0-9_-]: over the 32 bytes JWT_SECRET
    needs, and safe inside a URL (compose builds DATABASE_URL from POSTGRES_PASSWORD).
    """
    private, public = jwt_key_pair()
    keys = {
        "JWT_PRIVATE_KEY": env_quote(_json(private)),
        "JWT_PUBLIC_KEYS": env_quote(_json({"keys": [public]})),
    }
    lines = []
    for line in example_text.splitlines(keepends=True):
        name, sep, value = line.partition("=")
        if (
            sep
            and not line.lstrip().startswith("#")
            and value.strip().startswith(PLACEHOLDER_PREFIX)
        ):
            line = f"{name}={keys.get(name.strip()) or secrets.token_urlsafe(48)}\n"
        lines.append(line)
    return "".join(lines)


def env_file_create(*, example: Path = ENV_EXAMPLE, target: Path = ENV_FILE) -> bool:
    """Write target from example with fresh secrets. Return False (and write nothing) if it
    already exists."""
    text = env_text_with_secrets(example.read_text(encoding="utf-8"))
    try:
        # "x": never overwrite, even if a file appears between a check and the write.
        with target.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        return False
    target.chmod(0o600)
    return True


def env_file_read(path: Path) -> dict[str, str]:
    """Return the NAME=value pairs of a .env file (comments and blank lines skipped; one
    level of matching quotes around a value removed, as docker compose does)."""
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def env_ensure() -> None:
    """Create .env when missing, and say so."""
    if env_file_create():
        print(f"stack: created {ENV_FILE.name} from {ENV_EXAMPLE.name} with fresh secrets")


def settings_local(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the settings of a local run: .env, with the process environment on top."""
    return {**env_file_read(ENV_FILE), **environ}


def env_file_update(path: Path, updates: Mapping[str, str | None]) -> None:
    """Set each NAME of updates in the .env file at path (None removes it), in place: other
    lines, comments and the file's mode stay; a NAME not there yet is appended."""
    lines, done = [], set()
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        name = line.partition("=")[0].removeprefix("export ").strip()
        if "=" in line and not line.lstrip().startswith("#") and name in updates:
            done.add(name)
            if updates[name] is None:
                continue
            line = f"{name}={updates[name]}\n"
        lines.append(line)
    lines += [f"{n}={v}\n" for n, v in updates.items() if n not in done and v is not None]
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(lines), encoding="utf-8")
    temporary.chmod(path.stat().st_mode & 0o777)
    temporary.replace(path)


class RotationError(ValueError):
    """A rotation step that cannot run from the current keys; the message says why."""


def _public_keys(values: Mapping[str, str]) -> list[dict]:
    try:
        return json.loads(values.get("JWT_PUBLIC_KEYS") or "")["keys"]
    except (ValueError, KeyError, TypeError):
        raise RotationError("JWT_PUBLIC_KEYS is not a JWKS: nothing to rotate") from None


def _kid(private_jwk: str) -> str:
    try:
        return json.loads(private_jwk)["kid"]
    except (ValueError, KeyError, TypeError):
        raise RotationError("the private key is not a JWK with a kid") from None


def jwt_key_rotation(step: str, values: Mapping[str, str]) -> tuple[dict[str, str | None], str]:
    """Return the .env updates of one rotation step, and what to do next.

    publish: a new key pair; its public half joins JWT_PUBLIC_KEYS (every verifier learns
    it), its private half waits in JWT_NEXT_PRIVATE_KEY. activate: that key signs from now on.
    retire: JWT_PUBLIC_KEYS keeps only the active (and a published next) key.
    """
    if (values.get("JWT_ALGORITHM") or "EdDSA") != "EdDSA":
        raise RotationError("JWT_ALGORITHM is not EdDSA: only Ed25519 keys rotate this way")
    keys = _public_keys(values)
    following = values.get("JWT_NEXT_PRIVATE_KEY") or ""
    restart = "restart the score and auth services (compose: docker compose up -d)"
    if step == "publish":
        if following:
            raise RotationError(f"key {_kid(following)} is published already: activate it first")
        private, public = jwt_key_pair()
        updates = {
            "JWT_PUBLIC_KEYS": env_quote(_json({"keys": [*keys, public]})),
            "JWT_NEXT_PRIVATE_KEY": env_quote(_json(private)),
        }
        return updates, (
            f"Published key {private['kid']}. Now {restart}; once every verifier has it "
            "(JWKS caches: 5 minutes), run: make rotate-jwt-key STEP=activate"
        )
    if step == "activate":
        if not following:
            raise RotationError("no key is published: run STEP=publish first")
        return {"JWT_PRIVATE_KEY": following, "JWT_NEXT_PRIVATE_KEY": None}, (
            f"Key {_kid(following)} signs now. Restart the auth service (compose: docker "
            "compose up -d); after the longest access-token lifetime (ACCESS_TOKEN_LIFETIME + "
            "JWT_LEEWAY), run: make rotate-jwt-key STEP=retire"
        )
    if step == "retire":
        kept = {_kid(values.get("JWT_PRIVATE_KEY") or "")} | (
            {_kid(following)} if following else set()
        )
        retired = [key.get("kid") for key in keys if key.get("kid") not in kept]
        if not retired:
            raise RotationError("no key to retire: JWT_PUBLIC_KEYS holds the active key only")
        remaining = [key for key in keys if key.get("kid") in kept]
        return {"JWT_PUBLIC_KEYS": env_quote(_json({"keys": remaining}))}, (
            f"Retired {', '.join(map(str, retired))}: tokens they signed are refused once you "
            f"{restart}."
        )
    raise RotationError(f"unknown step {step!r}: publish, activate or retire")


# --- nginx -------------------------------------------------------------------------------------


def nginx_find() -> str | None:
    """Return the nginx binary's path, or None. Debian puts it in /usr/sbin, which is not on
    an ordinary user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def template_render(template: str, values: Mapping[str, str]) -> str:
    """Return template with ${NAME} replaced for the TEMPLATE_VARIABLES only.

    Raises KeyError naming a template variable that is not in values.
    """
    missing = [name for name in TEMPLATE_VARIABLES if name not in values]
    if missing:
        raise KeyError(f"gateway template variables without a value: {', '.join(missing)}")
    pattern = re.compile(r"\$\{(" + "|".join(TEMPLATE_VARIABLES) + r")\}")
    return pattern.sub(lambda m: values[m.group(1)], template)


def nginx_prefix_write(prefix: Path, *, nginx: str, values: Mapping[str, str]) -> Path:
    """Write the gateway's configuration under prefix; return the main nginx.conf's path.

    The main file plays the official image's /etc/nginx/nginx.conf: it includes the
    rendered template inside `http {}`, and keeps every path nginx writes under prefix, so
    no root-owned directory is needed.
    """
    (prefix / "default.conf").write_text(
        template_render(GATEWAY_TEMPLATE.read_text(encoding="utf-8"), values), encoding="utf-8"
    )
    built = subprocess.run(  # noqa: S603  (our own nginx binary, fixed arguments)
        [nginx, "-V"], capture_output=True, text=True, check=True
    ).stderr
    temp_paths = [f"client_body_temp_path {prefix}/temp/client_body;"]
    for module in ("proxy", "fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in built:
            temp_paths.append(f"{module}_temp_path {prefix}/temp/{module};")
    (prefix / "temp").mkdir(exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        "# Written by scripts/stack.py: the gateway is default.conf beside this file.\n"
        "daemon off;\n"
        "worker_processes 2;\n"
        f"pid {prefix}/nginx.pid;\n"
        "error_log stderr warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        "    keepalive_timeout 65;\n"
        + "".join(f"    {line}\n" for line in temp_paths)
        + f"    include {prefix}/default.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    return conf


# --- the stack ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    gateway: int = 8000
    auth: int = 8001
    score: int = 8002


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
            PYTHONUNBUFFERED="1",
        )
        # .env.example's values, for a .env written before these two existed (or left empty).
        example = env_file_read(ENV_EXAMPLE)
        for name in ("GATEWAY_RATE_LIMIT", "GATEWAY_RATE_BURST"):
            env[name] = env.get(name) or example[name]
        # Fixed local addresses: nothing to re-resolve (and Debian's nginx 1.22 cannot).
        env["GATEWAY_UPSTREAM_RESOLVE"] = ""
        return env

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
                    "uvicorn",
                    "app.main:app",
                    "--host",
                    self.host,
                    "--port",
                    str(self.ports.score),
                    "--proxy-headers",
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


# --- commands ----------------------------------------------------------------------------------


def command_env() -> int:
    if env_file_create():
        print(f"Wrote {ENV_FILE.name} from {ENV_EXAMPLE.name} with fresh random secrets.")
    else:
        print(f"{ENV_FILE.name} exists; left unchanged (delete it to generate a new one).")
    return 0


def env_keys_updates(values: Mapping[str, str]) -> dict[str, str]:
    """Return the .env updates that switch it to EdDSA with a fresh key pair (and no
    JWT_SECRET); raise RotationError if it holds a private key already."""
    current = values.get("JWT_PRIVATE_KEY") or ""
    if current and not current.startswith(PLACEHOLDER_PREFIX):
        raise RotationError("JWT_PRIVATE_KEY is set already: rotate it with rotate-jwt-key")
    private, public = jwt_key_pair()
    return {
        "JWT_ALGORITHM": "EdDSA",
        "JWT_PRIVATE_KEY": env_quote(_json(private)),
        "JWT_PUBLIC_KEYS": env_quote(_json({"keys": [public]})),
        "JWT_SECRET": "",
    }


def command_env_keys() -> int:
    if not ENV_FILE.exists():
        print(f"{ENV_FILE.name} is missing: `make env` writes one with keys.", file=sys.stderr)
        return 1
    try:
        env_file_update(ENV_FILE, env_keys_updates(env_file_read(ENV_FILE)))
    except RotationError as e:
        print(f"env-keys: {e}", file=sys.stderr)
        return 1
    print(f"{ENV_FILE.name}: JWT_ALGORITHM=EdDSA with a fresh key pair; JWT_SECRET emptied.")
    return 0


def command_rotate_jwt_key(step: str) -> int:
    if not ENV_FILE.exists():
        print(f"{ENV_FILE.name} is missing: `make env` writes one.", file=sys.stderr)
        return 1
    try:
        updates, next_step = jwt_key_rotation(step, env_file_read(ENV_FILE))
    except RotationError as e:
        print(f"rotate-jwt-key {step}: {e}", file=sys.stderr)
        return 1
    env_file_update(ENV_FILE, updates)
    print(f"{ENV_FILE.name} updated. {next_step}")
    return 0


def command_check() -> int:
    env_ensure()
    if nginx_find() is None:
        print(NGINX_INSTALL_HINT, file=sys.stderr)
        return 1
    return 0


def command_manage(venv: str, args: list[str]) -> int:
    env_ensure()
    stack = Stack(settings=settings_local(os.environ), venv=venv)
    try:
        stack.manage(*args)
    except subprocess.CalledProcessError as e:
        return e.returncode
    return 0


def command_run(venv: str) -> int:
    if command_check():
        return 1
    settings = settings_local(os.environ)
    port = int(settings.get("GATEWAY_PORT") or 8000)
    stack = Stack(settings=settings, venv=venv, ports=Ports(gateway=port))

    def stop_on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, kill and a closed terminal all stop the stack the same way (SIGINT explicitly:
    # a shell may have started us with it ignored).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    try:
        stack.start(nginx_find() or "nginx")
        url = f"http://localhost:{port}"
        print(
            f"\nThe stack is up (Ctrl-C stops it):\n"
            f"  API        {url}/api/   (walkthrough: README.md; health: {url}/health)\n"
            f"  API docs   {url}/api/docs/   {url}/api/redoc/   {url}/score/docs\n"
            f"  Admin      {url}/admin/   (token lifetimes: Constance > Config)\n"
            f"  Superuser  set DJANGO_SUPERUSER_EMAIL/PASSWORD in .env and restart, or\n"
            f"             python3 scripts/stack.py manage createsuperuser\n",
            flush=True,
        )
        while not (gone := stack.exited()):
            time.sleep(0.5)
        print(f"stack: {', '.join(gone)} stopped; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstack: stopping", flush=True)
        return 0
    except (StackError, subprocess.CalledProcessError, KeyError) as e:
        print(f"stack: {e}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="write .env from .env.example with fresh secrets and keys")
    sub.add_parser("env-keys", help="switch an existing .env to EdDSA with a fresh key pair")
    rotate = sub.add_parser("rotate-jwt-key", help="one step of an access-token key rotation")
    rotate.add_argument("step", choices=["publish", "activate", "retire"])
    sub.add_parser("check", help="create .env when missing; fail when nginx is missing")
    run = sub.add_parser("run", help="run the stack in the foreground")
    run.add_argument("--venv", default=".venv")
    manage = sub.add_parser("manage", help="the auth service's manage.py with the run settings")
    manage.add_argument("--venv", default=".venv")
    manage.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if options.command == "env":
        return command_env()
    if options.command == "check":
        return command_check()
    if options.command == "env-keys":
        return command_env_keys()
    if options.command == "rotate-jwt-key":
        return command_rotate_jwt_key(options.step)
    if options.command == "manage":
        return command_manage(options.venv, options.args)
    return command_run(options.venv)


if __name__ == "__main__":
    sys.exit(main())

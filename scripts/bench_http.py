#!/usr/bin/env python3
"""`make bench-http`: the hot paths over HTTP, with wrk, as ratios measured in one run.

Starts the stack of `make run` (scripts/stack.py: gunicorn, uvicorn, nginx) on free ports
with its own database, and peers on the same machine, versions and server settings:
- score: a naive FastAPI endpoint, one jwt.decode and a bisect (bench_peers/score_naive.py);
- auth: djangorestframework-simplejwt's JWTAuthentication and a RetrieveAPIView, on the auth
  service's own settings, database and gunicorn.conf.py (bench_peers/simplejwt_*.py);
- the score service itself twice more: without ScoreFastPath (bench_peers/score_route_only.py),
  the shortcut's gain, and under plain uvicorn (h11, asyncio), the server's.
Every target is loaded in turn, in a shuffled order, for ROUNDS rounds; a figure is the
median of its rounds. Each run logs in again, so a token is reused for at most DURATION
seconds, as a polling client would. Standard library only.

Environment: BENCH_ROUNDS (3), BENCH_DURATION (5 s), BENCH_CONNECTIONS (32); DATABASE_URL and
REDIS_URL as for the e2e suite (a fresh PostgreSQL database beside DATABASE_URL; Redis db 3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack as stack_module  # scripts/stack.py, beside this file

ROOT = stack_module.ROOT
PEERS = ROOT / "scripts" / "bench_peers"
REQUIREMENTS = ROOT / "scripts" / "requirements-bench.txt"
PASSWORD = "Correct-horse-battery-staple-9"  # noqa: S105 (the bench user's)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
# uvicorn without httptools and uvloop, which it picks by itself when they are installed.
PLAIN_UVICORN = ("--http", "h11", "--loop", "asyncio")
SHORTCUT_GAIN = 1.3


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    auth: bool  # needs a fresh access token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310  (our own local stack)
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def wait_healthy(url: str, process: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {name} exited during start")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bench: {name} did not answer {url}")


def wrk(url: str, token: str | None) -> float:
    """Return wrk's requests per second for url; stop on any non-2xx answer."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"bench: {url} answered errors under load:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def settings_bench(work: Path, ports: stack_module.Ports, python: str) -> dict[str, str]:
    """The stack's settings: .env.example with fresh secrets, throttles out of the way."""
    example = stack_module.env_text_with_secrets(stack_module.ENV_EXAMPLE.read_text("utf-8"))
    (work / "settings.env").write_text(example, encoding="utf-8")
    settings = stack_module.env_file_read(work / "settings.env")
    settings.update(
        DEBUG="0",
        ALLOWED_HOSTS="localhost,127.0.0.1",
        THROTTLE_RATE_REGISTER="1000/min",
        THROTTLE_RATE_LOGIN_IP="1000/min",
        THROTTLE_RATE_LOGIN_ACCOUNT_IP="1000/min",
        THROTTLE_RATE_LOGIN_ACCOUNT="1000/min",
        GATEWAY_RATE_LIMIT="1000r/s",
        GATEWAY_RATE_BURST="1000",
        GAME_FILE="",
        GAME_SEED="2024",
    )
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        subprocess.run(  # noqa: S603
            [python, "-c", POSTGRES_RUN, database_url, f'CREATE DATABASE "{name}"'], check=True
        )
        settings["DATABASE_URL"] = (
            urllib.parse.urlparse(database_url)._replace(path=f"/{name}").geturl()
        )
    else:
        settings["DATABASE_URL"] = f"sqlite:///{work / 'auth.sqlite3'}"
    redis_url = os.environ.get("REDIS_URL")
    settings["REDIS_URL"] = (
        urllib.parse.urlparse(redis_url)._replace(path="/3").geturl() if redis_url else ""
    )
    return settings


POSTGRES_RUN = (
    "import sys, psycopg; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])"
)


def peers_start(
    stack: stack_module.Stack, work: Path, ports: dict[str, int]
) -> dict[str, subprocess.Popen]:
    """Start the peers; return their processes once they answer."""
    auth_python = stack.python(stack_module.AUTH_DIR)
    site = work / "peer-site"
    subprocess.run(  # noqa: S603
        [
            auth_python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "--target",
            str(site),
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
        capture_output=True,
    )
    env = stack.environment()
    logs = work / "logs"

    def uvicorn_peer(app: str, name: str, *server: str) -> subprocess.Popen:
        # The score service's interpreter, modules (app.game) and environment, so the peer
        # runs the same FastAPI, PyJWT and uvicorn, and uvicorn's server unless `server` says.
        python = stack.python(stack_module.SCORE_DIR)
        return subprocess.Popen(  # noqa: S603
            [
                python,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(ports[name]),
                *server,
            ],
            cwd=ROOT / "scripts",
            env={**stack.environment("score"), "PYTHONPATH": str(stack_module.SCORE_DIR)},
            stdout=(logs / f"{name.replace(' ', '-')}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )

    processes = {
        "score peer": uvicorn_peer("bench_peers.score_naive:app", "score peer"),
        "route only": uvicorn_peer("bench_peers.score_route_only:app", "route only"),
        "h11": uvicorn_peer("app.main:app", "h11", *PLAIN_UVICORN),
        "auth peer": subprocess.Popen(  # noqa: S603
            [auth_python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
            cwd=stack_module.AUTH_DIR,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{ports['auth peer']}",
                "DJANGO_SETTINGS_MODULE": "bench_peers.simplejwt_settings",
                "PYTHONPATH": f"{ROOT / 'scripts'}:{site}",
            },
            stdout=(logs / "auth-peer.log").open("ab"),
            stderr=subprocess.STDOUT,
        ),
    }
    wait_healthy(f"http://127.0.0.1:{ports['score peer']}/docs", processes["score peer"], "peer")
    for name in ("route only", "h11"):
        wait_healthy(f"http://127.0.0.1:{ports[name]}/score/health", processes[name], name)
    # 401 without a token: it answers.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            me = f"http://127.0.0.1:{ports['auth peer']}/api/me/"
            urllib.request.urlopen(me, timeout=2)
        except urllib.error.HTTPError:
            break
        except OSError:
            if processes["auth peer"].poll() is not None:
                raise SystemExit("bench: auth peer exited during start") from None
            time.sleep(0.2)
    return processes


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, load {load}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=".venv")
    options = parser.parse_args()
    nginx = stack_module.nginx_find()
    if nginx is None or shutil.which("wrk") is None:
        print("bench: needs nginx and wrk (apt-get install nginx-light wrk)", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    (work / "logs").mkdir()
    ports = stack_module.Ports(gateway=free_port(), auth=free_port(), score=free_port())
    auth_python = str(stack_module.AUTH_DIR / options.venv / "bin" / "python")
    settings = settings_bench(work, ports, auth_python)
    stack = stack_module.Stack(
        settings=settings, venv=options.venv, ports=ports, logs=work / "logs"
    )
    peer_ports = {name: free_port() for name in ("score peer", "auth peer", "route only", "h11")}
    peers: dict[str, subprocess.Popen] = {}
    try:
        stack.start(nginx)
        peers = peers_start(stack, work, peer_ports)
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        post_json(f"{stack.url}/api/register/", {"email": email, "password": PASSWORD})

        def token() -> str:
            login = {"email": email, "password": PASSWORD}
            return post_json(f"{stack.url}/api/login/", login)["access_token"]

        gateway, auth, score = stack.url, ports.auth, ports.score
        peer = {name: f"http://127.0.0.1:{port}" for name, port in peer_ports.items()}
        targets = [
            Target("gateway /health", f"{gateway}/health", False),  # nginx's own answer
            Target("gateway /score/health", f"{gateway}/score/health", False),
            Target("gateway /score", f"{gateway}/score?offset=1000", True),
            Target("gateway /api/health/", f"{gateway}/api/health/", False),
            Target("gateway /api/me/", f"{gateway}/api/me/", True),
            Target("direct /score", f"http://127.0.0.1:{score}/score?offset=1000", True),
            Target("direct /score, no fast path", f"{peer['route only']}/score?offset=1000", True),
            Target("direct /score, h11+asyncio", f"{peer['h11']}/score?offset=1000", True),
            Target("direct naive peer /score", f"{peer['score peer']}/score?offset=1000", True),
            Target("direct /api/me/", f"http://127.0.0.1:{auth}/api/me/", True),
            Target("direct simplejwt peer /api/me/", f"{peer['auth peer']}/api/me/", True),
        ]
        print(f"machine: {machine()}")
        print(
            f"wrk: 2 threads, {CONNECTIONS} connections, {DURATION} s per target, "
            f"{ROUNDS} rounds in shuffled order; rps medians",
            flush=True,
        )
        results: dict[str, list[float]] = {t.name: [] for t in targets}
        shuffler = random.Random(2024)
        for round_number in range(ROUNDS):
            order = targets[:]
            shuffler.shuffle(order)
            for target in order:
                results[target.name].append(wrk(target.url, token() if target.auth else None))
            print(f"  round {round_number + 1}/{ROUNDS} done", flush=True)
        load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    finally:
        for process in peers.values():
            process.terminate()
            process.wait(15)
        stack.stop()

    rps = {name: statistics.median(values) for name, values in results.items()}
    print()
    print(f"{'target':<32} {'rps (median)':>12}   rounds")
    for name, values in results.items():
        rounds = " ".join(f"{v:,.0f}" for v in values)
        print(f"{name:<32} {rps[name]:>12,.0f}   {rounds}")
    print(f"load average after the run: {load_after}")
    print()

    def ratio(measured: str, against: str) -> float:
        return rps[measured] / rps[against]

    goals = [  # (label, measured, against, at least)
        ("/score vs nginx's own /health, gateway", "gateway /score", "gateway /health", 0.2),
        ("/score vs /score/health, gateway", "gateway /score", "gateway /score/health", 0.85),
        ("/score vs naive FastAPI+PyJWT", "direct /score", "direct naive peer /score", 1.2),
        ("/api/me/ vs simplejwt", "direct /api/me/", "direct simplejwt peer /api/me/", 1.1),
    ]
    for label, measured, against, bound in goals:
        verdict = "met" if ratio(measured, against) >= bound else "MISSED"
        print(f"{label:<40} {ratio(measured, against):5.2f}x (goal >= {bound}x: {verdict})")
    # A shortcut stays only if it gains SHORTCUT_GAIN on its own endpoint.
    gain = ratio("direct /score", "direct /score, no fast path")
    verdict = "pays" if gain >= SHORTCUT_GAIN else "DOES NOT PAY"
    print(f"{'ScoreFastPath: /score with vs without':<40} {gain:5.2f}x", end=" ")
    print(f"(shortcut >= {SHORTCUT_GAIN}x: {verdict})")
    server = ratio("direct /score", "direct /score, h11+asyncio")
    print(f"{'server: httptools+uvloop vs h11, /score':<40} {server:5.2f}x")
    me = ratio("gateway /api/me/", "gateway /api/health/")
    print(f"{'(info) /api/me/ vs /api/health/, gateway':<40} {me:5.2f}x")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

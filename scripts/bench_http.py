#!/usr/bin/env python3
"""`make bench-http`: the hot paths over HTTP, with wrk, as ratios measured in one run.

Starts the stack of `make run` (devstack: gunicorn, uvicorn, nginx) on free ports
with its own database, and peers on the same machine, versions and server settings:
- score: a naive FastAPI endpoint, one jwt.decode and a bisect (bench_peers/score_naive.py);
- auth: djangorestframework-simplejwt's JWTAuthentication and a RetrieveAPIView, on the auth
  service's own settings, database and gunicorn.conf.py (bench_peers/simplejwt_*.py);
- memory: a bare FastAPI app with one route (bench_peers/bare.py), for the RSS ratio.
Every target is loaded in turn, in a shuffled order, for ROUNDS rounds; a figure is the
median of its rounds. Each run logs in again, so a token is reused for at most DURATION
seconds, as a polling client would. Runs in the tools venv (make bench-http), for devstack.

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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from devstack import AUTH_DIR, ROOT, SCORE_DIR
from devstack.gateway import nginx_find
from devstack.supervisor import Stack
from devstack.teststack import free_port, free_ports, postgres_database_drop, settings_throwaway

PEERS = ROOT / "scripts" / "bench_peers"
REQUIREMENTS = ROOT / "scripts" / "requirements-bench.txt"
PASSWORD = "Correct-horse-battery-staple-9"  # noqa: S105 (the bench user's)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    auth: bool  # needs a fresh access token


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


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wrk(url: str, token: str | None) -> float:
    """Return wrk's requests per second for url; stop on any non-2xx answer."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"bench: {url} answered errors under load:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def peers_start(stack: Stack, work: Path, ports: dict[str, int]) -> dict[str, subprocess.Popen]:
    """Start the two peers; return their processes once they answer."""
    auth_python = stack.python(AUTH_DIR)
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

    def uvicorn_peer(app: str, name: str) -> subprocess.Popen:
        # The score service's interpreter and modules (app.game), so the peer runs the same
        # FastAPI, PyJWT and uvicorn.
        python = stack.python(SCORE_DIR)
        return subprocess.Popen(  # noqa: S603
            [python, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(ports[name])],
            cwd=ROOT / "scripts",
            env={**env, "PYTHONPATH": str(SCORE_DIR)},
            stdout=(logs / f"{name.replace(' ', '-')}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )

    processes = {
        "score peer": uvicorn_peer("bench_peers.score_naive:app", "score peer"),
        "bare": uvicorn_peer("bench_peers.bare:app", "bare"),
        "auth peer": subprocess.Popen(  # noqa: S603
            [auth_python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
            cwd=AUTH_DIR,
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
    for name in ("score peer", "bare"):
        wait_healthy(f"http://127.0.0.1:{ports[name]}/docs", processes[name], name)
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
    nginx = nginx_find()
    if nginx is None or shutil.which("wrk") is None:
        print("bench: needs nginx and wrk (apt-get install nginx-light wrk)", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    (work / "logs").mkdir()
    ports = free_ports()
    auth_python = str(AUTH_DIR / options.venv / "bin" / "python")
    # Redis db 3 of REDIS_URL's server: the auth suite uses db 1, the e2e suite db 2.
    settings = settings_throwaway(work, python=auth_python, redis_db=3)
    stack = Stack(settings=settings, venv=options.venv, ports=ports, logs=work / "logs")
    peer_ports = {"score peer": free_port(), "auth peer": free_port(), "bare": free_port()}
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
        targets = [
            Target("gateway /score/health", f"{gateway}/score/health", False),
            Target("gateway /score", f"{gateway}/score?offset=1000", True),
            Target("gateway /api/health/", f"{gateway}/api/health/", False),
            Target("gateway /api/me/", f"{gateway}/api/me/", True),
            Target("direct /score", f"http://127.0.0.1:{score}/score?offset=1000", True),
            Target(
                "direct naive peer /score",
                f"http://127.0.0.1:{peer_ports['score peer']}/score?offset=1000",
                True,
            ),
            Target("direct /api/me/", f"http://127.0.0.1:{auth}/api/me/", True),
            Target(
                "direct simplejwt peer /api/me/",
                f"http://127.0.0.1:{peer_ports['auth peer']}/api/me/",
                True,
            ),
            Target("direct bare FastAPI /", f"http://127.0.0.1:{peer_ports['bare']}/", False),
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
        rss = {
            "score": rss_kib(stack.services["score"].process.pid),
            "bare": rss_kib(peers["bare"].pid),
        }
    finally:
        for process in peers.values():
            process.terminate()
            process.wait(15)
        stack.stop()
        if os.environ.get("DATABASE_URL"):
            postgres_database_drop(auth_python, settings["DATABASE_URL"])

    rps = {name: statistics.median(values) for name, values in results.items()}
    print()
    print(f"{'target':<32} {'rps (median)':>12}   rounds")
    for name, values in results.items():
        rounds = " ".join(f"{v:,.0f}" for v in values)
        print(f"{name:<32} {rps[name]:>12,.0f}   {rounds}")
    print()
    goals = [
        (
            "/score vs /score/health, gateway",
            rps["gateway /score"] / rps["gateway /score/health"],
            0.85,
        ),
        (
            "/score vs naive FastAPI+PyJWT",
            rps["direct /score"] / rps["direct naive peer /score"],
            1.2,
        ),
        (
            "/api/me/ vs simplejwt",
            rps["direct /api/me/"] / rps["direct simplejwt peer /api/me/"],
            1.1,
        ),
    ]
    missed = 0
    for label, ratio, target in goals:
        verdict = "met" if ratio >= target else "MISSED"
        missed += verdict != "met"
        print(f"{label:<36} {ratio:5.2f}x (goal >= {target}x: {verdict})")
    memory = rss["score"] / rss["bare"]
    print(
        f"{'score RSS vs a bare FastAPI app':<36} {memory:5.2f}x "
        f"(goal <= 1.3x: {'met' if memory <= 1.3 else 'MISSED'}; "
        f"{rss['score'] / 1024:.1f} MiB vs {rss['bare'] / 1024:.1f} MiB, after the same load)"
    )
    print(
        f"{'(info) /api/me/ vs /api/health/, gateway':<36} "
        f"{rps['gateway /api/me/'] / rps['gateway /api/health/']:5.2f}x"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
median of its rounds: requests per second and, where nginx and uvicorn answer alone, the CPU
they used per request, which a loaded machine hardly moves. Each run logs in again, so a token
is reused for at most DURATION seconds, as a polling client would. Standard library only.

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
import urllib.parse
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
# uvicorn without httptools and uvloop, which it picks by itself when they are installed.
PLAIN_UVICORN = ("--http", "h11", "--loop", "asyncio")
SHORTCUT_GAIN = 1.3


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    auth: bool  # needs a fresh access token
    servers: tuple[int, ...] = ()  # the processes that answer it, for the CPU a request costs


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


def cpu_seconds(pids: tuple[int, ...]) -> float:
    """Return the CPU time (user + system) used so far by the processes pids and their
    descendants: unlike requests per second, the CPU a request costs hardly moves with the
    machine's load (other programs take turns on the cores, not a share of a request)."""
    processes = {}  # pid: (parent pid, CPU clock ticks), from proc(5)'s /proc/PID/stat
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it exited meanwhile
            continue
        processes[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree, grown = set(pids), True
    while grown:
        children = {child for child, (parent, _) in processes.items() if parent in tree}
        grown = not children <= tree
        tree |= children
    ticks = sum(processes[member][1] for member in tree if member in processes)
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, token: str | None) -> tuple[float, int]:
    """Return wrk's requests per second for url and its count of requests; stop on any
    non-2xx answer."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"bench: {url} answered errors under load:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), requests


def peers_start(stack: Stack, work: Path, ports: dict[str, int]) -> dict[str, subprocess.Popen]:
    """Start the peers; return their processes once they answer."""
    auth_python = stack.python(AUTH_DIR)
    site = work / "peer-site"
    pip = "-m pip install --quiet --disable-pip-version-check --no-deps --require-hashes"
    subprocess.run(  # noqa: S603
        [auth_python, *pip.split(), "--target", str(site), "-r", str(REQUIREMENTS)],
        check=True,
        capture_output=True,
    )
    logs = work / "logs"

    def spawn(name: str, command: list[str], **options: object) -> subprocess.Popen:
        # Each in its own session, as the stack's programs are: with Linux's autogroup
        # scheduling a session shares the CPU as one, and the same session as wrk doubled a
        # server's requests per second on a loaded machine.
        return subprocess.Popen(  # noqa: S603
            command,
            stdout=(logs / f"{name.replace(' ', '-')}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **options,
        )

    def uvicorn_peer(name: str, app: str, *server: str) -> subprocess.Popen:
        # The score service's interpreter, modules (app.game) and environment, so the peer
        # runs the same FastAPI, PyJWT and uvicorn, and uvicorn's server unless `server` says.
        python = stack.python(SCORE_DIR)
        address = ["--host", "127.0.0.1", "--port", str(ports[name])]
        return spawn(
            name,
            [python, "-m", "uvicorn", app, *address, *server],
            cwd=ROOT / "scripts",
            env={**stack.environment("score"), "PYTHONPATH": str(SCORE_DIR)},
        )

    processes = {
        "score peer": uvicorn_peer("score peer", "bench_peers.score_naive:app"),
        "route only": uvicorn_peer("route only", "bench_peers.score_route_only:app"),
        "h11": uvicorn_peer("h11", "app.main:app", *PLAIN_UVICORN),
        "auth peer": spawn(
            "auth peer",
            [auth_python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
            cwd=AUTH_DIR,
            env={
                **stack.environment(),
                "GUNICORN_BIND": f"127.0.0.1:{ports['auth peer']}",
                "DJANGO_SETTINGS_MODULE": "bench_peers.simplejwt_settings",
                "PYTHONPATH": f"{ROOT / 'scripts'}:{site}",
            },
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

        base = {
            "gateway": stack.url,
            **{name: f"http://127.0.0.1:{getattr(ports, name)}" for name in ("auth", "score")},
            **{name: f"http://127.0.0.1:{port}" for name, port in peer_ports.items()},
        }
        pid = {name: stack.services[name].process.pid for name in ("gateway", "score")}
        pid |= {name: process.pid for name, process in peers.items()}
        score = "/score?offset=1000"
        targets = [  # (name, URL, with a token, the processes whose CPU it costs)
            Target("gateway /health", f"{base['gateway']}/health", False, (pid["gateway"],)),
            Target(
                "gateway /score/health",
                f"{base['gateway']}/score/health",
                False,
                (pid["gateway"], pid["score"]),
            ),
            Target("gateway /score", base["gateway"] + score, True, (pid["gateway"], pid["score"])),
            Target("gateway /api/health/", f"{base['gateway']}/api/health/", False),
            Target("gateway /api/me/", f"{base['gateway']}/api/me/", True),
            Target("direct /score", base["score"] + score, True, (pid["score"],)),
            *(
                Target(f"direct {label}", base[name] + score, True, (pid[name],))
                for label, name in [
                    ("/score, no fast path", "route only"),
                    ("/score, h11+asyncio", "h11"),
                    ("naive peer /score", "score peer"),
                ]
            ),
            # No CPU figure: the database's share of a request would not be in it.
            Target("direct /api/me/", f"{base['auth']}/api/me/", True),
            Target("direct simplejwt peer /api/me/", f"{base['auth peer']}/api/me/", True),
        ]
        print(f"machine: {machine()}")
        print(
            f"wrk: 2 threads, {CONNECTIONS} connections, {DURATION} s per target, "
            f"{ROUNDS} rounds in shuffled order; medians of requests per second and of the CPU "
            "that the answering processes used per request",
            flush=True,
        )
        results: dict[str, list[float]] = {t.name: [] for t in targets}
        cpu: dict[str, list[float]] = {t.name: [] for t in targets if t.servers}  # µs a request
        shuffler = random.Random(2024)
        for round_number in range(ROUNDS):
            order = targets[:]
            shuffler.shuffle(order)
            for target in order:
                bearer = token() if target.auth else None
                before = cpu_seconds(target.servers)
                rate, requests = wrk(target.url, bearer)
                results[target.name].append(rate)
                if target.servers:
                    used = cpu_seconds(target.servers) - before
                    cpu[target.name].append(used / requests * 1e6)
            print(f"  round {round_number + 1}/{ROUNDS} done", flush=True)
        load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    finally:
        for process in peers.values():
            process.terminate()
            process.wait(15)
        stack.stop()
        if os.environ.get("DATABASE_URL"):
            postgres_database_drop(auth_python, settings["DATABASE_URL"])

    rps = {name: statistics.median(values) for name, values in results.items()}
    cost = {name: statistics.median(values) for name, values in cpu.items()}
    print()
    print(f"{'target':<32} {'rps':>7} {'CPU µs/req':>10}   rps of each round")
    for name, values in results.items():
        rounds = " ".join(f"{v:,.0f}" for v in values)
        used = f"{cost[name]:,.0f}" if name in cost else "-"
        print(f"{name:<32} {rps[name]:>7,.0f} {used:>10}   {rounds}")
    print(f"load average after the run: {load_after}")
    print()

    def ratio(label: str, measured: str, against: str, rule: str = "", bound: float = 0) -> None:
        """Print measured/against in rps and, where both have one, in CPU per request."""
        found = [rps[measured] / rps[against]]
        text = f"{label:<40} {found[0]:5.2f}x rps"
        if measured in cost and against in cost:
            found.append(cost[against] / cost[measured])
            text += f", {found[1]:5.2f}x by CPU a request"
        if bound:
            verdicts = " / ".join("met" if value >= bound else "MISSED" for value in found)
            text += f" ({rule} >= {bound}x: {verdicts})"
        print(text)

    ratio(
        "/score vs nginx's own /health, gateway", "gateway /score", "gateway /health", "goal", 0.2
    )
    ratio(
        "/score vs /score/health, gateway", "gateway /score", "gateway /score/health", "goal", 0.85
    )
    ratio("/score vs naive FastAPI+PyJWT", "direct /score", "direct naive peer /score", "goal", 1.2)
    ratio("/api/me/ vs simplejwt", "direct /api/me/", "direct simplejwt peer /api/me/", "goal", 1.1)
    # A shortcut stays only if it gains SHORTCUT_GAIN on its own endpoint.
    fast_path = ("direct /score", "direct /score, no fast path")
    ratio("ScoreFastPath: /score with vs without", *fast_path, "shortcut", SHORTCUT_GAIN)
    ratio("server: httptools+uvloop vs h11, /score", "direct /score", "direct /score, h11+asyncio")
    ratio("(info) /api/me/ vs /api/health/, gateway", "gateway /api/me/", "gateway /api/health/")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

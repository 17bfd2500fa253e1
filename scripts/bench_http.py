#!/usr/bin/env python3
"""`make bench-http`: the hot paths over HTTP, with wrk, as ratios measured in one run.

Starts the stack of `make run` (devstack: gunicorn, uvicorn, nginx) on free ports with its
own database, and peers on the same machine, versions and server settings:
- score: a naive FastAPI endpoint, one jwt.decode and a bisect (bench_peers/score_naive.py);
- auth: djangorestframework-simplejwt's JWTAuthentication and a RetrieveAPIView, on the auth
  service's own settings, database and gunicorn.conf.py (bench_peers/simplejwt_*.py);
- the score service itself twice more: without ScoreFastPath (bench_peers/score_route_only.py),
  the shortcut's gain, and under plain uvicorn (h11, asyncio), the server's;
- both services uninstrumented (METRICS_ENABLED=0, LOG_REQUESTS=0), the cost of their metrics
  and request lines: the stack runs with both on, its logs as JSON (docs/observability.md);
- the auth service storing no client of its refresh tokens, which GET /api/sessions/ shows
  (bench_peers/sessionless_settings.py): the bookkeeping's cost on /api/refresh/, loaded along
  chains of refresh tokens (devstack/wrk_refresh.lua), the throttles out of the way.
Every target is loaded once a round (the two refresh peers at the same time), in a shuffled
order, for ROUNDS rounds; a figure is the median of its rounds: requests per second and,
where nginx and uvicorn answer alone, the CPU they used per request, which a loaded machine
hardly moves. Each run logs in again, so a token is reused for at most DURATION seconds, as a
polling client would. The measuring is devstack.bench's; this file declares what is
measured: PEERS, targets() and RATIOS.

Environment: BENCH_ROUNDS (3), BENCH_DURATION (5 s), BENCH_CONNECTIONS (32); DATABASE_URL and
REDIS_URL as for the e2e suite (a fresh PostgreSQL database beside DATABASE_URL; Redis db 3).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from devstack import AUTH_DIR, ROOT, SCORE_DIR
from devstack.bench import (
    Ratio,
    Target,
    load_average,
    machine,
    post_json,
    programs_missing,
    report,
    requirements_install,
    rounds_run,
    server_spawn,
    wait_answering,
    wrk_header,
)
from devstack.gateway import nginx_find
from devstack.supervisor import UVICORN_OPTIONS, Stack
from devstack.teststack import (
    UNTHROTTLED_RATES,
    free_port,
    free_ports,
    postgres_database_drop,
    settings_throwaway,
)

REQUIREMENTS = ROOT / "scripts" / "requirements-bench.txt"
PASSWORD = "Correct-horse-battery-staple-9"  # noqa: S105 (the bench user's)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
# uvicorn without httptools and uvloop, which it picks by itself when they are installed.
PLAIN_UVICORN = ("--http", "h11", "--loop", "asyncio")
SHORTCUT_GAIN = 1.3
SCORE = "/score?offset=1000"
REFRESH_WITHOUT = "direct /api/refresh/, no bookkeeping"

# Neither metrics nor a line per request (docs/observability.md).
UNINSTRUMENTED = {"METRICS_ENABLED": "0", "LOG_REQUESTS": "0"}
# The uvicorn peers, run by the score service's interpreter and launcher (app/serve.py, as the
# stack's: its logging, its metrics on a port and folder of each peer's own): name: (ASGI app,
# uvicorn options, environment on top of the score service's).
PEERS = {
    "score peer": ("bench_peers.score_naive:app", (), {}),
    "route only": ("bench_peers.score_route_only:app", (), {}),
    "h11": ("app.main:app", PLAIN_UVICORN, {}),
    "score uninstrumented": ("app.main:app", (), UNINSTRUMENTED),
    "score without request lines": ("app.main:app", (), {"LOG_REQUESTS": "0"}),
}
# The gunicorn peers, on the auth service's gunicorn.conf.py: name: environment on top of the
# auth service's.
AUTH_PEERS = {
    "auth peer": {"DJANGO_SETTINGS_MODULE": "bench_peers.simplejwt_settings"},
    "auth uninstrumented": UNINSTRUMENTED,
    "auth sessionless": {"DJANGO_SETTINGS_MODULE": "bench_peers.sessionless_settings"},
    "auth twin": {},  # the service itself, started as its sessionless peer is
}

RATIOS = [
    Ratio(
        "/score vs nginx's own /health, gateway", "gateway /score", "gateway /health", "goal", 0.2
    ),
    Ratio(
        "/score vs /score/health, gateway", "gateway /score", "gateway /score/health", "goal", 0.85
    ),
    Ratio(
        "/score vs naive FastAPI+PyJWT", "direct /score", "direct naive peer /score", "goal", 1.2
    ),
    Ratio(
        "/api/me/ vs simplejwt", "direct /api/me/", "direct simplejwt peer /api/me/", "goal", 1.1
    ),
    # A shortcut stays only if it gains SHORTCUT_GAIN on its own endpoint.
    Ratio(
        "ScoreFastPath: /score with vs without",
        "direct /score",
        "direct /score, no fast path",
        "shortcut",
        SHORTCUT_GAIN,
    ),
    Ratio("server: httptools+uvloop vs h11, /score", "direct /score", "direct /score, h11+asyncio"),
    # What metrics and request lines cost (instrumented / not).
    Ratio(
        "instrumentation: /score with vs without",
        "direct /score",
        "direct /score, uninstrumented",
        "goal",
        0.9,
    ),
    Ratio(
        "(info) /score metrics only vs without",
        "direct /score, metrics only",
        "direct /score, uninstrumented",
    ),
    Ratio(
        "instrumentation: /api/me/ with vs without",
        "direct /api/me/",
        "direct /api/me/, uninstrumented",
        "goal",
        0.9,
    ),
    Ratio("(info) /api/me/ vs /api/health/, gateway", "gateway /api/me/", "gateway /api/health/"),
    Ratio(
        "/api/refresh/ with vs without session bookkeeping",
        "direct /api/refresh/",
        REFRESH_WITHOUT,
        "goal",
        0.95,
    ),
]


def targets(url: dict[str, str], pid: dict[str, int]) -> list[Target]:
    """Return what wrk loads; url and pid map the stack's programs ("gateway", "auth",
    "score") and the peers to their base URL and process id."""
    gateway, score = (pid["gateway"],), (pid["score"],)
    return [
        Target("gateway /health", f"{url['gateway']}/health", False, gateway),
        Target("gateway /score/health", f"{url['gateway']}/score/health", False, gateway + score),
        Target("gateway /score", url["gateway"] + SCORE, True, gateway + score),
        Target("gateway /api/health/", f"{url['gateway']}/api/health/", False),
        Target("gateway /api/me/", f"{url['gateway']}/api/me/", True),
        Target("direct /score", url["score"] + SCORE, True, score),
        Target(
            "direct /score, no fast path", url["route only"] + SCORE, True, (pid["route only"],)
        ),
        Target("direct /score, h11+asyncio", url["h11"] + SCORE, True, (pid["h11"],)),
        Target("direct naive peer /score", url["score peer"] + SCORE, True, (pid["score peer"],)),
        # No CPU figure: the database's share of a request would not be in it.
        Target("direct /api/me/", f"{url['auth']}/api/me/", True),
        Target("direct simplejwt peer /api/me/", f"{url['auth peer']}/api/me/", True),
        Target(
            "direct /score, uninstrumented",
            url["score uninstrumented"] + SCORE,
            True,
            (pid["score uninstrumented"],),
        ),
        Target("direct /api/me/, uninstrumented", f"{url['auth uninstrumented']}/api/me/", True),
        Target(
            "direct /score, metrics only",
            url["score without request lines"] + SCORE,
            True,
            (pid["score without request lines"],),
        ),
        # Along chains from logins at the same server, two peers alike but for the bookkeeping,
        # loaded at the same time (an A/B: a checkpoint weighs on both).
        *(
            Target(name, f"{url[peer]}/api/refresh/", False, login=f"{url[peer]}/api/login/", **at)
            for name, peer, at in (
                ("direct /api/refresh/", "auth twin", {"together": REFRESH_WITHOUT}),
                (REFRESH_WITHOUT, "auth sessionless", {}),
            )
        ),
    ]


def peers_start(stack: Stack, work: Path, ports: dict[str, int]) -> dict[str, subprocess.Popen]:
    """Start PEERS and AUTH_PEERS; return their processes once they answer."""
    auth_python = stack.python(AUTH_DIR)
    site = requirements_install(auth_python, REQUIREMENTS, work / "peer-site")
    processes = {}
    # The score service's interpreter, modules (app.game) and environment, so a peer runs the
    # same FastAPI, PyJWT and uvicorn, and uvicorn's server unless its options say.
    for name, (app, server, environment) in PEERS.items():
        address = ["--host", "127.0.0.1", "--port", str(ports[name]), *UVICORN_OPTIONS]
        processes[name] = server_spawn(
            name,
            work / "logs",
            [stack.python(SCORE_DIR), "-m", "app.serve", app, *address, *server],
            cwd=ROOT / "scripts",
            env={
                **stack.environment("score"),
                "PYTHONPATH": str(SCORE_DIR),
                "METRICS_BIND": f"127.0.0.1:{free_port()}",
                "PROMETHEUS_MULTIPROC_DIR": str(work / f"{name.replace(' ', '-')}-metrics"),
                **environment,
            },
        )
    for name, environment in AUTH_PEERS.items():
        processes[name] = server_spawn(
            name,
            work / "logs",
            [auth_python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
            cwd=AUTH_DIR,
            env={
                **stack.environment(),
                "GUNICORN_BIND": f"127.0.0.1:{ports[name]}",
                # Its own metrics port and folder, off the stack's.
                "METRICS_BIND": f"127.0.0.1:{free_port()}",
                "PROMETHEUS_MULTIPROC_DIR": str(work / f"{name.replace(' ', '-')}-metrics"),
                "PYTHONPATH": f"{ROOT / 'scripts'}:{site}",
                **environment,
            },
        )
    for name, process in processes.items():
        # Any answer will do: the naive peer has no health route, the auth peer answers 401.
        wait_answering(f"http://127.0.0.1:{ports[name]}/score/health", process, name)
    return processes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=".venv")
    options = parser.parse_args()
    nginx = nginx_find()
    if missing := programs_missing(nginx=nginx, wrk=shutil.which("wrk")):
        print(missing, file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    (work / "logs").mkdir()
    ports = free_ports()
    auth_python = str(AUTH_DIR / options.venv / "bin" / "python")
    # Redis db 3 of REDIS_URL's server: the auth suite uses db 1, the e2e suite db 2.
    settings = settings_throwaway(work, python=auth_python, redis_db=3)
    settings["LOG_FORMAT"] = "json"  # as in the images
    settings.update(UNTHROTTLED_RATES)  # the refresh targets' logins and refreshes
    stack = Stack(settings=settings, venv=options.venv, ports=ports, logs=work / "logs")
    peer_ports = {name: free_port() for name in [*PEERS, *AUTH_PEERS]}
    peers: dict[str, subprocess.Popen] = {}
    try:
        stack.start(nginx)
        peers = peers_start(stack, work, peer_ports)
        login = {"email": f"bench-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
        post_json(f"{stack.url}/api/register/", login)

        def token() -> str:
            return post_json(f"{stack.url}/api/login/", login)["access_token"]

        users: list[dict] = []  # one a chain: a refresh locks its user's row (user_lock)

        def refresh_tokens(login_url: str, count: int) -> list[str]:
            while len(users) < count:
                users.append({**login, "email": f"bench-{uuid.uuid4().hex[:12]}@example.com"})
                post_json(f"{stack.url}/api/register/", users[-1])
            return [post_json(login_url, user)["refresh_token"] for user in users[:count]]

        url = {
            "gateway": stack.url,
            **{name: f"http://127.0.0.1:{getattr(ports, name)}" for name in ("auth", "score")},
            **{name: f"http://127.0.0.1:{port}" for name, port in peer_ports.items()},
        }
        pid = {name: stack.services[name].process.pid for name in ("gateway", "score")}
        pid |= {name: process.pid for name, process in peers.items()}
        print(f"machine: {machine()}\n{wrk_header(ROUNDS, CONNECTIONS, DURATION)}", flush=True)
        results = rounds_run(
            targets(url, pid),
            token,
            rounds=ROUNDS,
            connections=CONNECTIONS,
            duration=DURATION,
            refresh_tokens=refresh_tokens,
        )
        load_after = load_average()
    finally:
        for process in peers.values():
            process.terminate()
            process.wait(15)
        stack.stop()
        if os.environ.get("DATABASE_URL"):
            postgres_database_drop(auth_python, settings["DATABASE_URL"])

    print(report(results, RATIOS, load_after))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

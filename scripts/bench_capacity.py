#!/usr/bin/env python3
"""`make bench-capacity`: logins and refreshes per core of the auth service at saturation,
against Keycloak's published sizing (1 vCPU per 15 password logins/s, per 120 refreshes/s).

Starts the stack of `make run` on free ports with its own database (a fresh PostgreSQL one
beside DATABASE_URL, Redis db 4 of REDIS_URL's server), the throttles out of the way. Where
the machine has two CPUs or more, the auth service's processes and threads are pinned to
the last CPU and this client to the others (sched_setaffinity, what `taskset` does). Then
BENCH_CLIENTS threads call gunicorn directly for BENCH_DURATION seconds each: logins of
their own users, then refreshes, each thread along its own chain. A figure per core is the
successful answers divided by the CPU time (user + system, /proc) the auth service's
processes used meanwhile: what one core of the service buys, whatever else the machine runs.
The database's and Redis's CPU is not in it, as Keycloak's figure leaves out its database's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from bench_http import PASSWORD

from devstack import AUTH_DIR
from devstack.bench import cpu_seconds
from devstack.gateway import nginx_find
from devstack.supervisor import Stack
from devstack.teststack import (
    UNTHROTTLED_RATES,
    free_ports,
    postgres_database_drop,
    settings_throwaway,
)

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
DURATION = float(os.environ.get("BENCH_DURATION", "10"))
KEYCLOAK = {"login": 15, "refresh": 120}
# One Argon2id hash at the service's cost and at Django's own, in the auth venv: the CPU of
# the fastest of 5 rounds of 5 hashes each.
HASH_TIMING = """
import time, django
from django.conf import settings
django.setup()
from argon2 import PasswordHasher, Type
ours = (settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_KIB, settings.ARGON2_PARALLELISM)
for label, (t, m, p) in [("service", ours), ("Django's default", (2, 102400, 8))]:
    hasher = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, type=Type.ID)
    samples = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(5):
            hasher.hash("Correct-horse-battery-9")
        samples.append((time.process_time() - start) / 5)
    print(f"{label} m={m} KiB t={t} p={p}: {min(samples) * 1000:.1f} ms of CPU a hash")
"""


def process_tree(pid: int) -> set[int]:
    """pid and its descendants."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    tree, grown = {pid}, True
    while grown:
        children = {child for child, parent in parents.items() if parent in tree}
        grown = not children <= tree
        tree |= children
    return tree


def pin(pids: set[int], cpus: set[int]) -> None:
    """Pin every thread of pids to cpus (new threads inherit it from their creator)."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpus)


def saturate(kind: str, url: str, chains: list[dict]) -> tuple[Counter, float]:
    """Run one thread per chain for DURATION seconds: logins of chain["email"], or
    refreshes along chain["refresh_token"]. Return the statuses and the seconds taken."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + DURATION

    def client(chain: dict) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < deadline:
                if kind == "login":
                    body = {"email": chain["email"], "password": PASSWORD}
                    response = http.post("/api/login/", json=body)
                else:
                    response = http.post("/api/refresh/", json={"refresh_token": chain["refresh"]})
                    if response.status_code == 200:
                        chain["refresh"] = response.json()["refresh_token"]
                with lock:
                    statuses[response.status_code] += 1

    threads = [threading.Thread(target=client, args=(chain,)) for chain in chains]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=".venv")
    options = parser.parse_args()
    nginx = nginx_find()
    if nginx is None:
        print("bench-capacity: needs nginx (apt-get install nginx-light)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    (work / "logs").mkdir()
    auth_python = str(AUTH_DIR / options.venv / "bin" / "python")
    settings = settings_throwaway(work, python=auth_python, redis_db=4)
    settings.update(UNTHROTTLED_RATES)
    stack = Stack(settings=settings, venv=options.venv, ports=free_ports(), logs=work / "logs")
    cpus = sorted(os.sched_getaffinity(0))
    print(f"machine: {len(cpus)} CPUs, load {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    hashes = subprocess.run(  # noqa: S603 (the auth venv's interpreter, our own code)
        [auth_python, "-c", HASH_TIMING],
        cwd=AUTH_DIR,
        env={**os.environ, **settings, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    print(hashes, end="")
    per_core: dict[str, float] = {}
    try:
        stack.start(nginx)
        # gunicorn's master: cpu_seconds adds its workers.
        auth = (stack.services["auth"].process.pid,)
        if len(cpus) >= 2:
            pin(process_tree(auth[0]), {cpus[-1]})
            os.sched_setaffinity(0, set(cpus[:-1]))
            print(f"auth service pinned to CPU {cpus[-1]}, this client to CPU {cpus[:-1]}")
        else:
            print("one CPU: nothing pinned; the figures divide by the service's own CPU time")
        url = f"http://127.0.0.1:{stack.ports.auth}"
        print(f"{CLIENTS} client threads, {DURATION:.0f} s each, straight to gunicorn")
        chains = []
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(CLIENTS):
                email = f"capacity-{uuid.uuid4().hex[:12]}@example.com"
                body = {"email": email, "password": PASSWORD}
                http.post("/api/register/", json=body).raise_for_status()
                login = http.post("/api/login/", json=body)
                login.raise_for_status()
                chains.append({"email": email, "refresh": login.json()["refresh_token"]})
        for kind in ("login", "refresh"):
            before, client_before = cpu_seconds(auth), time.process_time()
            statuses, seconds = saturate(kind, url, chains)
            used = cpu_seconds(auth) - before
            client_used = time.process_time() - client_before
            ok = statuses[200]
            per_core[kind] = ok / used if used else 0.0
            print(
                f"{kind:8} {ok / seconds:7.1f}/s wall, {ok} answers 200 "
                f"(all: {dict(sorted(statuses.items()))}); auth CPU {used:.1f} s = "
                f"{used / seconds:.2f} cores busy; client CPU {client_used:.1f} s; "
                f"{per_core[kind]:.1f}/s per core of the auth service, "
                f"{per_core[kind] / KEYCLOAK[kind]:.2f}x Keycloak's {KEYCLOAK[kind]}"
            )
    finally:
        stack.stop()
        if os.environ.get("DATABASE_URL"):
            postgres_database_drop(auth_python, settings["DATABASE_URL"])
    print(f"load average after the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"capacity: login {per_core['login']:.0f}/s per core (Keycloak 15), "
        f"refresh {per_core['refresh']:.0f}/s per core (Keycloak 120)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

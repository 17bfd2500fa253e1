"""The fault schedule of `make load FAULTS=1`, on a running compose stack, and its memory
samples.

At evenly spaced moments of the run it stops one container, for FAULT_SECONDS, of each part
in turn (one auth replica, one score replica, Redis, PostgreSQL), starts it again and waits
until its healthcheck passes; that window is the fault, the RECOVERY_SECONDS after it the
recovery (loadtest/report.py). Meanwhile every container of the project has its memory
sampled each minute with `docker stats`. DOCKER names the client (`docker`, or `podman`).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time

from loadtest.report import Fault

PARTS = ("auth", "score", "redis", "postgres")
FAULT_SECONDS = 20.0
HEALTHY_TIMEOUT = 180.0
MEMORY_INTERVAL = 60.0
UNITS = {
    "B": 1 / 2**20,
    "KiB": 1 / 1024,
    "kB": 1 / 1024,
    "MiB": 1,
    "MB": 1,
    "GiB": 1024,
    "GB": 1024,
}


def docker(*args: str) -> str:
    """Run the docker client with `args`; return its output."""
    command = [*os.environ.get("DOCKER", "docker").split(), *args]
    return subprocess.run(  # noqa: S603 (the docker client, our own arguments)
        command, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def containers(project: str, service: str | None = None) -> dict[str, str]:
    """The running containers of a compose project (of one service): name by short id."""
    filters = ["--filter", f"label=com.docker.compose.project={project}"]
    if service:
        filters += ["--filter", f"label=com.docker.compose.service={service}"]
    lines = docker("ps", *filters, "--format", "{{.ID}}\t{{.Names}}").splitlines()
    return dict(line.split("\t") for line in lines)


def healthy(name: str) -> bool:
    return docker("inspect", "-f", "{{.State.Health.Status}}", name).strip() == "healthy"


def fault_times(duration: float, parts: int = len(PARTS)) -> list[float]:
    """When each fault starts, in seconds from the start: evenly spaced, steady at both ends."""
    return [duration * (k + 1) / (parts + 1) for k in range(parts)]


def mib(usage: str) -> float:
    """The used part of docker stats' MemUsage ("12.5MiB / 1.9GiB"), in MiB."""
    match = re.match(r"\s*([\d.]+)\s*([A-Za-z]+)", usage)
    if not match:
        raise ValueError(f"unreadable memory usage {usage!r}")
    return float(match[1]) * UNITS[match[2]]


class Schedule(threading.Thread):
    """Runs the faults, records each window, and samples memory until stopped."""

    def __init__(self, *, project: str, duration: float, started: float) -> None:
        super().__init__(daemon=True)
        self.project = project
        self.duration = duration
        self.started = started
        self.faults: list[Fault] = []
        self.memory: list[tuple[float, str, float]] = []
        self.errors: list[str] = []
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample_memory, daemon=True)

    def stop(self) -> None:
        self._done.set()

    def run(self) -> None:
        self._sampler.start()
        for part, offset in zip(PARTS, fault_times(self.duration), strict=True):
            if self._done.wait(max(0.0, self.started + offset - time.time())):
                return
            try:
                self.faults.append(self._fault(part))
            except (subprocess.SubprocessError, TimeoutError) as e:
                self.errors.append(f"{part}: {e}")

    def _fault(self, part: str) -> Fault:
        name = max(containers(self.project, part).values())  # one replica: the last
        stopped = time.time()
        docker("stop", "-t", "5", name)
        time.sleep(FAULT_SECONDS)
        docker("start", name)
        deadline = time.time() + HEALTHY_TIMEOUT
        while not healthy(name):
            if time.time() > deadline:
                raise TimeoutError(f"{name} not healthy {HEALTHY_TIMEOUT:.0f} s after its start")
            time.sleep(0.5)
        return Fault(f"{part} ({name})", stopped, time.time())

    def _sample_memory(self) -> None:
        """Sample now, then each MEMORY_INTERVAL, and once more when the run ends."""
        while True:
            at = time.time()
            self.memory_sample(at)
            if self._done.wait(MEMORY_INTERVAL - (time.time() - at)):
                self.memory_sample(time.time())
                return

    def memory_sample(self, at: float) -> None:
        # By id: podman's API gives docker stats names it cuts the first letter off. A
        # container the schedule stops meanwhile fails the call: then each one alone.
        names = containers(self.project)
        for batch in [list(names), *([name] for name in names)]:
            try:
                out = docker("stats", "--no-stream", "--format", "{{.ID}}\t{{.MemUsage}}", *batch)
            except subprocess.SubprocessError:
                continue
            for line in out.splitlines():
                short_id, usage = line.split("\t")
                self.memory.append((at, names[short_id], mib(usage)))
            if len(batch) > 1:
                return
        if not any(sample_at == at for sample_at, _, _ in self.memory):
            self.errors.append(f"memory sample at {time.strftime('%H:%M:%S')}: docker stats failed")

    def join_all(self) -> None:
        """Wait for the schedule and the sampler's last sample."""
        self.join()
        self._sampler.join()

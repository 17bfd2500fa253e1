"""The report of a load run: per endpoint, per phase, the chain's checks and memory.

It reads the request log the virtual users wrote (loadtest/locustfile.py), and with the
fault schedule the timeline of loadtest/faults.py and its memory samples, and judges the run
against the rules of issue 21 (docs/performance.md: Load with faults).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from loadtest.chain import Outcome

# What each endpoint answers when nothing is wrong. The revoked refresh's 401 is deliberate.
EXPECTED = {
    "/api/register/": {201},
    "/api/login/": {200},
    "/api/refresh/": {200},
    "/api/refresh/ (revoked)": {401},
    "/api/logout/": {200},
    "/api/me/": {200},
    "/score": {200},
}
# What a fault window may answer besides: the gateway's 502/504 and the services' 503.
FAULT_STATUSES = {502, 503, 504}
RETRY_AFTER_REQUIRED = {429, 503}
RECOVERY_SECONDS = 10.0
LOST = Outcome.LOST.value
MEMORY_GROWTH_MAX = 0.05
MEMORY_WINDOW = 8 * 60.0


@dataclass(frozen=True)
class Request:
    time: float
    name: str
    status: int
    ms: float
    retry_after: str


@dataclass(frozen=True)
class Fault:
    part: str
    stopped: float
    healthy: float  # started again and healthy


@dataclass
class Run:
    requests: list[Request] = field(default_factory=list)
    checks: Counter = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    memory: list[tuple[float, str, float]] = field(default_factory=list)  # time, name, MiB


def log_read(path: Path) -> Run:
    """Return the requests and checks of a request log."""
    run = Run()
    with path.open(newline="") as f:
        for time_, kind, name, status, ms, retry_after in csv.reader(f):
            if kind == "check":
                run.checks[name] += 1
            else:
                run.requests.append(
                    Request(float(time_), name, int(status), float(ms), retry_after)
                )
    run.requests.sort(key=lambda r: r.time)
    return run


def phase(run: Run, at: float) -> str:
    """Return "fault", "recovery" (the RECOVERY_SECONDS after a part is healthy again) or
    "steady" for the moment `at`."""
    for fault in run.faults:
        if fault.stopped <= at < fault.healthy:
            return "fault"
        if fault.healthy <= at < fault.healthy + RECOVERY_SECONDS:
            return "recovery"
    return "steady"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of a sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(fraction * len(sorted_values) + 0.999999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _statuses(counter: Counter) -> str:
    return " ".join(f"{status}:{count}" for status, count in sorted(counter.items())) or "-"


def endpoint_table(run: Run) -> list[str]:
    """One line per endpoint: count, rate, p50/p95/p99 (ms) and status counts."""
    if not run.requests:
        return ["no requests"]
    span = max(run.requests[-1].time - run.requests[0].time, 1e-9)
    by_name: dict[str, list[Request]] = defaultdict(list)
    for request in run.requests:
        by_name[request.name].append(request)
    lines = [
        f"{'endpoint':26} {'requests':>8} {'rate/s':>7} {'p50':>7} {'p95':>7} {'p99':>7}  statuses"
    ]
    for name, requests in sorted(by_name.items()):
        ms = sorted(r.ms for r in requests)
        p50, p95, p99 = (percentile(ms, f) for f in (0.5, 0.95, 0.99))
        lines.append(
            f"{name:26} {len(requests):8} {len(requests) / span:7.1f} {p50:7.0f} {p95:7.0f}"
            f" {p99:7.0f}  {_statuses(Counter(r.status for r in requests))}"
        )
    return lines


def unexpected(request: Request) -> bool:
    return request.status not in EXPECTED.get(request.name, {200})


def phase_table(run: Run) -> list[str]:
    """Requests and unexpected answers per phase, by status."""
    totals: Counter = Counter()
    errors: dict[str, Counter] = defaultdict(Counter)
    for request in run.requests:
        name = phase(run, request.time)
        totals[name] += 1
        if unexpected(request):
            errors[name][request.status] += 1
    return [
        f"{name:9} {totals[name]:8} requests, unexpected answers: {_statuses(errors[name])}"
        for name in ("steady", "fault", "recovery")
        if totals[name]
    ]


def fault_table(run: Run) -> list[str]:
    """Per fault: its window, unexpected answers in it, and the last one after it healed."""
    lines = []
    for fault in run.faults:
        during = Counter(
            r.status
            for r in run.requests
            if fault.stopped <= r.time < fault.healthy and unexpected(r)
        )
        after = [
            r.time - fault.healthy
            for r in run.requests
            if fault.healthy <= r.time < fault.healthy + 60 and unexpected(r)
        ]
        last = f"last unexpected answer {max(after):.1f} s after" if after else "none after"
        lines.append(
            f"{fault.part:28} down {fault.healthy - fault.stopped:5.1f} s (until healthy): "
            f"{_statuses(during)}; {last}"
        )
    return lines


def memory_table(run: Run) -> tuple[list[str], list[str]]:
    """Memory per container at each sample, and the containers that grew by more than
    MEMORY_GROWTH_MAX over the last MEMORY_WINDOW of the run."""
    if not run.memory:
        return [], []
    start = run.memory[0][0]
    end = max(at for at, _, _ in run.memory)
    by_name: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for at, name, mib in run.memory:
        by_name[name].append((at, mib))
    lines, grown = [], []
    for name, samples in sorted(by_name.items()):
        window = [mib for at, mib in samples if at >= end - MEMORY_WINDOW - 1]
        growth = (window[-1] / window[0] - 1) if len(window) > 1 and window[0] else 0.0
        minutes = " ".join(f"{(at - start) / 60:.0f}:{mib:.1f}" for at, mib in samples)
        restarts = [
            f"{(f.stopped - start) / 60:.1f}" for f in run.faults if f.part.endswith(f"({name})")
        ]
        restarted = f" (stopped by the schedule at minute {restarts[0]})" if restarts else ""
        lines.append(f"{name:22} last 8 min {growth:+6.1%}   minute:MiB {minutes}{restarted}")
        if growth > MEMORY_GROWTH_MAX:
            grown.append(f"{name} grew {growth:+.1%} over the last 8 minutes")
    return lines, grown


def problems(run: Run) -> list[str]:
    """Each broken rule of issue 21's "Must show", as a sentence; empty when the run passes."""
    found = []
    five_hundreds = sum(r.status == 500 for r in run.requests)
    if five_hundreds:
        found.append(f"{five_hundreds} responses with status 500")
    for check, count in sorted(run.checks.items()):
        if check != LOST:  # a client logged out by a fault, not a broken chain
            found.append(f"{count} x {check}")
    for request in run.requests:
        where = phase(run, request.time)
        if where == "steady" and unexpected(request):
            found.append(f"steady: {request.name} answered {request.status}")
        elif where == "fault" and unexpected(request) and request.status not in FAULT_STATUSES:
            found.append(f"fault window: {request.name} answered {request.status}")
        if request.status in RETRY_AFTER_REQUIRED and not request.retry_after:
            found.append(f"{request.name} answered {request.status} without Retry-After")
    _, grown = memory_table(run)
    return _summarised(found) + grown


def _summarised(found: list[str]) -> list[str]:
    return [
        f"{line} ({count} times)" if count > 1 else line for line, count in Counter(found).items()
    ]


def report(run: Run) -> tuple[str, bool]:
    """Return the printed report and whether the run passed."""
    lines = ["== per endpoint (ms)", *endpoint_table(run), "", "== by phase", *phase_table(run)]
    if run.faults:
        lines += [
            "",
            "== faults (recovery: back to 0 unexpected answers within 10 s)",
            *fault_table(run),
        ]
    memory, _ = memory_table(run)
    if memory:
        lines += ["", "== memory (docker stats, each minute)", *memory]
    checks = ", ".join(f"{count} {name}" for name, count in sorted(run.checks.items()))
    lines += ["", f"refresh chain checks: {checks or 'no broken chain, no lost rotation'}"]
    found = problems(run)
    lines += ["", "PASSED" if not found else "FAILED:", *(f"  - {line}" for line in found)]
    return "\n".join(lines), not found

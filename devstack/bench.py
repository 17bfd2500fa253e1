"""Measuring HTTP targets with wrk for `make bench-http`: rounds in a shuffled order, medians
of requests per second and of the CPU a request costs, and the ratios between targets.

scripts/bench_http.py declares what is measured (its Target and Ratio lists); this module
only measures and prints. Standard library only.
"""

import os
import platform
import random
import re
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# What to install when a program is missing: the bench never installs anything itself.
INSTALL_HINTS = {"wrk": "apt-get install wrk", "nginx": "apt-get install nginx-light"}


@dataclass(frozen=True)
class Target:
    """A URL that wrk loads; auth: it needs a fresh access token; servers: the processes that
    answer it, whose CPU a request costs (none: no CPU figure)."""

    name: str
    url: str
    auth: bool
    servers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Ratio:
    """measured / against, the names of two Targets; with a bound, a rule ("goal",
    "shortcut") that the ratio must reach, printed as met or MISSED."""

    label: str
    measured: str
    against: str
    rule: str = ""
    bound: float = 0


@dataclass
class Results:
    """Each target's requests per second and CPU µs a request, one value a round."""

    rps: dict[str, list[float]]
    cpu: dict[str, list[float]]

    def median_rps(self, name: str) -> float:
        return statistics.median(self.rps[name])

    def median_cpu(self, name: str) -> float | None:
        return statistics.median(self.cpu[name]) if self.cpu.get(name) else None


def wait_answering(url: str, process: subprocess.Popen, name: str, timeout: float = 60) -> None:
    """Return once url answers with any HTTP status; raise SystemExit if process exits or
    nothing answers within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {name} exited during start")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  (our own local stack)
                return
        except urllib.error.HTTPError:  # a 401 or 404 is an answer too
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bench: {name} did not answer {url}")


def cpu_seconds(pids: Sequence[int]) -> float:
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


def wrk_parse(output: str) -> tuple[float, int]:
    """Return the requests per second and the count of requests of wrk's output.

    Raises ValueError if any answer was not a 2xx or a socket failed.
    """
    if "Non-2xx" in output or "Socket errors" in output:
        raise ValueError(f"answered errors under load:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), requests


def wrk(url: str, token: str | None, *, connections: int, duration: int) -> tuple[float, int]:
    """Load url with wrk (2 threads); return its requests per second and count of requests."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    try:
        return wrk_parse(output)
    except ValueError as error:
        raise SystemExit(f"bench: {url} {error}") from None


def rounds_run(
    targets: Sequence[Target],
    token: Callable[[], str],
    *,
    rounds: int,
    connections: int,
    duration: int,
) -> Results:
    """Load every target once a round, in an order shuffled each round (seeded, so two runs
    alternate alike); token() gives a fresh access token to each target that needs one."""
    results = Results({t.name: [] for t in targets}, {t.name: [] for t in targets if t.servers})
    shuffler = random.Random(2024)
    for round_number in range(rounds):
        order = list(targets)
        shuffler.shuffle(order)
        for target in order:
            bearer = token() if target.auth else None
            before = cpu_seconds(target.servers)
            rate, requests = wrk(target.url, bearer, connections=connections, duration=duration)
            results.rps[target.name].append(rate)
            if target.servers:
                used = cpu_seconds(target.servers) - before
                results.cpu[target.name].append(used / requests * 1e6)
        print(f"  round {round_number + 1}/{rounds} done", flush=True)
    return results


def results_table(results: Results) -> str:
    """Return one line per target: its medians and the requests per second of each round."""
    lines = [f"{'target':<32} {'rps':>7} {'CPU µs/req':>10}   rps of each round"]
    for name, values in results.rps.items():
        rounds = " ".join(f"{v:,.0f}" for v in values)
        cost = results.median_cpu(name)
        used = "-" if cost is None else f"{cost:,.0f}"
        lines.append(f"{name:<32} {results.median_rps(name):>7,.0f} {used:>10}   {rounds}")
    return "\n".join(lines)


def ratio_line(results: Results, ratio: Ratio) -> str:
    """Return ratio's line: measured/against by requests per second and, where both targets
    have a CPU figure, by CPU a request; with the verdict of its bound."""
    found = [results.median_rps(ratio.measured) / results.median_rps(ratio.against)]
    text = f"{ratio.label:<40} {found[0]:5.2f}x rps"
    measured_cpu, against_cpu = (
        results.median_cpu(ratio.measured),
        results.median_cpu(ratio.against),
    )
    if measured_cpu is not None and against_cpu is not None:
        found.append(against_cpu / measured_cpu)
        text += f", {found[1]:5.2f}x by CPU a request"
    if ratio.bound:
        verdicts = " / ".join("met" if value >= ratio.bound else "MISSED" for value in found)
        text += f" ({ratio.rule} >= {ratio.bound}x: {verdicts})"
    return text


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """Return the machine's CPUs, kernel and load average, for the first line of a run."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    kernel = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({cpu}), {kernel}, load {load_average()}"

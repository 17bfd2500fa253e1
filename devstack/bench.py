"""Measuring HTTP targets with wrk for `make bench-http`: rounds in a shuffled order, medians
of requests per second and of the CPU a request costs, and the ratios between targets.

scripts/bench_http.py declares what is measured (its Target and Ratio lists); this module
only measures and prints. Standard library only, and wrk's script for the refresh targets
(wrk_refresh.lua, beside it).
"""

import json
import os
import platform
import random
import re
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

# What to install when a program is missing: the bench never installs anything itself.
INSTALL_HINTS = {"wrk": "apt-get install wrk", "nginx": "apt-get install nginx-light"}
WRK_THREADS = 2
# wrk's script for the refresh targets: chains of refresh tokens, each used once.
REFRESH_SCRIPT = Path(__file__).with_name("wrk_refresh.lua")
# A browser's User-Agent (Chrome's on Linux), sent with every refresh and the logins that start
# its chains, so that what a session stores of its client is as long as in real use.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@dataclass(frozen=True)
class Target:
    """A URL that wrk loads; auth: it needs a fresh access token; servers: the processes that
    answer it, whose CPU a request costs (none: no CPU figure)."""

    name: str
    url: str
    auth: bool
    servers: tuple[int, ...] = ()
    # Set: url is a refresh endpoint, POSTed along chains of refresh tokens (REFRESH_SCRIPT)
    # that each run starts afresh, with logins at this URL.
    login: str = ""
    # Set: loaded at the same time as the target of this name, half the connections each, so
    # that whatever else weighs on the machine and the database meanwhile (a checkpoint, an
    # autovacuum) weighs on both alike: an A/B of two servers.
    together: str = ""


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
    """Each target's requests per second and CPU µs a request, one value a round; the
    refresh targets' count of answers by status, over all rounds."""

    rps: dict[str, list[float]]
    cpu: dict[str, list[float]]
    answers: dict[str, Counter] = field(default_factory=dict)

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


def programs_missing(**found: str | None) -> str:
    """Return a line for each program that was not found (name: its path, or None), saying
    what to install (INSTALL_HINTS); "" when every one was."""
    return "\n".join(
        f"bench: {name} is missing: {INSTALL_HINTS[name]}"
        for name, path in found.items()
        if not path
    )


def server_spawn(name: str, logs: Path, command: list[str], **options: object) -> subprocess.Popen:
    """Start command, its output appended to the file of logs named after name.

    Each server in its own session, as the stack's programs are: with Linux's autogroup
    scheduling a session shares the CPU as one, and the same session as wrk doubled a
    server's requests per second on a loaded machine.
    """
    with (logs / f"{name.replace(' ', '-')}.log").open("ab") as log:  # the child has its own
        return subprocess.Popen(  # noqa: S603
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **options
        )


def requirements_install(python: str, requirements: Path, site: Path) -> Path:
    """Install the hash-locked requirements into the folder site (for PYTHONPATH), with the
    pip of python, the interpreter that will import them; return site."""
    pip = "-m pip install --quiet --disable-pip-version-check --no-deps --require-hashes"
    subprocess.run(  # noqa: S603
        [python, *pip.split(), "--target", str(site), "-r", str(requirements)],
        check=True,
        capture_output=True,
    )
    return site


def post_json(url: str, body: dict) -> dict:
    """POST body as JSON to url (with USER_AGENT); return the JSON answer."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (our own stack)
        return json.loads(response.read())


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


def wrk_answers(output: str) -> Counter:
    """Return the count of answers by status that REFRESH_SCRIPT printed in wrk's output.

    Raises ValueError if it printed none, or any status but 200.
    """
    found = re.search(r"^answers: (.*)$", output, re.MULTILINE)
    if found is None:
        raise ValueError(f"printed no answers:\n{output}")
    answers = Counter()
    for part in found.group(1).split():
        status, count = part.split("=")
        answers[int(status)] += int(count)
    if set(answers) != {200}:
        raise ValueError(f"answered {dict(sorted(answers.items()))}, not only 200:\n{output}")
    return answers


def refresh_pools(tokens: Sequence[str], threads: int) -> str:
    """Return the lines of REFRESH_SCRIPT's token file: one a thread, tokens dealt in turn."""
    return "".join(" ".join(tokens[thread::threads]) + "\n" for thread in range(threads))


def wrk(
    url: str,
    token: str | None,
    *,
    connections: int,
    duration: int,
    refresh_tokens: Sequence[str] = (),
) -> tuple[float, int, Counter]:
    """Load url with wrk (WRK_THREADS threads), with token as Bearer, or with REFRESH_SCRIPT
    along chains that start with refresh_tokens; return its requests per second, count of
    requests, and the refresh answers by status (none without refresh_tokens)."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".tokens") as pools:
        environment = dict(os.environ)
        if refresh_tokens:
            pools.write(refresh_pools(refresh_tokens, WRK_THREADS))
            pools.flush()
            command[1:1] = ["-s", str(REFRESH_SCRIPT)]
            environment.update(BENCH_REFRESH_TOKENS=pools.name, BENCH_USER_AGENT=USER_AGENT)
        output = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, check=True, env=environment
        ).stdout
    try:
        answers = wrk_answers(output) if refresh_tokens else Counter()
        return (*wrk_parse(output), answers)
    except ValueError as error:
        raise SystemExit(f"bench: {url} {error}") from None


def rounds_run(
    targets: Sequence[Target],
    token: Callable[[], str],
    *,
    rounds: int,
    connections: int,
    duration: int,
    refresh_tokens: Callable[[str, int], list[str]] | None = None,
) -> Results:
    """Load every target once a round, in an order shuffled each round (seeded, so two runs
    alternate alike), and targets named `together` at once; token() gives a fresh access
    token to each target that needs one, and refresh_tokens(login, count) the refresh tokens
    of count fresh logins at the URL login to each refresh target (Target.login), count being
    one more a wrk thread than its connections."""
    results = Results({t.name: [] for t in targets}, {t.name: [] for t in targets if t.servers})
    shuffler = random.Random(2024)
    for round_number in range(rounds):
        order = list(targets)
        shuffler.shuffle(order)
        loaded: set[str] = set()
        for target in order:
            if target.name in loaded:
                continue
            group = [
                t
                for t in targets
                if t is target or target.name == t.together or target.together == t.name
            ]
            loaded.update(t.name for t in group)
            share = connections // len(group)
            # Tokens and chains first, so that the loads of a group start together.
            prepared = [
                (
                    t,
                    token() if t.auth else None,
                    refresh_tokens(t.login, share + WRK_THREADS) if t.login else (),
                )
                for t in group
            ]
            before = [cpu_seconds(t.servers) for t in group]
            options = {"connections": share, "duration": duration}
            with ThreadPoolExecutor(len(group)) as pool:
                loads = [
                    pool.submit(wrk, t.url, bearer, refresh_tokens=chains, **options)
                    for t, bearer, chains in prepared
                ]
            for t, load, cpu_before in zip(group, loads, before, strict=True):
                rate, requests, answers = load.result()
                results.rps[t.name].append(rate)
                if t.login:
                    results.answers.setdefault(t.name, Counter()).update(answers)
                if t.servers:
                    used = cpu_seconds(t.servers) - cpu_before
                    results.cpu[t.name].append(used / requests * 1e6)
        print(f"  round {round_number + 1}/{rounds} done", flush=True)
    return results


def results_table(results: Results) -> str:
    """Return one line per target: its medians and the requests per second of each round;
    then the refresh targets' answers by status."""
    width = max([32, *map(len, results.rps)])
    lines = [f"{'target':<{width}} {'rps':>7} {'CPU µs/req':>10}   rps of each round"]
    for name, values in results.rps.items():
        rounds = " ".join(f"{v:,.0f}" for v in values)
        cost = results.median_cpu(name)
        used = "-" if cost is None else f"{cost:,.0f}"
        lines.append(f"{name:<{width}} {results.median_rps(name):>7,.0f} {used:>10}   {rounds}")
    for name, answers in results.answers.items():
        lines.append(f"answers of {name}, all rounds: {dict(sorted(answers.items()))}")
    return "\n".join(lines)


def wrk_header(rounds: int, connections: int, duration: int) -> str:
    """Return the line that says how rounds_run loads the targets."""
    return (
        f"wrk: {WRK_THREADS} threads, {connections} connections, {duration} s per target, "
        f"{rounds} rounds in shuffled order; medians of requests per second and of the CPU "
        "that the answering processes used per request"
    )


def report(results: Results, ratios: Sequence[Ratio], load_after: str) -> str:
    """Return what a run prints at its end: the results table, the load average after the
    run, and a line per ratio, each block after an empty line."""
    lines = ["", results_table(results), f"load average after the run: {load_after}", ""]
    return "\n".join(lines + [ratio_line(results, ratio) for ratio in ratios])


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

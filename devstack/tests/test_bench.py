"""devstack.bench: reading wrk's output, the CPU a process tree used, the ratios' verdicts,
the refresh script's chains."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.bench import (
    USER_AGENT,
    Ratio,
    Results,
    Target,
    cpu_seconds,
    programs_missing,
    ratio_line,
    refresh_pools,
    report,
    results_table,
    rounds_run,
    server_spawn,
    wait_answering,
    wrk,
    wrk_answers,
    wrk_parse,
)

# wrk 4.2's report of a run (the layout its src/wrk.c prints).
WRK_REPORT = """\
Running 5s test @ http://127.0.0.1:8000/health
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.31ms    1.02ms  21.44ms   91.17%
    Req/Sec    12.58k     2.11k   16.30k    70.00%
  125188 requests in 5.00s, 21.49MB read
Requests/sec:  25034.21
Transfer/sec:      4.30MB
"""


def test_wrk_report_gives_requests_per_second_and_their_count():
    assert wrk_parse(WRK_REPORT) == (25034.21, 125188)


def test_wrk_report_with_a_non_2xx_answer_is_refused():
    report = WRK_REPORT.replace("Requests/sec", "  Non-2xx or 3xx responses: 3\nRequests/sec")

    with pytest.raises(ValueError, match="answered errors under load"):
        wrk_parse(report)


def test_cpu_seconds_counts_the_descendants_of_a_process():
    burn = (
        "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"
        "print('burnt', flush=True)\ntime.sleep(30)"
    )
    # A shell whose child burns 0.6 s of CPU, then stays (an exited child's CPU leaves
    # /proc); the shell itself uses next to none. /proc counts in ticks (10 ms), which the
    # 0.1 s over the 0.5 asserted leaves room for.
    command = ["/bin/sh", "-c", f'{sys.executable} -c "{burn}"; echo exited']
    options = {"stdout": subprocess.PIPE, "text": True, "start_new_session": True}
    with subprocess.Popen(command, **options) as parent:  # noqa: S603
        try:
            assert parent.stdout.readline() == "burnt\n"
            assert cpu_seconds([parent.pid]) >= 0.5
        finally:
            os.killpg(parent.pid, signal.SIGKILL)


def test_wait_answering_stops_when_the_program_exits():
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()

    with pytest.raises(SystemExit, match="peer exited during start"):
        wait_answering("http://127.0.0.1:9/", exited, "peer")


RESULTS = Results(
    rps={"fast": [300.0, 200.0, 100.0], "slow": [100.0, 100.0, 150.0], "db": [50.0]},
    cpu={"fast": [10.0, 20.0, 30.0], "slow": [50.0, 40.0, 60.0]},
)


def test_ratio_is_of_medians_by_requests_and_by_cpu_a_request():
    line = ratio_line(RESULTS, Ratio("fast vs slow", "fast", "slow"))

    assert line == f"{'fast vs slow':<40}  2.00x rps,  2.50x by CPU a request"


def test_ratio_under_its_bound_is_missed():
    line = ratio_line(RESULTS, Ratio("slow vs fast", "slow", "fast", "goal", 0.45))

    assert line.endswith("(goal >= 0.45x: met / MISSED)")


def test_ratio_without_a_cpu_figure_gives_requests_per_second_only():
    line = ratio_line(RESULTS, Ratio("db vs fast", "db", "fast", "shortcut", 1.3))

    assert line.endswith(" 0.25x rps (shortcut >= 1.3x: MISSED)")


def test_ratio_report_has_the_table_the_load_and_a_line_a_ratio():
    ratios = [Ratio("fast vs slow", "fast", "slow"), Ratio("db vs fast", "db", "fast")]

    text = report(RESULTS, ratios, "1.00, 2.00, 3.00")

    assert text.split("\n")[1].startswith("target")
    assert "\nload average after the run: 1.00, 2.00, 3.00\n\n" in text
    assert text.endswith(ratio_line(RESULTS, ratios[1]))


def test_results_table_widens_to_its_longest_name_and_gives_the_answers():
    name = "direct /api/refresh/, without anything at all"
    results = Results(rps={"fast": [1.0], name: [2.0]}, cpu={}, answers={name: Counter({200: 7})})

    lines = results_table(results).split("\n")

    assert lines[1].index("1 ") == lines[2].index("2 ") == len(name) + 7  # the rps column
    assert lines[-1] == f"answers of {name}, all rounds: {{200: 7}}"


def test_programs_missing_name_what_to_install():
    assert programs_missing(nginx="/usr/sbin/nginx", wrk="/usr/bin/wrk") == ""
    assert programs_missing(nginx=None, wrk="/usr/bin/wrk") == (
        "bench: nginx is missing: apt-get install nginx-light"
    )


def test_server_spawn_runs_in_a_session_of_its_own_logging_to_its_file(tmp_path):
    command = [sys.executable, "-c", "import os; print(os.getsid(0))"]
    with server_spawn("a peer", tmp_path, command) as process:
        process.wait(10)

    assert (tmp_path / "a-peer.log").read_text() == f"{process.pid}\n"


def test_refresh_answers_are_counted_by_status():
    output = WRK_REPORT + "answers: 200=125188\n"

    assert wrk_answers(output) == Counter({200: 125188})


@pytest.mark.parametrize("answers", ["answers: 200=10 401=3\n", "answers: 400=3\n", ""])
def test_refresh_answers_other_than_200_or_none_are_refused(answers):
    with pytest.raises(ValueError, match=r"not only 200|printed no answers"):
        wrk_answers(WRK_REPORT + answers)


def test_refresh_pools_deal_the_tokens_in_turn_a_line_a_thread():
    assert refresh_pools(["a", "b", "c", "d", "e"], 2) == "a c e\nb d\n"


class _Server(ThreadingHTTPServer):
    """A test server that keeps quiet when wrk drops its connections at the end of a run."""

    def handle_error(self, request, client_address) -> None:
        pass


class _Chains(BaseHTTPRequestHandler):
    """A refresh endpoint that accepts each token once (a replay is a 401) and logs the
    User-Agent of every request."""

    protocol_version = "HTTP/1.1"
    live: set[str] = set()
    agents: set[str] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:
        token = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["refresh_token"]
        rotated = str(uuid.uuid4())
        with self.lock:
            known = token in self.live
            self.live.discard(token)
            if known:
                self.live.add(rotated)
            self.agents.add(self.headers["User-Agent"])
        body = json.dumps({"access_token": "x", "refresh_token": rotated}).encode()
        status = "200 OK" if known else "401 Unauthorized"
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        self.wfile.write(head + body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def chains_server():
    server = _Server(("127.0.0.1", 0), _Chains)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_refresh_chains_never_send_a_token_twice_given_one_spare_a_thread(chains_server):
    """Every answer is a 200 when each thread's pool holds a token more than its connections
    (wrk calls request() once before the run). Without the spare a connection may run dry,
    or may not: an answer can refill the pool before that connection sends, so that case is
    a race and not tested."""
    tokens = [str(uuid.uuid4()) for _ in range(8 + 2)]
    _Chains.live.update(tokens)
    url = f"http://127.0.0.1:{chains_server.server_port}/api/refresh/"

    answers = wrk(url, None, connections=8, duration=1, refresh_tokens=tokens)[2]

    assert answers[200] > len(tokens)
    assert _Chains.agents == {USER_AGENT}


class _Clocked(BaseHTTPRequestHandler):
    """A GET endpoint that notes when each request arrived, by path."""

    protocol_version = "HTTP/1.1"
    arrived: dict[str, list[float]] = {}

    def do_GET(self) -> None:
        self.arrived.setdefault(self.path, []).append(time.monotonic())
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def log_message(self, *args) -> None:
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_targets_named_together_are_loaded_at_the_same_time_and_the_rest_in_turn():
    server = _Server(("127.0.0.1", 0), _Clocked)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    targets = [
        Target("a", f"{base}/a", False, together="b"),
        Target("b", f"{base}/b", False),
        Target("c", f"{base}/c", False),
    ]
    try:
        results = rounds_run(targets, lambda: "", rounds=1, connections=4, duration=1)
    finally:
        server.shutdown()
        server.server_close()

    spans = {path: (min(times), max(times)) for path, times in _Clocked.arrived.items()}
    assert all(results.rps[name] for name in "abc")
    (a_start, a_end), (b_start, b_end), (c_start, c_end) = spans["/a"], spans["/b"], spans["/c"]
    assert max(a_start, b_start) < min(a_end, b_end)  # overlapping
    assert c_end < min(a_start, b_start) or c_start > max(a_end, b_end)  # alone

"""devstack.bench: reading wrk's output, the CPU a process tree used, the ratios' verdicts."""

import os
import signal
import subprocess
import sys

import pytest

from devstack.bench import Ratio, Results, cpu_seconds, ratio_line, wait_answering, wrk_parse

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
        "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
        "print('burnt', flush=True)\ntime.sleep(30)"
    )
    # A shell whose child burns half a second of CPU, then stays (an exited child's CPU
    # leaves /proc); the shell itself uses next to none.
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

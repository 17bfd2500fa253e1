"""Request records (app/request_records.py and app/http_metrics.py, vendored byte-identical in
the auth service, so tested here once): each request's line and metrics, written in batches."""

import io
import json
import logging
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from app.http_metrics import histogram_observed
from app.logs import REQUEST_ID, REQUEST_LOGGER
from app.metrics import TOKEN_CACHE_HIT
from app.request_records import FLUSH_INTERVAL, REQUESTS, RequestRecords
from devstack.teststack import free_port
from tests.conftest import PUBLIC_KEYS

LABELS = {"route": "/score", "method": "GET", "status": "200"}


@pytest.fixture
def lines():
    """What the request logger's handler is given, as one text, from now on."""
    REQUESTS.flush()  # the app's requests of earlier tests
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    REQUEST_LOGGER.addHandler(handler)
    yield stream
    REQUEST_LOGGER.removeHandler(handler)


def records(log_format="json", *, log=True, metrics=True) -> RequestRecords:
    recorded = RequestRecords()
    recorded.configure(log_format=log_format, log=log, metrics=metrics)
    return recorded


def finished(recorded: RequestRecords, *, request_id="req-17", status=200) -> None:
    token = REQUEST_ID.set(request_id)
    recorded.request_started()
    recorded.request_finished(
        method="GET", route="/score", status=status, duration=0.0042, user_id="42"
    )
    REQUEST_ID.reset(token)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_flush_writes_one_json_line_a_request_with_its_fields(lines):
    recorded = records()
    finished(recorded, request_id="req-1")
    finished(recorded, request_id="req-2", status=422)

    recorded.flush()

    first, second = (json.loads(line) for line in lines.getvalue().splitlines())
    assert {k: v for k, v in first.items() if k != "time"} == {
        "level": "INFO",
        "logger": "request",
        "message": "GET /score 200 4.2ms",
        "request_id": "req-1",
        "method": "GET",
        "route": "/score",
        "status": 200,
        "duration_ms": 4.2,
        "user_id": "42",
    }
    assert (second["request_id"], second["status"]) == ("req-2", 422)


def test_the_time_of_a_line_is_when_the_request_finished_as_logging_writes_it(lines):
    recorded = records()
    finished(recorded)
    recorded.flush()
    written = json.loads(lines.getvalue())["time"]

    record = logging.LogRecord("x", logging.INFO, "", 0, "", (), None)
    formatted = logging.Formatter().formatTime(record)
    assert len(written) == len(formatted)
    assert abs(time.mktime(time.strptime(written[:19], "%Y-%m-%d %H:%M:%S")) - time.time()) < 5


def test_a_text_line_has_the_fields_of_the_text_format(lines):
    recorded = records("text")
    finished(recorded, request_id="req-3")

    recorded.flush()

    assert lines.getvalue().endswith(" INFO request [req-3] GET /score 200 4.2ms\n")


def test_nothing_is_written_before_a_flush_or_twice_after_it(lines):
    recorded = records()
    finished(recorded)
    assert lines.getvalue() == ""

    recorded.flush()
    recorded.flush()

    assert len(lines.getvalue().splitlines()) == 1


def test_the_lines_are_written_within_the_flush_interval_without_a_call(lines):
    recorded = records()
    finished(recorded, request_id="req-unflushed")

    deadline = time.monotonic() + FLUSH_INTERVAL * 5
    while "req-unflushed" not in lines.getvalue():
        assert time.monotonic() < deadline, "the flusher thread wrote nothing"
        time.sleep(0.05)


def test_a_flush_counts_the_requests_and_their_durations():
    before = value("http_requests_total", **LABELS)
    slow = value("http_request_duration_seconds_bucket", **LABELS, le="0.005")
    recorded = records()
    for _ in range(3):
        finished(recorded)

    recorded.flush()

    assert value("http_requests_total", **LABELS) == before + 3
    assert value("http_request_duration_seconds_bucket", **LABELS, le="0.005") == slow + 3


def test_a_counter_counted_in_a_batch_is_added_at_the_flush():
    before = value("score_token_cache_lookups_total", result="hit")
    recorded = records()
    recorded.counted(TOKEN_CACHE_HIT)
    recorded.counted(TOKEN_CACHE_HIT)
    assert value("score_token_cache_lookups_total", result="hit") == before

    recorded.flush()

    assert value("score_token_cache_lookups_total", result="hit") == before + 2


def test_requests_in_flight_are_those_started_and_not_finished():
    recorded = records()
    recorded.request_started()
    finished(recorded)  # started and finished

    recorded.flush()

    assert value("http_requests_in_flight") == 1


def test_log_requests_off_writes_no_line_but_counts(lines):
    before = value("http_requests_total", **LABELS)
    recorded = records(log=False)
    finished(recorded)

    recorded.flush()

    assert lines.getvalue() == ""
    assert value("http_requests_total", **LABELS) == before + 1


def test_metrics_off_counts_nothing_but_writes_the_line(lines):
    before = value("http_requests_total", **LABELS)
    hits = value("score_token_cache_lookups_total", result="hit")
    recorded = records(metrics=False)
    finished(recorded)
    recorded.counted(TOKEN_CACHE_HIT)

    recorded.flush()

    assert value("http_requests_total", **LABELS) == before
    assert value("score_token_cache_lookups_total", result="hit") == hits
    assert len(lines.getvalue().splitlines()) == 1


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT must be json or text"):
        RequestRecords().configure(log_format="xml", log=True, metrics=True)


def test_many_amounts_at_once_fill_a_histogram_as_observing_each_does():
    registry = CollectorRegistry()
    one_by_one = Histogram("one", "", ["x"], registry=registry).labels("a")
    at_once = Histogram("all", "", ["x"], registry=registry).labels("a")
    amounts = [0.0, 0.005, 0.0051, 10.0, 11.0, 1e-9] + [random.uniform(0, 12) for _ in range(500)]

    for amount in amounts:
        one_by_one.observe(amount)
    histogram_observed(at_once, amounts)

    def samples(name: str) -> dict:
        (metric,) = (m for m in registry.collect() if m.name == name)
        return {(s.name.rpartition("_")[2], s.labels.get("le")): s.value for s in metric.samples}

    expected, got = samples("one"), samples("all")
    assert got.keys() == expected.keys()
    assert all(got[key] == pytest.approx(expected[key]) for key in expected)


def test_a_server_stopped_at_once_still_writes_the_line_of_its_last_request(tmp_path):
    port = free_port()
    env = {
        "PATH": "",
        "JWT_PUBLIC_KEYS": PUBLIC_KEYS,
        "LOG_FORMAT": "json",
        "METRICS_BIND": f"127.0.0.1:{free_port()}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "app.serve", "app.main:app", "--port", str(port)]
    server = subprocess.Popen(  # noqa: S603
        command,
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/score/health"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        last = urllib.request.Request(url, headers={"X-Request-ID": "the-last-one"})
        urllib.request.urlopen(last, timeout=2).close()  # noqa: S310
        server.send_signal(signal.SIGTERM)  # before the flusher's next second
        output, _ = server.communicate(timeout=30)
    finally:
        server.kill()

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (last_line,) = [line for line in lines if line.get("request_id") == "the-last-one"]
    assert (last_line["logger"], last_line["route"], last_line["status"]) == (
        "request",
        "/score/health",
        200,
    )

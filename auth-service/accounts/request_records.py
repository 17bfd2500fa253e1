"""Each finished request's line and HTTP metrics, written in batches; vendored byte-identical
as accounts/request_records.py and app/request_records.py (docs/observability.md).

A request only appends its record to this process's queue (REQUESTS.request_finished); a
thread writes the queue's lines in one write and adds their metrics every FLUSH_INTERVAL
seconds, and at exit or shutdown: nginx's `access_log ... buffer= flush=`. Written per
request, the line and the memory-mapped metrics cost the score service's fast path 40% of
its throughput; in batches they stay within its 0.9x goal (docs/performance.md). What a
batch holds is lost only if the process is killed within FLUSH_INTERVAL of those requests.
"""

import atexit
import collections
import logging
import os
import threading
import time
from collections.abc import Iterable

import orjson
from prometheus_client import Counter

from .http_metrics import HTTP_REQUESTS_IN_FLIGHT, http_requests_observed
from .logs import REQUEST_ID, REQUEST_LOGGER, log_format_check

FLUSH_INTERVAL = 1.0  # seconds


def request_lines(records: Iterable[tuple], log_format: str) -> str:
    """Return the lines of request records, each with its newline, in the fields and order
    of every other line (logs.py's logging_config); "time" as logging's default asctime."""
    lines = []
    second, clock = -1, ""
    json = log_format == "json"
    for route, method, status, duration, user_id, request_id, timestamp in records:
        if int(timestamp) != second:
            second = int(timestamp)
            clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        asctime = f"{clock},{int((timestamp - second) * 1000):03d}"
        duration_ms = duration * 1000
        message = f"{method} {route} {status} {duration_ms:.1f}ms"
        if not json:
            lines.append(f"{asctime} INFO {REQUEST_LOGGER.name} [{request_id}] {message}\n")
            continue
        line = {
            "time": asctime,
            "level": "INFO",
            "logger": REQUEST_LOGGER.name,
            "message": message,
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration_ms, 3),
            "user_id": user_id,
        }
        lines.append(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE).decode())
    return "".join(lines)


class RequestRecords:
    """This process's finished requests not yet written, and the requests being served."""

    def __init__(self) -> None:
        self.log_format = "text"
        self.log = self.metrics = True
        self._queue: collections.deque[tuple] = collections.deque()
        self._counted: collections.deque[Counter] = collections.deque()
        self._in_flight = 0
        self._in_flight_set: int | None = None  # the gauge's value, as this process last set it
        self._lock = threading.Lock()  # _in_flight, and one flush at a time
        self._flusher: threading.Thread | None = None

    def configure(self, *, log_format: str, log: bool, metrics: bool) -> None:
        """Set the lines' format (LOG_FORMAT) and whether lines (LOG_REQUESTS) and metrics
        (METRICS_ENABLED) are recorded at all."""
        log_format_check(log_format)
        self.log_format, self.log, self.metrics = log_format, log, metrics

    def request_started(self) -> None:
        if self.metrics:
            with self._lock:
                self._in_flight += 1

    def request_finished(
        self, *, method: str, route: str, status: int, duration: float, user_id: object = None
    ) -> None:
        """Queue the record of a finished request: `method` as http_method_label returns
        it, `route` its template, `duration` in seconds."""
        if not (self.log or self.metrics):
            return
        # The order http_requests_observed reads, then the line's own fields.
        self._queue.append(
            (route, method, status, duration, user_id, REQUEST_ID.get(), time.time())
        )
        with self._lock:
            if self.metrics:
                self._in_flight -= 1
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_forever, daemon=True)
                self._flusher.start()

    def counted(self, counter: Counter) -> None:
        """counter.inc(), in the next batch: for a counter that a fast request increments
        (a labelled child)."""
        if self.metrics:
            self._counted.append(counter)

    def flush(self) -> None:
        """Write the queued lines and add their metrics now."""
        with self._lock:
            records = [self._queue.popleft() for _ in range(len(self._queue))]
            counted = [self._counted.popleft() for _ in range(len(self._counted))]
            in_flight = self._in_flight
        if self.metrics:
            if in_flight != self._in_flight_set:
                HTTP_REQUESTS_IN_FLIGHT.set(in_flight)
                self._in_flight_set = in_flight
            for counter, count in collections.Counter(counted).items():
                counter.inc(count)
            http_requests_observed(record[:4] for record in records)
        if self.log and records:
            lines = request_lines(records, self.log_format)
            # The handlers the line would reach through logging: the console's, or pytest's.
            for handler in REQUEST_LOGGER.handlers or REQUEST_LOGGER.root.handlers:
                if not isinstance(handler, logging.StreamHandler):
                    continue
                handler.acquire()
                try:
                    handler.stream.write(lines)
                    handler.flush()
                finally:
                    handler.release()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL)
            try:
                self.flush()
            except Exception:  # that batch is lost, not the next ones
                logging.getLogger(__name__).exception("Request records not written.")

    def _forked(self) -> None:
        """In a forked child (gunicorn's workers): nothing queued, in flight or flushing."""
        self._queue.clear()
        self._counted.clear()
        self._in_flight = 0
        self._in_flight_set = None
        self._lock = threading.Lock()
        self._flusher = None


REQUESTS = RequestRecords()
os.register_at_fork(after_in_child=REQUESTS._forked)
atexit.register(REQUESTS.flush)

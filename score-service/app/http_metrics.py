"""The HTTP metrics both services share, vendored byte-identical as accounts/http_metrics.py
and app/http_metrics.py: the same names and labels in each (docs/observability.md).

`route` is the route template, never the raw path; `method` one of HTTP_METHODS, else
"other", so that no client can make up label values.
"""

import bisect
import collections
import math
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request reaching the app to its response, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "http_requests_in_flight", "Requests being served now.", multiprocess_mode="livesum"
)

# The label children by (route, method, status): .labels() takes a lock and checks its
# arguments on every call, and these few combinations recur on every request.
_children: dict[tuple[str, str, str], tuple] = {}


def http_method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


def http_requests_observed(requests: Iterable[tuple[str, str, int, float]]) -> None:
    """Count answered requests and their durations, each (route, method, status, duration in
    seconds) with `method` as http_method_label returns it: one write a series."""
    durations: dict[tuple[str, str, str], list[float]] = collections.defaultdict(list)
    for route, method, status, duration in requests:
        durations[(route, method, str(status))].append(duration)
    for key, observed in durations.items():
        children = _children.get(key)
        if children is None:
            children = _children.setdefault(
                key, (HTTP_REQUESTS.labels(*key), HTTP_REQUEST_DURATION.labels(*key))
            )
        children[0].inc(len(observed))
        histogram_observed(children[1], observed)


def histogram_observed(histogram: Histogram, amounts: list[float]) -> None:
    """histogram.observe(amount) for each of `amounts` (a labelled child), with one write a
    bucket rather than two an amount: in multiprocess mode each is a locked write to a
    memory-mapped file, the largest cost of recording the score service's requests.
    prometheus-client has no call for many amounts, so this reads the child's bounds and
    values as its observe() does (an amount counts in the first bucket whose bound is at
    least it); tests hold the two equal."""
    buckets = collections.Counter(bisect.bisect_left(histogram._upper_bounds, a) for a in amounts)
    histogram._sum.inc(math.fsum(amounts))
    for index, count in buckets.items():
        histogram._buckets[index].inc(count)

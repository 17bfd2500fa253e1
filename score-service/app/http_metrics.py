"""The HTTP metrics both services share, vendored byte-identical as accounts/http_metrics.py
and app/http_metrics.py: the same names and labels in each (docs/observability.md).

`route` is the route template, never the raw path; `method` one of HTTP_METHODS, else
"other", so that no client can make up label values.
"""

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


def http_request_observed(*, route: str, method: str, status: int, duration: float) -> None:
    """Count one answered request and its duration in seconds; `method` as
    http_method_label returns it."""
    key = (route, method, str(status))
    children = _children.get(key)
    if children is None:
        children = _children.setdefault(
            key, (HTTP_REQUESTS.labels(*key), HTTP_REQUEST_DURATION.labels(*key))
        )
    children[0].inc()
    children[1].observe(duration)

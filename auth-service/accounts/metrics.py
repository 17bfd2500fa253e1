"""The auth service's Prometheus metrics (docs/observability.md lists them).

Under gunicorn every worker writes its values to files in PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode, set up by gunicorn.conf.py), and the master serves
their sum on the metrics port; elsewhere (tests, manage.py) they live in the process.
"""

from prometheus_client import Counter, Gauge, Histogram

# The methods that get a label of their own; any other is counted as "other", so that a
# client cannot make up labels.
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
    "http_requests_in_flight",
    "Requests being served now.",
    multiprocess_mode="livesum",
)

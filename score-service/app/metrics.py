"""The score service's Prometheus metrics and the ASGI middleware that counts, times and logs
each request (docs/observability.md lists the metrics).

Under app/serve.py every uvicorn worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode) and the launcher serves
their sum on the metrics port; elsewhere (tests) they live in the process.
"""

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import REQUEST_ID, request_id_read, request_logged

# The same names and labels as the auth service's (accounts/metrics.py).
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
TOKEN_VERIFICATIONS = Counter(
    "score_token_verifications_total",
    "Access tokens checked against their signature and claims, by outcome: valid, expired, "
    "invalid, missing (no Authorization header), bad_header.",
    ["outcome"],
)
TOKEN_CACHE_LOOKUPS = Counter(
    "score_token_cache_lookups_total",
    "Lookups of a bearer token in the verified-token cache, by result: hit or miss (a miss "
    "verifies the token).",
    ["result"],
)
GAME_STAMPS = Gauge(
    "score_game_stamps",
    "Stamps of the loaded game.",
    multiprocess_mode="max",
)

UNMATCHED = "unmatched"
# ScoreFastPath answers GET /score without routing: its one route.
FAST_PATH_ROUTE = "/score"


class RequestObservation:
    """Outermost ASGI middleware: set the request id for the request's log records, then
    count, time and log the request, labelled with its route template, never its raw path.

    The settings METRICS_ENABLED and LOG_REQUESTS turn each part off (make bench-http
    measures their cost).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = request_id_read(value.decode("latin-1"))
                break
        token = REQUEST_ID.set(request_id)
        status = 500  # what the client gets if the app fails before it answers
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if settings.METRICS_ENABLED:
            HTTP_REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            duration = time.perf_counter() - start
            route = scope.get("route")
            if route is not None:
                template = route.path
            elif scope["path"] == FAST_PATH_ROUTE and status == 200:
                template = FAST_PATH_ROUTE
            else:
                template = UNMATCHED
            method = scope["method"] if scope["method"] in HTTP_METHODS else "other"
            if settings.METRICS_ENABLED:
                HTTP_REQUESTS_IN_FLIGHT.dec()
                labels = (template, method, str(status))
                HTTP_REQUESTS.labels(*labels).inc()
                HTTP_REQUEST_DURATION.labels(*labels).observe(duration)
            if settings.LOG_REQUESTS:
                user = scope.get("state", {}).get("user_id")
                request_logged(
                    method=method, route=template, status=status, duration=duration, user_id=user
                )
            REQUEST_ID.reset(token)

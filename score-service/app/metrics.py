"""The score service's own Prometheus metrics (the HTTP ones: app/http_metrics.py) and the
ASGI middleware that times each request and records it (app/request_records.py: its line
and metrics; docs/observability.md lists them).

Under app/serve.py every uvicorn worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode) and the launcher serves
their sum on the metrics port; elsewhere (tests) they live in the process.
"""

import time

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http_metrics import http_method_label
from app.logs import REQUEST_ID, request_id_read
from app.request_records import REQUESTS

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
# The children the hot path uses, resolved once (.labels() locks on every call).
TOKEN_CACHE_HIT = TOKEN_CACHE_LOOKUPS.labels("hit")
TOKEN_CACHE_MISS = TOKEN_CACHE_LOOKUPS.labels("miss")
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
    time the request and record it (app/request_records.py: its line and metrics), labelled
    with its route template, never its raw path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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

        REQUESTS.request_started()
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
            REQUESTS.request_finished(
                method=http_method_label(scope["method"]),
                route=template,
                status=status,
                duration=duration,
                user_id=scope.get("state", {}).get("user_id"),
            )
            REQUEST_ID.reset(token)

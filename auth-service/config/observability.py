"""The outermost middleware: each request's metrics, its log line and its request id."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from accounts.http_metrics import http_method_label
from accounts.logs import REQUEST_ID, request_id_read
from accounts.request_records import REQUESTS

UNMATCHED = "unmatched"


def route_template(request: HttpRequest) -> str:
    """Return the URL pattern the request matched ("/api/login/"), never its raw path: the
    label's values stay few. Static files (whitenoise answers before any URL is resolved)
    are "/static/"; a path nothing matched is "unmatched"."""
    match = request.resolver_match
    if match is not None and match.route:
        return "/" + match.route
    if request.path.startswith(settings.STATIC_URL):
        return settings.STATIC_URL
    return UNMATCHED


def user_id(request: HttpRequest) -> object:
    """Return the id of the user the request authenticated as, or None: never a lookup of its
    own (the admin's session user is read only if a view already read it)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return getattr(user, "pk", None)


class ObservabilityMiddleware:
    """Set the request id for the request's log records, then time the request and record
    it (accounts/request_records.py: its line and metrics).

    METRICS_ENABLED=0 leaves the metrics out and LOG_REQUESTS=0 the line (make bench-http
    measures their cost).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        REQUESTS.configure(
            log_format=settings.LOG_FORMAT,
            log=settings.LOG_REQUESTS,
            metrics=settings.METRICS_ENABLED,
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Django turns every exception into a response before it gets here.
        token = REQUEST_ID.set(request_id_read(request.headers.get("X-Request-ID")))
        start = time.perf_counter()
        REQUESTS.request_started()
        response = self.get_response(request)
        REQUESTS.request_finished(
            method=http_method_label(request.method),
            route=route_template(request),
            status=response.status_code,
            duration=time.perf_counter() - start,
            user_id=user_id(request),
        )
        REQUEST_ID.reset(token)
        return response

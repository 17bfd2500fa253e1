"""Middleware of the auth service."""

import json
import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.middleware import common

from accounts import metrics
from accounts.errors import MOVED_TO_SLASH
from accounts.exceptions import COMPACT_JSON, detail_response
from accounts.redis_outage import REDIS_DOWN_ERRORS

logger = logging.getLogger(__name__)

# InterfaceError: Django's "connection already closed"; OperationalError: every failure to
# reach PostgreSQL, a SQLite file that cannot be opened, or one still locked after the busy
# timeout (a busy one makes writers wait, config/settings.py). Redis errors only reach here
# from a write (the admin's Config page): reads fall back (accounts/redis_outage.py).
DATABASE_ERRORS = (OperationalError, InterfaceError)
DEPENDENCY_DOWN_ERRORS = (*DATABASE_ERRORS, *REDIS_DOWN_ERRORS)
UNAVAILABLE = "The service is temporarily unavailable. Try again shortly."
RETRY_AFTER_SECONDS = 5

# Methods whose request can be repeated at another URL without losing anything.
REDIRECTABLE_METHODS = ("GET", "HEAD")


class JSONPermanentRedirect(HttpResponsePermanentRedirect):
    """A 301 whose body says where to go, in JSON like every other answer of the API (Django's
    has an empty text/html body)."""

    def __init__(self, redirect_to: str, *args, **kwargs) -> None:
        super().__init__(redirect_to, *args, content_type="application/json", **kwargs)
        self.content = json.dumps({"detail": MOVED_TO_SLASH.format(path=self.url)}, **COMPACT_JSON)


class CommonMiddleware(common.CommonMiddleware):
    """Django's CommonMiddleware, but APPEND_SLASH redirects only GET and HEAD, with a JSON
    body.

    A 301 makes clients repeat a POST as a bodiless GET (and with DEBUG Django raises a
    RuntimeError instead), so `POST /api/login` would end in a confusing redirect or 500.
    Such a request gets the 404, whose JSON names the URL with the slash (config/urls.py).
    """

    response_redirect_class = JSONPermanentRedirect

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if request.method not in REDIRECTABLE_METHODS:
            return False
        return super().should_redirect_with_slash(request)


class ServiceUnavailableMiddleware:
    """A request that fails because the database or Redis cannot be reached gets a JSON 503 with
    Retry-After, not a 500: the client may try again, and nothing internal is named.

    DRF re-raises what its exception handler does not know, so API views end here too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DEPENDENCY_DOWN_ERRORS):
            return None
        if isinstance(exception, DATABASE_ERRORS):
            metrics.DATABASE_ERRORS.inc()
        logger.warning("%s %s: a dependency is down: %r", request.method, request.path, exception)
        response = detail_response(UNAVAILABLE, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

"""Middleware of the auth service."""

from django.http import HttpRequest
from django.middleware import common

# Methods whose request can be repeated at another URL without losing anything.
REDIRECTABLE_METHODS = ("GET", "HEAD")


class CommonMiddleware(common.CommonMiddleware):
    """Django's CommonMiddleware, but APPEND_SLASH redirects only GET and HEAD.

    A 301 makes clients repeat a POST as a bodiless GET (and with DEBUG Django raises a
    RuntimeError instead), so `POST /api/login` would end in a confusing redirect or 500.
    Such a request gets the 404, whose JSON names the URL with the slash (config/urls.py).
    """

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if request.method not in REDIRECTABLE_METHODS:
            return False
        return super().should_redirect_with_slash(request)

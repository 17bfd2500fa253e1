"""URLs of the auth service. Under /api/, errors are JSON, 400, 404 and 500 included."""

from django.contrib import admin
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.urls import include, is_valid_path, path
from django.views import defaults
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts import errors
from accounts.exceptions import detail_response
from accounts.views import JWKSView

urlpatterns = [
    # A person who opens the bare host (or the admin's "View site") lands on the API docs.
    path("", RedirectView.as_view(pattern_name="swagger-ui"), name="home"),
    path("api/", include("accounts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Our template: drf-spectacular's own loads Google Fonts, and these pages use no CDN.
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="accounts/redoc.html"),
        name="redoc",
    ),
    path("admin/", admin.site.urls),
    # The conventional place (RFC 8615 well-known URI) where verifiers look for our keys.
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
]


# Requests Django refuses before any view runs (SuspiciousOperation), as the client should read
# them; any other cause is a plain "Bad request.".
BAD_REQUEST_DETAILS = {
    DisallowedHost: "Host header is not allowed.",
    RequestDataTooBig: "Request body is too large.",
    TooManyFieldsSent: "Request has too many fields.",
}


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400 raised by Django itself: JSON under /api/, Django's page elsewhere (admin)."""
    if _is_api(request):
        detail = next(
            (text for kind, text in BAD_REQUEST_DETAILS.items() if isinstance(exception, kind)),
            "Bad request.",
        )
        return detail_response(detail, status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: JSON under /api/, Django's page elsewhere (admin).

    A POST, PUT or PATCH to an API URL without its trailing slash is not redirected (see
    config/middleware.py); the message names the right URL instead.
    """
    if _is_api(request):
        detail = errors.NOT_FOUND
        urlconf = getattr(request, "urlconf", None)
        if not request.path_info.endswith("/") and is_valid_path(f"{request.path_info}/", urlconf):
            detail = errors.NOT_FOUND_WITHOUT_SLASH.format(path=request.path)
        return detail_response(detail, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return detail_response("Internal server error.", status=500)
    return defaults.server_error(request)


handler400 = bad_request
handler404 = page_not_found
handler500 = server_error

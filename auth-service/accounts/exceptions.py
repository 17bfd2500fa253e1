"""DRF exception handler: DRF's, plus the rules of this API."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.token_contract import www_authenticate


class Unauthorized(exceptions.APIException):
    """A 401 raised by a view (login, refresh): credentials in the body were refused. It
    carries no `WWW-Authenticate`, which would invite the client to retry with an
    Authorization header, as an access token refusal does (RFC 6750 3)."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "unauthorized"


# DRF's JSONRenderer writes compact JSON, unescaped; Django's JsonResponse writes spaced JSON.
# One byte style for every error of the platform (docs/errors.md).
COMPACT_JSON = {"separators": (",", ":"), "ensure_ascii": False}


def detail_response(detail: str, *, status: int) -> JsonResponse:
    """`{"detail": "..."}` with `status`, in the bytes DRF would write: for the errors Django
    answers before or outside DRF."""
    return JsonResponse({"detail": detail}, status=status, json_dumps_params=COMPACT_JSON)


def exception_handler(exc, context):
    """Like DRF's, but a service's Django ValidationError is a 400 per field, and an access
    token refusal (DRF's NotAuthenticated or AuthenticationFailed, which DRF answers with a
    `WWW-Authenticate`) names its error code (RFC 6750 3.1)."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict)
    response = drf_exception_handler(exc, context)
    if response is not None and "WWW-Authenticate" in response:
        response["WWW-Authenticate"] = www_authenticate(
            str(exc.detail), realm=settings.JWT_AUDIENCE
        )
    return response

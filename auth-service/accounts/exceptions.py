"""DRF exception handler: DRF's, plus two rules of this API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class Unauthorized(exceptions.APIException):
    """A 401 raised by a view (login, refresh), as opposed to by authentication."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "unauthorized"


def exception_handler(exc, context):
    """Like DRF's, but a service's Django ValidationError is a 400 per field, and every 401
    carries `WWW-Authenticate: Bearer` (RFC 7235 3.1)."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict)
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.setdefault("WWW-Authenticate", "Bearer")
    return response

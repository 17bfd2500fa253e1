"""OpenAPI text (drf-spectacular) that views share: error responses, the access-token scheme,
and DELETE with a body."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from accounts.parsers import NOT_AN_OBJECT
from accounts.serializers import DetailSerializer


def detail_response(description: str, *examples: str) -> OpenApiResponse:
    """A `{"detail": "..."}` response, with one example for each text."""
    return OpenApiResponse(
        DetailSerializer,
        description=description,
        examples=[OpenApiExample(text, value={"detail": text}) for text in examples],
    )


def field_errors_response(description: str, example: dict) -> OpenApiResponse:
    """A 400 of DRF's per-field messages (or a detail, for a body that is not an object)."""
    return OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=(
            f"{description} A map of field name to a list of messages; a body that is not a "
            'JSON object gets `{"detail": "..."}` instead.'
        ),
        examples=[
            OpenApiExample("Field errors", value=example),
            OpenApiExample("Not a JSON object", value={"detail": NOT_AN_OBJECT}),
        ],
    )


MALFORMED = field_errors_response(
    "Malformed body: a missing field or a value of the wrong shape.",
    {"refresh_token": ["Must be a valid UUID."]},
)
THROTTLED = detail_response(
    "Too many requests; `Retry-After` tells how many seconds to wait.",
    "Request was throttled. Expected available in 42 seconds.",
)
BAD_ACCESS_TOKEN = detail_response(
    "Missing or refused access token: malformed, bad signature, expired, wrong issuer, "
    "audience or type, missing claim, unknown or inactive user. "
    "The response carries `WWW-Authenticate: Bearer realm=...`, with "
    '`error="invalid_token"` and the detail as `error_description` when a token was '
    "refused (RFC 6750 3.1).",
    "Authentication credentials were not provided.",
    "Token has expired.",
)


class AccessTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.AccessTokenAuthentication"
    name = "BearerAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="AUTHORIZATION",
            token_prefix="Bearer",  # noqa: S106 (a scheme name, not a password)
            bearer_format="JWT",
        )


class BodyOnDeleteAutoSchema(AutoSchema):
    """Documents a request body on DELETE too (`DELETE /api/me/` takes the current password);
    drf-spectacular describes bodies only for POST, PUT and PATCH."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

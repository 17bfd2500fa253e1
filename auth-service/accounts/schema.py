"""OpenAPI text (drf-spectacular) that views share: error responses, the access-token scheme,
DELETE with a body; and the declarations of the session and activity endpoints."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from accounts.errors import SESSION_ENDED
from accounts.parsers import NOT_AN_OBJECT
from accounts.serializers import DetailSerializer, SecurityEventSerializer, SessionSerializer


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
    "audience or type, missing claim, unknown or inactive user, or a session ended from "
    "elsewhere (not by a plain logout). The response carries `WWW-Authenticate: Bearer`.",
    "Authentication credentials were not provided.",
    "Token has expired.",
    SESSION_ENDED,
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


# --- Sessions and activity (accounts/views.py) -------------------------------------------------

SESSION_NOT_FOUND = detail_response(
    "No live session of the caller has this id: unknown, already ended or another user's, "
    "one answer for all three.",
    "Not found.",
)

SESSIONS_LIST = extend_schema(
    operation_id="sessions_list",
    summary="The current user's live sessions",
    description=(
        "One entry per session (a login and every refresh token rotated from it), newest "
        "activity first, paginated: where and when it logged in, was last refreshed and "
        "expires, and `current` for the session of the access token that asks."
    ),
    responses={200: SessionSerializer(many=True), 401: BAD_ACCESS_TOKEN},
)

SESSION_DESTROY = extend_schema(
    operation_id="sessions_destroy",
    summary="End one session",
    description=(
        "Revokes the session's refresh tokens; its access tokens are refused at once by this "
        "service (the score service, which verifies them alone, accepts them until they "
        "expire). Race-free against a concurrent refresh of the session."
    ),
    parameters=[
        OpenApiParameter(
            "session_id",
            str,
            OpenApiParameter.PATH,
            description="A session's `id`, as GET /api/sessions/ lists it.",
        )
    ],
    responses={
        204: OpenApiResponse(description="Ended."),
        401: BAD_ACCESS_TOKEN,
        404: SESSION_NOT_FOUND,
    },
)

SESSIONS_END_OTHERS = extend_schema(
    operation_id="sessions_end_others",
    summary="End every session but the current one",
    description=(
        "Log out everywhere else: every other session's refresh tokens are revoked and its "
        "access tokens refused at once by this service, race-free against concurrent "
        "refreshes and logins (as a password change). The current session stays."
    ),
    request=None,
    responses={204: OpenApiResponse(description="Ended."), 401: BAD_ACCESS_TOKEN},
)

ACTIVITY_LIST = extend_schema(
    operation_id="me_activity_list",
    summary="The current user's recent security events",
    description=(
        "Logins and failed logins, password changes and resets, email changes, ended "
        "sessions and refresh replays, newest first, paginated; each with its time, client "
        "address, User-Agent and outcome. Kept `SECURITY_EVENT_RETENTION_DAYS` (90)."
    ),
    responses={200: SecurityEventSerializer(many=True), 401: BAD_ACCESS_TOKEN},
)

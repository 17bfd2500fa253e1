"""The OpenAPI description (drf-spectacular) of every endpoint: one `extend_schema_view` per
view, applied in accounts/views.py with one line each, and what they share (error responses,
the access-token scheme, DELETE with a body)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from accounts import errors, serializers
from accounts.parsers import NOT_AN_OBJECT
from accounts.serializers import DetailSerializer
from accounts.tokens import JWKS_MAX_AGE


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


# --- The endpoints, in the order of accounts/urls.py -------------------------------------------

REGISTER = extend_schema_view(
    post=extend_schema(
        operation_id="register",
        summary="Create an account",
        request=serializers.RegisterInputSerializer,
        responses={
            201: serializers.RegisterOutputSerializer,
            400: field_errors_response(
                "Invalid or already registered email (case-insensitive), or a password that "
                "fails the password validators.",
                {"email": [errors.EMAIL_TAKEN]},
            ),
            429: THROTTLED,
        },
    )
)

LOGIN = extend_schema_view(
    post=extend_schema(
        operation_id="login",
        summary="Log in: get an access token and a refresh token",
        request=serializers.LoginInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            400: MALFORMED,
            401: detail_response(
                "Unknown email, wrong password or inactive user: one answer for all three. "
                "No `WWW-Authenticate`: the credentials were in the body.",
                errors.InvalidCredentialsError.message,
            ),
            403: detail_response(
                "Only with `REQUIRE_EMAIL_VERIFICATION`: the password is right but the email "
                "is not verified yet.",
                errors.EmailNotVerifiedError.message,
            ),
            429: THROTTLED,
        },
    )
)

REFRESH = extend_schema_view(
    post=extend_schema(
        operation_id="refresh",
        summary="Rotate a refresh token: get a new pair",
        description=(
            "The presented refresh token is revoked and a new access and refresh token are "
            "issued. Presenting an already revoked token again revokes every token descended "
            "from the same login."
        ),
        request=serializers.RefreshInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            400: field_errors_response(
                "Missing or malformed `refresh_token`, or an access token sent in its place.",
                {"refresh_token": [errors.ACCESS_TOKEN_AS_REFRESH_TOKEN]},
            ),
            401: detail_response(
                "Unknown, expired or revoked refresh token, or inactive user. No "
                "`WWW-Authenticate`: the token was in the body.",
                errors.RefreshTokenError.UNKNOWN,
                errors.RefreshTokenError.EXPIRED,
                errors.RefreshTokenError.REVOKED,
            ),
            429: THROTTLED,
        },
    )
)

LOGOUT = extend_schema_view(
    post=extend_schema(
        operation_id="logout",
        summary="Log out: revoke a refresh token",
        description=(
            "Revokes the refresh token; with `all: true`, every session of its user. An "
            "unknown, expired or already revoked token gets the same 200 (RFC 7009). Access "
            "tokens already issued stay valid until they expire."
        ),
        request=serializers.LogoutInputSerializer,
        responses={
            200: OpenApiResponse(
                serializers.LogoutOutputSerializer,
                examples=[OpenApiExample("Logged out", value={"success": errors.LOGGED_OUT})],
            ),
            400: MALFORMED,
        },
    )
)

# PUT and PATCH /api/me/ are one operation: absent fields stay unchanged either way.
_ME_UPDATE = {
    "summary": "Change the current user's username and/or email",
    "description": (
        "Only `username` and `email` are writable; absent fields stay unchanged. Changing the "
        "email (the login) needs a recent sign-in: within `REAUTHENTICATION_WINDOW` (default "
        "300 s) of this session's login or password change the access token alone will do; "
        "later, give `current_password`. The change ends every other session (their refresh "
        "tokens are revoked) and keeps this one."
    ),
    "request": serializers.UserUpdateInputSerializer,
    "responses": {
        200: serializers.UserSerializer,
        400: field_errors_response(
            "Invalid, too long or already registered email, too long username, or an email "
            "change outside the window without the right `current_password`.",
            {"current_password": [errors.REAUTHENTICATION_REQUIRED]},
        ),
        401: BAD_ACCESS_TOKEN,
        429: THROTTLED,
    },
}

ME = extend_schema_view(
    get=extend_schema(
        operation_id="me_retrieve",
        summary="The current user",
        responses={200: serializers.UserSerializer, 401: BAD_ACCESS_TOKEN},
    ),
    put=extend_schema(operation_id="me_update", **_ME_UPDATE),
    patch=extend_schema(operation_id="me_partial_update", **_ME_UPDATE),
    delete=extend_schema(
        operation_id="me_destroy",
        summary="Delete the current user",
        description=(
            "Deletes the user and every refresh token. Access tokens already issued cannot be "
            "revoked (they are verified without a lookup): they fail at `/api/me/` at once "
            "(unknown user), and elsewhere work until they expire."
        ),
        request=serializers.UserDeleteInputSerializer,
        responses={
            204: OpenApiResponse(description="Deleted."),
            400: field_errors_response(
                "Missing or wrong current password.",
                {"current_password": [errors.WRONG_CURRENT_PASSWORD]},
            ),
            401: BAD_ACCESS_TOKEN,
            429: THROTTLED,
        },
    ),
)

PASSWORD_CHANGE = extend_schema_view(
    post=extend_schema(
        operation_id="password_change",
        summary="Change the current user's password: get a fresh pair",
        description=(
            "Every refresh token of the user is revoked (every session ends) and a new pair is "
            "returned, so this client stays logged in."
        ),
        request=serializers.PasswordChangeInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            400: field_errors_response(
                "Wrong current password, or a new one refused by the password validators.",
                {"current_password": [errors.WRONG_CURRENT_PASSWORD]},
            ),
            401: BAD_ACCESS_TOKEN,
            429: THROTTLED,
        },
    )
)

_MALFORMED_EMAIL = field_errors_response(
    "Missing or malformed email.", {"email": ["Enter a valid email address."]}
)

PASSWORD_RESET = extend_schema_view(
    post=extend_schema(
        operation_id="password_reset",
        summary="Ask for a password reset link by mail",
        description=(
            "Mails a single-use link (`PASSWORD_RESET_URL`) to the account with this email, "
            "if there is one. The answer is the same, in about the same time, either way."
        ),
        request=serializers.MailRequestInputSerializer,
        responses={
            202: detail_response(
                "Accepted, whether or not the email is registered.", errors.RESET_REQUESTED
            ),
            400: _MALFORMED_EMAIL,
            429: THROTTLED,
        },
    )
)

# The page a mailed link opens in a browser (GET) is no API operation.
MAILED_LINK = extend_schema_view(get=extend_schema(exclude=True))

PASSWORD_RESET_CONFIRM = extend_schema_view(
    post=extend_schema(
        operation_id="password_reset_confirm",
        summary="Set a new password with a reset link",
        description="Every refresh token of the user is revoked (every session ends).",
        request=serializers.PasswordResetConfirmInputSerializer,
        responses={
            200: detail_response("The password is set.", errors.PASSWORD_RESET_DONE),
            400: field_errors_response(
                "A wrong, used or expired link, or a password refused by the validators.",
                {"token": [errors.LINK_INVALID]},
            ),
            429: THROTTLED,
        },
    )
)

EMAIL_VERIFY = extend_schema_view(
    post=extend_schema(
        operation_id="email_verify",
        summary="Verify an email address with the mailed link",
        request=serializers.LinkInputSerializer,
        responses={
            200: detail_response("The email is verified.", errors.EMAIL_VERIFIED),
            400: field_errors_response(
                "A wrong, used or expired link.", {"token": [errors.LINK_INVALID]}
            ),
            429: THROTTLED,
        },
    )
)

EMAIL_VERIFICATION_RESEND = extend_schema_view(
    post=extend_schema(
        operation_id="email_verification_resend",
        summary="Ask for a new email verification link",
        description=(
            "With `REQUIRE_EMAIL_VERIFICATION`, mails a new link (`EMAIL_VERIFICATION_URL`) "
            "to the unverified account with this email, if there is one. The answer is the "
            "same, in about the same time, either way."
        ),
        request=serializers.MailRequestInputSerializer,
        responses={
            202: detail_response(
                "Accepted, whether or not such an account exists.",
                errors.VERIFICATION_REQUESTED,
            ),
            400: _MALFORMED_EMAIL,
            429: THROTTLED,
        },
    )
)

HEALTH = extend_schema_view(
    get=extend_schema(
        operation_id="health",
        summary="Health of the service and what it depends on",
        description="Checks the database and the cache (Redis when configured).",
        responses={
            200: serializers.HealthSerializer,
            503: OpenApiResponse(
                serializers.HealthSerializer, description="The database or the cache is down."
            ),
        },
    )
)

JWKS = extend_schema_view(
    get=extend_schema(
        operation_id="jwks",
        summary="Public keys that verify access tokens (JWKS)",
        description=(
            "The JSON Web Key Set (RFC 7517) of the Ed25519 public keys that verify access "
            "tokens: pick the key whose `kid` the token's header names, and accept `alg` EdDSA "
            "only. Empty with `JWT_ALGORITHM` HS256, whose shared secret is never published. "
            f"Cacheable for {JWKS_MAX_AGE} seconds."
        ),
        responses={200: serializers.JWKSetSerializer},
    )
)

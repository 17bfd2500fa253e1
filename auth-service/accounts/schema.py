"""The OpenAPI description (drf-spectacular) of every endpoint: one `extend_schema_view` per
view, applied in accounts/views.py with one line each, and what they share (error responses,
examples that pass validation, the access-token scheme, DELETE with a body).

Messages are never retyped: ours come from accounts/errors.py and the token contract, DRF's
and Django's (a missing field, the password validators) from DRF and Django themselves.
"""

from django.contrib.auth.password_validation import password_validators_help_texts
from django.utils.functional import lazy
from django.utils.text import format_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, fields

from accounts import errors, serializers
from accounts.parsers import JSON_AS_FORM, NOT_AN_OBJECT
from accounts.serializers import DetailSerializer
from accounts.token_contract import EXPIRED, NOT_PROVIDED
from accounts.tokens import JWKS_MAX_AGE

# The tags, in the order of a user's flow, are declared with their descriptions in
# SPECTACULAR_SETTINGS["TAGS"]; the operations appear in the order of accounts/urls.py.
ACCOUNT, TOKENS, PASSWORD, SESSIONS = "account", "tokens", "password", "sessions"
SERVICE = "service"

PUBLIC = "No authentication."
BEARER = (
    "Needs an access token: `Authorization: Bearer <access_token>` (on this page: log in, copy "
    "`access_token`, then **Authorize**)."
)

# Request examples that pass validation, so that Swagger UI's "Try it out" sends a valid body
# (tests/test_schema.py feeds each one to its serializer). The README's walkthrough values.
EMAIL = "user@example.com"
PASSWORD_EXAMPLE = "Tr0ub4dor-and-3"  # noqa: S105 (an example in the docs)
NEW_PASSWORD_EXAMPLE = "Correct-horse-battery-9"  # noqa: S105 (an example in the docs)
REFRESH_TOKEN_EXAMPLE = "d952527b-caef-452c-8c93-1100214f82e5"  # noqa: S105 (an example)
LINK_EXAMPLE = {"uid": "MQ", "token": "d0ymsk-5c4b3c1e8f2a9d7b6c0e4f1a2b3c4d5e"}


def _password_rules() -> str:
    rules = "\n".join(f"- {text}" for text in password_validators_help_texts())
    return f"The password must pass the validators of `AUTH_PASSWORD_VALIDATORS`:\n\n{rules}"


# Read from the settings when the schema is built, not at import.
PASSWORD_RULES = lazy(_password_rules, str)()


def request_example(value: dict) -> OpenApiExample:
    """The example body of an operation: Swagger UI's "Try it out" starts from it."""
    return OpenApiExample("Example", value=value, request_only=True)


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
            "JSON object, or JSON sent without `Content-Type: application/json`, gets "
            '`{"detail": "..."}` instead.'
        ),
        examples=[
            OpenApiExample("Field errors", value=example),
            OpenApiExample("Not a JSON object", value={"detail": NOT_AN_OBJECT}),
            OpenApiExample("JSON sent as a form", value={"detail": JSON_AS_FORM}),
        ],
    )


REQUIRED = fields.Field.default_error_messages["required"]
MALFORMED_REFRESH_TOKEN = field_errors_response(
    "Malformed body: a missing field or a value of the wrong shape.",
    {"refresh_token": [serializers.RefreshTokenField.default_error_messages["invalid"]]},
)
MALFORMED_EMAIL = field_errors_response(
    "Missing or malformed email.",
    {"email": [serializers.NormalizedEmailField.default_error_messages["invalid"]]},
)
THROTTLED = detail_response(
    "Too many requests; `Retry-After` tells how many seconds to wait.",
    lazy(lambda: str(exceptions.Throttled(wait=42).detail), str)(),
)
UNSUPPORTED_MEDIA_TYPE = detail_response(
    "A body of another type than JSON, a form (`application/x-www-form-urlencoded`) or "
    "`multipart/form-data`.",
    lazy(lambda: str(exceptions.UnsupportedMediaType("text/plain").detail), str)(),
)
BAD_ACCESS_TOKEN = detail_response(
    "Missing or refused access token: malformed, bad signature, expired, wrong issuer, "
    "audience or type, missing claim, unknown or inactive user, or a session ended from "
    "elsewhere (not by a plain logout). "
    "The response carries `WWW-Authenticate: Bearer realm=...`, with "
    '`error="invalid_token"` and the detail as `error_description` when a token was '
    "refused (RFC 6750 3.1).",
    NOT_PROVIDED,
    EXPIRED,
    errors.SESSION_ENDED,
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


# --- The endpoints, in the order of accounts/urls.py (a user's flow) ---------------------------

# The browsable API's index: a page for people, not an operation.
API_ROOT = extend_schema_view(get=extend_schema(exclude=True))

REGISTER = extend_schema_view(
    post=extend_schema(
        operation_id="register",
        tags=[ACCOUNT],
        summary="Create an account",
        description=format_lazy(
            "Creates an active user whose login is `email`, stored in its normal form "
            "(Unicode NFKC and case folding) and unique in that form. {rules}\n\n"
            "With `REQUIRE_EMAIL_VERIFICATION`, a verification link is mailed to the address, "
            "and login answers 403 until it is followed. Then log in with `POST /api/login/`."
            "\n\n{public} Limited per client address (`THROTTLE_RATE_REGISTER`).",
            rules=PASSWORD_RULES,
            public=PUBLIC,
        ),
        request=serializers.RegisterInputSerializer,
        examples=[request_example({"email": EMAIL, "password": PASSWORD_EXAMPLE})],
        responses={
            201: serializers.RegisterOutputSerializer,
            400: field_errors_response(
                "Invalid or already registered email, or a password refused by the password "
                "validators; every field's errors at once.",
                {"email": [errors.EMAIL_TAKEN]},
            ),
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

EMAIL_VERIFY = extend_schema_view(
    post=extend_schema(
        operation_id="email_verify",
        tags=[ACCOUNT],
        summary="Verify an email address with the mailed link",
        description=(
            "Marks the email as verified, with the `uid` and `token` of the link mailed at "
            "registration or at an email change (`EMAIL_VERIFICATION_URL`). A link works once "
            f"and for `PASSWORD_RESET_TIMEOUT` seconds. {PUBLIC} Limited per client address."
        ),
        request=serializers.LinkInputSerializer,
        examples=[request_example(LINK_EXAMPLE)],
        responses={
            200: detail_response("The email is verified.", errors.EMAIL_VERIFIED),
            400: field_errors_response(
                "A wrong, used or expired link.", {"token": [errors.LINK_INVALID]}
            ),
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

EMAIL_VERIFICATION_RESEND = extend_schema_view(
    post=extend_schema(
        operation_id="email_verification_resend",
        tags=[ACCOUNT],
        summary="Ask for a new email verification link",
        description=(
            "With `REQUIRE_EMAIL_VERIFICATION`, mails a new link (`EMAIL_VERIFICATION_URL`) "
            "to the unverified account with this email, if there is one. The answer is the "
            f"same, in about the same time, either way. {PUBLIC} Limited per client address "
            "and per email."
        ),
        request=serializers.MailRequestInputSerializer,
        examples=[request_example({"email": EMAIL})],
        responses={
            202: detail_response(
                "Accepted, whether or not such an account exists.",
                errors.VERIFICATION_REQUESTED,
            ),
            400: MALFORMED_EMAIL,
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

LOGIN = extend_schema_view(
    post=extend_schema(
        operation_id="login",
        tags=[TOKENS],
        summary="Log in: get an access token and a refresh token",
        description=(
            "Checks the email and password and starts a session: a short-lived JWT access "
            "token (`ACCESS_TOKEN_LIFETIME`, 30 s by default) for `Authorization: Bearer`, and "
            "an opaque refresh token (`REFRESH_TOKEN_LIFETIME`) for `POST /api/refresh/`. "
            f"{PUBLIC} Limited per client address; failed logins also per account and "
            "address and per account, and over a limit even the right password gets 429."
        ),
        request=serializers.LoginInputSerializer,
        examples=[request_example({"email": EMAIL, "password": PASSWORD_EXAMPLE})],
        responses={
            200: serializers.TokenPairSerializer,
            400: field_errors_response(
                "Malformed body: a missing field, or a value that is not a string.",
                {"password": [REQUIRED]},
            ),
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
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

REFRESH = extend_schema_view(
    post=extend_schema(
        operation_id="refresh",
        tags=[TOKENS],
        summary="Rotate a refresh token: get a new pair",
        description=(
            "The presented refresh token is revoked and a new access and refresh token are "
            "issued. Presenting an already revoked token again revokes every token descended "
            "from the same login; a grace of `REFRESH_TOKEN_REUSE_GRACE` seconds (0 by "
            "default) lets the token just rotated be exchanged once more. "
            f"{PUBLIC} Limited per client address."
        ),
        request=serializers.RefreshInputSerializer,
        examples=[request_example({"refresh_token": REFRESH_TOKEN_EXAMPLE})],
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
                errors.RefreshTokenError.INACTIVE,
            ),
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

# PUT and PATCH /api/me/ are one operation: absent fields stay unchanged either way.
_ME_UPDATE = {
    "tags": [ACCOUNT],
    "summary": "Change the current user's username and/or email",
    "description": (
        "Only `username` and `email` are writable; absent fields stay unchanged. Changing the "
        "email (the login) needs a recent sign-in: within `REAUTHENTICATION_WINDOW` (default "
        "300 s) of this session's login or password change the access token alone will do; "
        "later, give `current_password`. The change ends every other session (their refresh "
        f"tokens are revoked) and keeps this one. {BEARER} Requests that send `email` or "
        "`current_password` are limited per user."
    ),
    "request": serializers.UserUpdateInputSerializer,
    "examples": [request_example({"username": "John Smith"})],
    "responses": {
        200: serializers.UserSerializer,
        400: field_errors_response(
            "Invalid, too long or already registered email, too long username, an unknown or "
            "read-only field, or an email change outside the window without the right "
            "`current_password`.",
            {"current_password": [errors.REAUTHENTICATION_REQUIRED]},
        ),
        401: BAD_ACCESS_TOKEN,
        415: UNSUPPORTED_MEDIA_TYPE,
        429: THROTTLED,
    },
}

ME = extend_schema_view(
    get=extend_schema(
        operation_id="me_retrieve",
        tags=[ACCOUNT],
        summary="The current user",
        description=f"The user the access token belongs to. {BEARER}",
        responses={200: serializers.UserSerializer, 401: BAD_ACCESS_TOKEN},
    ),
    put=extend_schema(operation_id="me_update", **_ME_UPDATE),
    patch=extend_schema(operation_id="me_partial_update", **_ME_UPDATE),
    delete=extend_schema(
        operation_id="me_destroy",
        tags=[ACCOUNT],
        summary="Delete the current user",
        description=(
            "Deletes the user and every refresh token, given the current password. Access "
            "tokens already issued cannot be revoked (they are verified without a lookup): "
            "they fail at `/api/me/` at once (unknown user), and elsewhere work until they "
            f"expire. {BEARER} Limited per user."
        ),
        request=serializers.UserDeleteInputSerializer,
        examples=[request_example({"current_password": PASSWORD_EXAMPLE})],
        responses={
            204: OpenApiResponse(description="Deleted."),
            400: field_errors_response(
                "Missing or wrong current password.",
                {"current_password": [errors.WRONG_CURRENT_PASSWORD]},
            ),
            401: BAD_ACCESS_TOKEN,
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    ),
)

ACTIVITY = extend_schema_view(
    get=extend_schema(
        operation_id="me_activity_list",
        tags=[ACCOUNT],
        summary="The current user's recent security events",
        description=(
            "Logins and failed logins, password changes and resets, email changes, ended "
            "sessions and refresh replays, newest first, paginated; each with its time, client "
            "address, User-Agent and outcome. Kept `SECURITY_EVENT_RETENTION_DAYS` (90 days "
            f"by default). {BEARER}"
        ),
        responses={200: serializers.SecurityEventSerializer(many=True), 401: BAD_ACCESS_TOKEN},
    )
)

SESSION_LIST = extend_schema_view(
    get=extend_schema(
        operation_id="sessions_list",
        tags=[SESSIONS],
        summary="The current user's live sessions",
        description=(
            "One entry per session (a login and every refresh token rotated from it), newest "
            "activity first, paginated: where and when it logged in, was last refreshed and "
            f"expires, and `current` for the session of the access token that asks. {BEARER}"
        ),
        responses={200: serializers.SessionSerializer(many=True), 401: BAD_ACCESS_TOKEN},
    )
)

SESSIONS_END_OTHERS = extend_schema_view(
    post=extend_schema(
        operation_id="sessions_end_others",
        tags=[SESSIONS],
        summary="End every session but the current one",
        description=(
            "Log out everywhere else: every other session's refresh tokens are revoked and its "
            "access tokens refused at once by this service, race-free against concurrent "
            f"refreshes and logins (as a password change). The current session stays. {BEARER}"
        ),
        request=None,
        responses={204: OpenApiResponse(description="Ended."), 401: BAD_ACCESS_TOKEN},
    )
)

SESSION = extend_schema_view(
    delete=extend_schema(
        operation_id="sessions_destroy",
        tags=[SESSIONS],
        summary="End one session",
        description=(
            "Revokes the session's refresh tokens; its access tokens are refused at once by "
            "this service (the score service, which verifies them alone, accepts them until "
            "they expire). Race-free against a concurrent refresh of the session. "
            f"{BEARER}"
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
            404: detail_response(
                "No live session of the caller has this id: unknown, already ended, malformed "
                "or another user's, one answer for all.",
                "Not found.",
            ),
        },
    )
)

PASSWORD_CHANGE = extend_schema_view(
    post=extend_schema(
        operation_id="password_change",
        tags=[PASSWORD],
        summary="Change the current user's password: get a fresh pair",
        description=format_lazy(
            "Every refresh token of the user is revoked (every session ends) and a new pair is "
            "returned, so this client stays logged in. {rules}\n\n{bearer} Limited per user.",
            rules=PASSWORD_RULES,
            bearer=BEARER,
        ),
        request=serializers.PasswordChangeInputSerializer,
        examples=[
            request_example(
                {"current_password": PASSWORD_EXAMPLE, "new_password": NEW_PASSWORD_EXAMPLE}
            )
        ],
        responses={
            200: serializers.TokenPairSerializer,
            400: field_errors_response(
                "Wrong current password, or a new one refused by the password validators.",
                {"current_password": [errors.WRONG_CURRENT_PASSWORD]},
            ),
            401: BAD_ACCESS_TOKEN,
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

PASSWORD_RESET = extend_schema_view(
    post=extend_schema(
        operation_id="password_reset",
        tags=[PASSWORD],
        summary="Ask for a password reset link by mail",
        description=(
            "Mails a single-use link (`PASSWORD_RESET_URL`) to the account with this email, "
            "if there is one; the link leads to `POST /api/password/reset/confirm/`. The "
            f"answer is the same, in about the same time, either way. {PUBLIC} Limited per "
            "client address and per email."
        ),
        request=serializers.MailRequestInputSerializer,
        examples=[request_example({"email": EMAIL})],
        responses={
            202: detail_response(
                "Accepted, whether or not the email is registered.", errors.RESET_REQUESTED
            ),
            400: MALFORMED_EMAIL,
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

# The page a mailed link opens in a browser (GET) is no API operation.
MAILED_LINK = extend_schema_view(get=extend_schema(exclude=True))

PASSWORD_RESET_CONFIRM = extend_schema_view(
    post=extend_schema(
        operation_id="password_reset_confirm",
        tags=[PASSWORD],
        summary="Set a new password with a reset link",
        description=format_lazy(
            "Sets `new_password` with the `uid` and `token` of the mailed link, which works "
            "once and for `PASSWORD_RESET_TIMEOUT` seconds. Every refresh token of the user is "
            "revoked (every session ends), and the email counts as verified. {rules}\n\n"
            "{public} Limited per client address.",
            rules=PASSWORD_RULES,
            public=PUBLIC,
        ),
        request=serializers.PasswordResetConfirmInputSerializer,
        examples=[request_example({**LINK_EXAMPLE, "new_password": NEW_PASSWORD_EXAMPLE})],
        responses={
            200: detail_response("The password is set.", errors.PASSWORD_RESET_DONE),
            400: field_errors_response(
                "A wrong, used or expired link, or a password refused by the validators.",
                {"token": [errors.LINK_INVALID]},
            ),
            415: UNSUPPORTED_MEDIA_TYPE,
            429: THROTTLED,
        },
    )
)

LOGOUT = extend_schema_view(
    post=extend_schema(
        operation_id="logout",
        tags=[SESSIONS],
        summary="Log out: revoke a refresh token",
        description=(
            "Revokes the refresh token; with `all: true` and a token still valid, every "
            "session of its user. An unknown, expired or already revoked token gets the same "
            "200 (RFC 7009); an already rotated one ends its whole family. Access tokens "
            f"already issued stay valid until they expire. {PUBLIC}"
        ),
        request=serializers.LogoutInputSerializer,
        examples=[request_example({"refresh_token": REFRESH_TOKEN_EXAMPLE, "all": False})],
        responses={
            200: OpenApiResponse(
                serializers.LogoutOutputSerializer,
                examples=[OpenApiExample("Logged out", value={"success": errors.LOGGED_OUT})],
            ),
            400: MALFORMED_REFRESH_TOKEN,
            415: UNSUPPORTED_MEDIA_TYPE,
        },
    )
)

HEALTH = extend_schema_view(
    get=extend_schema(
        operation_id="health",
        tags=[SERVICE],
        summary="Health of the service and what it depends on",
        description=(
            f"Checks the database and the cache (Redis when configured), one round trip each. "
            f"{PUBLIC}"
        ),
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
        tags=[TOKENS],
        summary="Public keys that verify access tokens (JWKS)",
        description=(
            "The JSON Web Key Set (RFC 7517) of the Ed25519 public keys that verify access "
            "tokens: pick the key whose `kid` the token's header names, and accept `alg` EdDSA "
            "only. Empty with `JWT_ALGORITHM` HS256, whose shared secret is never published. "
            f"Cacheable for {JWKS_MAX_AGE} seconds. {PUBLIC}"
        ),
        responses={200: serializers.JWKSetSerializer},
    )
)

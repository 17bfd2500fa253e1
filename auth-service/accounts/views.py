"""The API: thin views, each an input serializer, one service call and an output serializer."""

import uuid
from collections.abc import Callable

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, Throttled
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts import errors, schema as openapi, serializers, tokens
from accounts.clients import Client
from accounts.exceptions import Unauthorized
from accounts.services import links, sessions, users
from accounts.throttles import (
    CurrentPasswordThrottle,
    LinkAddressThrottle,
    LoginIPThrottle,
    MailAccountThrottle,
    MailAddressThrottle,
    RefreshThrottle,
    RegisterThrottle,
    login_attempt,
)

LOGGED_OUT = "User logged out."


class NoStoreMixin:
    """Responses that carry tokens or the user: no cache may keep them (RFC 6749 5.1; Pragma
    for HTTP/1.0 caches)."""

    def finalize_response(self, request: Request, response: Response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class PublicAPIView(APIView):
    """An endpoint without access token: no authentication runs, so a stray header is ignored."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterView(NoStoreMixin, PublicAPIView):
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        operation_id="register",
        summary="Create an account",
        request=serializers.RegisterInputSerializer,
        responses={
            201: serializers.RegisterOutputSerializer,
            400: openapi.field_errors_response(
                "Invalid or already registered email (case-insensitive), or a password that "
                "fails the password validators.",
                {"email": [errors.EMAIL_TAKEN]},
            ),
            429: openapi.THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = users.user_create(**data.validated_data, client=Client.of(request))
        return Response(
            serializers.RegisterOutputSerializer(user).data, status=status.HTTP_201_CREATED
        )


class LoginView(NoStoreMixin, PublicAPIView):
    # Every login counts per address; failed ones also per account (login_attempt).
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        operation_id="login",
        summary="Log in: get an access token and a refresh token",
        request=serializers.LoginInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            400: openapi.MALFORMED,
            401: openapi.detail_response(
                "Unknown email, wrong password or inactive user: one answer for all three.",
                errors.InvalidCredentialsError.message,
            ),
            403: openapi.detail_response(
                "Only with `REQUIRE_EMAIL_VERIFICATION`: the password is right but the email "
                "is not verified yet.",
                errors.EmailNotVerifiedError.message,
            ),
            429: openapi.THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = Client.of(request)
        try:
            with login_attempt(email=data.validated_data["email"], request=request) as attempt:
                try:
                    user = users.user_authenticate(**data.validated_data, client=client)
                    pair = sessions.session_start(user=user, client=client)
                except errors.InvalidCredentialsError as e:
                    attempt.failed()
                    raise Unauthorized(str(e)) from e
                except errors.EmailNotVerifiedError as e:
                    raise PermissionDenied(str(e)) from e
        except Throttled:
            users.login_throttled_record(email=data.validated_data["email"], client=client)
            raise
        return Response(serializers.TokenPairSerializer(pair).data)


class RefreshView(NoStoreMixin, PublicAPIView):
    throttle_classes = [RefreshThrottle]

    @extend_schema(
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
            400: openapi.MALFORMED,
            401: openapi.detail_response(
                "Unknown, expired or revoked refresh token, or inactive user.",
                errors.RefreshTokenError.UNKNOWN,
                errors.RefreshTokenError.EXPIRED,
                errors.RefreshTokenError.REVOKED,
            ),
            429: openapi.THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = sessions.refresh_token_rotate(
                token=data.validated_data["refresh_token"], client=Client.of(request)
            )
        except errors.RefreshTokenError as e:
            raise Unauthorized(str(e)) from e
        return Response(serializers.TokenPairSerializer(pair).data)


class LogoutView(PublicAPIView):
    @extend_schema(
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
                examples=[OpenApiExample("Logged out", value={"success": LOGGED_OUT})],
            ),
            400: openapi.MALFORMED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token: uuid.UUID = data.validated_data["refresh_token"]
        sessions.refresh_token_revoke(
            token=token, all_sessions=data.validated_data["all"], client=Client.of(request)
        )
        return Response(serializers.LogoutOutputSerializer({"success": LOGGED_OUT}).data)


# PUT and PATCH /api/me/ are one operation: absent fields stay unchanged either way.
ME_UPDATE = {
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
        400: openapi.field_errors_response(
            "Invalid, too long or already registered email, too long username, or an email "
            "change outside the window without the right `current_password`.",
            {"current_password": [errors.REAUTHENTICATION_REQUIRED]},
        ),
        401: openapi.BAD_ACCESS_TOKEN,
        429: openapi.THROTTLED,
    },
}


@extend_schema_view(
    put=extend_schema(operation_id="me_update", **ME_UPDATE),
    patch=extend_schema(operation_id="me_partial_update", **ME_UPDATE),
)
class MeView(NoStoreMixin, APIView):
    """The current user, authenticated by an access token."""

    schema = openapi.BodyOnDeleteAutoSchema()

    def get_throttles(self) -> list:
        # Every request that checks the current password or may change the email counts: no
        # guessing the password, nor probing which emails are registered, through /api/me/.
        sensitive = self.request.method == "DELETE" or (
            self.request.method in ("PUT", "PATCH")
            and hasattr(self.request.data, "get")
            and (
                self.request.data.get("current_password") is not None
                or self.request.data.get("email") is not None
            )
        )
        if sensitive:
            return [CurrentPasswordThrottle()]
        return super().get_throttles()

    def _update(self, request: Request) -> Response:
        data = serializers.UserUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = users.user_update(
            user=request.user,
            session=request.auth,
            client=Client.of(request),
            **data.validated_data,
        )
        return Response(serializers.UserSerializer(user).data)

    @extend_schema(
        operation_id="me_retrieve",
        summary="The current user",
        responses={200: serializers.UserSerializer, 401: openapi.BAD_ACCESS_TOKEN},
    )
    def get(self, request: Request) -> Response:
        # UserSerializer's fields, without building a ModelSerializer on the hot path.
        user = request.user
        return Response({"id": user.pk, "username": user.username, "email": user.email})

    def put(self, request: Request) -> Response:
        return self._update(request)

    def patch(self, request: Request) -> Response:
        return self._update(request)

    @extend_schema(
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
            400: openapi.field_errors_response(
                "Missing or wrong current password.",
                {"current_password": [errors.WRONG_CURRENT_PASSWORD]},
            ),
            401: openapi.BAD_ACCESS_TOKEN,
            429: openapi.THROTTLED,
        },
    )
    def delete(self, request: Request) -> Response:
        data = serializers.UserDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        users.user_delete(user=request.user, client=Client.of(request), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Account lifecycle: passwords and mailed links -------------------------------------------

RESET_REQUESTED = "If an account has this email, a password reset link has been sent to it."
VERIFICATION_REQUESTED = (
    "If an account with this email awaits verification, a new link has been sent to it."
)
PASSWORD_RESET_DONE = "Password has been reset. Log in with the new password."  # noqa: S105 (a message)
EMAIL_VERIFIED = "Email address verified."


class PasswordChangeView(NoStoreMixin, APIView):
    throttle_classes = [CurrentPasswordThrottle]

    @extend_schema(
        operation_id="password_change",
        summary="Change the current user's password: get a fresh pair",
        description=(
            "Every refresh token of the user is revoked (every session ends) and a new pair is "
            "returned, so this client stays logged in."
        ),
        request=serializers.PasswordChangeInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            400: openapi.field_errors_response(
                "Wrong current password, or a new one refused by the password validators.",
                {"current_password": [errors.WRONG_CURRENT_PASSWORD]},
            ),
            401: openapi.BAD_ACCESS_TOKEN,
            429: openapi.THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = users.password_change(
            user=request.user, client=Client.of(request), **data.validated_data
        )
        return Response(serializers.TokenPairSerializer(pair).data)


MALFORMED_EMAIL = openapi.field_errors_response(
    "Missing or malformed email.", {"email": ["Enter a valid email address."]}
)


class MailRequestView(PublicAPIView):
    """Asks for a link by mail; 202 with the same body whether or not the email has an account
    (the service does the same work either way)."""

    throttle_classes = [MailAddressThrottle, MailAccountThrottle]
    mail_request: Callable[..., None]
    answer: str

    def post(self, request: Request) -> Response:
        data = serializers.MailRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        type(self).mail_request(**data.validated_data, client=Client.of(request))
        return Response({"detail": self.answer}, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    post=extend_schema(
        operation_id="password_reset",
        summary="Ask for a password reset link by mail",
        description=(
            "Mails a single-use link (`PASSWORD_RESET_URL`) to the account with this email, "
            "if there is one. The answer is the same, in about the same time, either way."
        ),
        request=serializers.MailRequestInputSerializer,
        responses={
            202: openapi.detail_response(
                "Accepted, whether or not the email is registered.", RESET_REQUESTED
            ),
            400: MALFORMED_EMAIL,
            429: openapi.THROTTLED,
        },
    )
)
class PasswordResetView(MailRequestView):
    mail_request = staticmethod(links.password_reset_request)
    answer = RESET_REQUESTED


class MailedLinkView(PublicAPIView):
    """An endpoint a mailed link opens. In a browser, GET shows the browsable API's form with
    the link's uid and token already in it (hidden), so no frontend is needed."""

    input_serializer: type[serializers.LinkInputSerializer]
    throttle_classes = [LinkAddressThrottle]
    # The browsable API's HTML form posts multipart/form-data.
    parser_classes = [*api_settings.DEFAULT_PARSER_CLASSES, MultiPartParser]
    hint: str

    def get_serializer(self, *args, **kwargs) -> serializers.LinkInputSerializer:
        serializer = self.input_serializer(*args, **kwargs)
        for name in ("uid", "token"):
            serializer.fields[name].initial = self.request.query_params.get(name, "")
            serializer.fields[name].help_text = None  # hidden in the form: nothing to explain
        return serializer

    def get_throttles(self) -> list:
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"detail": self.hint})


class PasswordResetConfirmView(MailedLinkView):
    input_serializer = serializers.PasswordResetConfirmInputSerializer
    hint = "POST uid, token and new_password to this URL to set a new password."

    @extend_schema(
        operation_id="password_reset_confirm",
        summary="Set a new password with a reset link",
        description="Every refresh token of the user is revoked (every session ends).",
        request=serializers.PasswordResetConfirmInputSerializer,
        responses={
            200: openapi.detail_response("The password is set.", PASSWORD_RESET_DONE),
            400: openapi.field_errors_response(
                "A wrong, used or expired link, or a password refused by the validators.",
                {"token": [errors.LINK_INVALID]},
            ),
            429: openapi.THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        users.password_reset_confirm(**data.validated_data, client=Client.of(request))
        return Response({"detail": PASSWORD_RESET_DONE})


class EmailVerifyView(MailedLinkView):
    input_serializer = serializers.LinkInputSerializer
    hint = "POST uid and token to this URL to verify the email address."

    @extend_schema(
        operation_id="email_verify",
        summary="Verify an email address with the mailed link",
        request=serializers.LinkInputSerializer,
        responses={
            200: openapi.detail_response("The email is verified.", EMAIL_VERIFIED),
            400: openapi.field_errors_response(
                "A wrong, used or expired link.", {"token": [errors.LINK_INVALID]}
            ),
            429: openapi.THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        users.email_verify(**data.validated_data)
        return Response({"detail": EMAIL_VERIFIED})


@extend_schema_view(
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
            202: openapi.detail_response(
                "Accepted, whether or not such an account exists.", VERIFICATION_REQUESTED
            ),
            400: MALFORMED_EMAIL,
            429: openapi.THROTTLED,
        },
    )
)
class EmailVerificationResendView(MailRequestView):
    mail_request = staticmethod(links.email_verification_request)
    answer = VERIFICATION_REQUESTED


# Long enough to spare the service, short enough that a key published for rotation reaches
# cached verifiers well before it signs (docs/tokens.md: Access-token keys).
JWKS_MAX_AGE = 300


class JWKSView(PublicAPIView):
    renderer_classes = [JSONRenderer]

    @extend_schema(
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
    def get(self, request: Request) -> Response:
        response = Response(tokens.jwks_public(settings.JWT_VERIFYING_KEYS))
        response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
        return response

"""The API: thin views, each an input serializer, one service call and an output serializer."""

import uuid
from collections.abc import Callable

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts import errors, schema as openapi, serializers, tokens
from accounts.errors import (
    EMAIL_VERIFIED,
    LOGGED_OUT,
    PASSWORD_RESET_DONE,
    RESET_REQUESTED,
    VERIFICATION_REQUESTED,
)
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


@openapi.REGISTER
class RegisterView(NoStoreMixin, PublicAPIView):
    throttle_classes = [RegisterThrottle]

    def post(self, request: Request) -> Response:
        data = serializers.RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = users.user_create(**data.validated_data)
        return Response(
            serializers.RegisterOutputSerializer(user).data, status=status.HTTP_201_CREATED
        )


@openapi.LOGIN
class LoginView(NoStoreMixin, PublicAPIView):
    # Every login counts per address; failed ones also per account (login_attempt).
    throttle_classes = [LoginIPThrottle]

    def post(self, request: Request) -> Response:
        data = serializers.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with login_attempt(email=data.validated_data["email"], request=request) as attempt:
            try:
                user = users.user_authenticate(**data.validated_data)
                pair = sessions.session_start(user=user)
            except errors.InvalidCredentialsError as e:
                attempt.failed()
                raise Unauthorized(str(e)) from e
            except errors.EmailNotVerifiedError as e:
                raise PermissionDenied(str(e)) from e
        return Response(serializers.TokenPairSerializer(pair).data)


@openapi.REFRESH
class RefreshView(NoStoreMixin, PublicAPIView):
    throttle_classes = [RefreshThrottle]

    def post(self, request: Request) -> Response:
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = sessions.refresh_token_rotate(token=data.validated_data["refresh_token"])
        except errors.RefreshTokenError as e:
            raise Unauthorized(str(e)) from e
        return Response(serializers.TokenPairSerializer(pair).data)


@openapi.LOGOUT
class LogoutView(PublicAPIView):
    def post(self, request: Request) -> Response:
        data = serializers.LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token: uuid.UUID = data.validated_data["refresh_token"]
        sessions.refresh_token_revoke(token=token, all_sessions=data.validated_data["all"])
        return Response(serializers.LogoutOutputSerializer({"success": LOGGED_OUT}).data)


@openapi.ME
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
        user = users.user_update(user=request.user, session=request.auth, **data.validated_data)
        return Response(serializers.UserSerializer(user).data)

    def get(self, request: Request) -> Response:
        # UserSerializer's fields, without building a ModelSerializer on the hot path.
        user = request.user
        return Response({"id": user.pk, "username": user.username, "email": user.email})

    def put(self, request: Request) -> Response:
        return self._update(request)

    def patch(self, request: Request) -> Response:
        return self._update(request)

    def delete(self, request: Request) -> Response:
        data = serializers.UserDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        users.user_delete(user=request.user, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Account lifecycle: passwords and mailed links -------------------------------------------


@openapi.PASSWORD_CHANGE
class PasswordChangeView(NoStoreMixin, APIView):
    throttle_classes = [CurrentPasswordThrottle]

    def post(self, request: Request) -> Response:
        data = serializers.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = users.password_change(user=request.user, **data.validated_data)
        return Response(serializers.TokenPairSerializer(pair).data)


class MailRequestView(PublicAPIView):
    """Asks for a link by mail; 202 with the same body whether or not the email has an account
    (the service does the same work either way)."""

    throttle_classes = [MailAddressThrottle, MailAccountThrottle]
    mail_request: Callable[..., None]
    answer: str

    def post(self, request: Request) -> Response:
        data = serializers.MailRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        type(self).mail_request(**data.validated_data)
        return Response({"detail": self.answer}, status=status.HTTP_202_ACCEPTED)


@openapi.PASSWORD_RESET
class PasswordResetView(MailRequestView):
    mail_request = staticmethod(links.password_reset_request)
    answer = RESET_REQUESTED


@openapi.MAILED_LINK
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

    def get(self, request: Request) -> Response:
        return Response({"detail": self.hint})


@openapi.PASSWORD_RESET_CONFIRM
class PasswordResetConfirmView(MailedLinkView):
    input_serializer = serializers.PasswordResetConfirmInputSerializer
    hint = "POST uid, token and new_password to this URL to set a new password."

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        users.password_reset_confirm(**data.validated_data)
        return Response({"detail": PASSWORD_RESET_DONE})


@openapi.EMAIL_VERIFY
class EmailVerifyView(MailedLinkView):
    input_serializer = serializers.LinkInputSerializer
    hint = "POST uid and token to this URL to verify the email address."

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        users.email_verify(**data.validated_data)
        return Response({"detail": EMAIL_VERIFIED})


@openapi.EMAIL_VERIFICATION_RESEND
class EmailVerificationResendView(MailRequestView):
    mail_request = staticmethod(links.email_verification_request)
    answer = VERIFICATION_REQUESTED


@openapi.JWKS
class JWKSView(PublicAPIView):
    renderer_classes = [JSONRenderer]

    def get(self, request: Request) -> Response:
        response = Response(tokens.jwks_public(settings.JWT_VERIFYING_KEYS))
        response["Cache-Control"] = f"public, max-age={tokens.JWKS_MAX_AGE}"
        return response

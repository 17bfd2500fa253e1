"""The API: thin views, each an input serializer, one service call and an output serializer."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import unquote

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from accounts import errors, schema as openapi, serializers, tokens
from accounts.clients import Client
from accounts.errors import (
    EMAIL_VERIFIED,
    LOGGED_OUT,
    PASSWORD_RESET_DONE,
    RESET_REQUESTED,
    VERIFICATION_REQUESTED,
)
from accounts.exceptions import Unauthorized
from accounts.services import events, links, sessions, users
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


class InputMixin:
    """A view whose request body is `input_serializer`. get_serializer() is what DRF's
    browsable API looks for to draw the HTML form of a POST, PUT or PATCH."""

    input_serializer: type[serializers.InputSerializer]

    def get_serializer(self, *args, **kwargs) -> serializers.InputSerializer:
        return self.input_serializer(*args, **kwargs)

    def get_throttles(self) -> list:
        # Only a request that sends the body spends the caller's limits: a GET or HEAD draws
        # the browsable form, a hint or a 405, and acts on nothing.
        return [] if self.request.method in SAFE_METHODS else super().get_throttles()


@openapi.API_ROOT
class ApiRootView(PublicAPIView):
    """GET /api/: a link to the docs and to each endpoint, by URL name (the browsable API's
    index page)."""

    url_names: Sequence[str] = ()
    # The arguments of the URLs that take some, by URL name: linked as URI templates
    # (RFC 6570), such as /api/sessions/{session_id}/.
    url_arguments: Mapping[str, Sequence[str]] = {}

    def get(self, request: Request) -> Response:
        return Response({name: self._link(name, request) for name in self.url_names})

    def _link(self, name: str, request: Request) -> str:
        template = {argument: f"{{{argument}}}" for argument in self.url_arguments.get(name, ())}
        return unquote(reverse(name, kwargs=template, request=request))


@openapi.REGISTER
class RegisterView(InputMixin, NoStoreMixin, PublicAPIView):
    input_serializer = serializers.RegisterInputSerializer
    throttle_classes = [RegisterThrottle]

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = users.user_create(**data.validated_data, client=Client.of(request))
        return Response(
            serializers.RegisterOutputSerializer(user).data, status=status.HTTP_201_CREATED
        )


@openapi.LOGIN
class LoginView(InputMixin, NoStoreMixin, PublicAPIView):
    input_serializer = serializers.LoginInputSerializer
    # Every login counts per address; failed ones also per account (login_attempt).
    throttle_classes = [LoginIPThrottle]

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
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


@openapi.REFRESH
class RefreshView(InputMixin, NoStoreMixin, PublicAPIView):
    input_serializer = serializers.RefreshInputSerializer
    throttle_classes = [RefreshThrottle]

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = sessions.refresh_token_rotate(
                token=data.validated_data["refresh_token"], client=Client.of(request)
            )
        except errors.RefreshTokenError as e:
            raise Unauthorized(str(e)) from e
        return Response(serializers.TokenPairSerializer(pair).data)


@openapi.LOGOUT
class LogoutView(InputMixin, PublicAPIView):
    input_serializer = serializers.LogoutInputSerializer

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        token: uuid.UUID = data.validated_data["refresh_token"]
        sessions.refresh_token_revoke(
            token=token, all_sessions=data.validated_data["all"], client=Client.of(request)
        )
        return Response(serializers.LogoutOutputSerializer({"success": LOGGED_OUT}).data)


@openapi.ME
class MeView(InputMixin, NoStoreMixin, APIView):
    """The current user, authenticated by an access token."""

    input_serializer = serializers.UserUpdateInputSerializer  # PUT and PATCH
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
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = users.user_update(
            user=request.user,
            session=request.auth,
            client=Client.of(request),
            **data.validated_data,
        )
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
        users.user_delete(user=request.user, client=Client.of(request), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Sessions and security activity ----------------------------------------------------------


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


@openapi.SESSION_LIST
class SessionListView(NoStoreMixin, ListAPIView):
    """The caller's live sessions: GET lists them."""

    serializer_class = serializers.SessionSerializer
    pagination_class = Pagination

    def get_queryset(self):
        return sessions.session_list(user_id=self.request.user.pk)

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "current_session": self.request.auth.session_id}


def _session_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@openapi.SESSION
class SessionView(APIView):
    """One of the caller's sessions, by id: DELETE ends it."""

    def delete(self, request: Request, session_id: str) -> Response:
        # One 404 for a malformed, unknown, ended or another user's id.
        family = _session_uuid(session_id)
        ended = family is not None and sessions.session_end(
            user_id=request.user.pk,
            session_id=family,
            client=Client.of(request),
            reason=events.Reason.ENDED,
        )
        if not ended:
            raise NotFound
        return Response(status=status.HTTP_204_NO_CONTENT)


@openapi.SESSIONS_END_OTHERS
class SessionsEndOthersView(APIView):
    def post(self, request: Request) -> Response:
        # A sid that is no UUID names no session of ours: then every session ends.
        sessions.sessions_end_others(
            user_id=request.user.pk,
            current_session=_session_uuid(request.auth.session_id),
            client=Client.of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@openapi.ACTIVITY
class ActivityView(NoStoreMixin, ListAPIView):
    """The caller's recent security events: GET lists them."""

    serializer_class = serializers.SecurityEventSerializer
    pagination_class = Pagination

    def get_queryset(self):
        return events.event_list(user_id=self.request.user.pk)


# --- Account lifecycle: passwords and mailed links -------------------------------------------


@openapi.PASSWORD_CHANGE
class PasswordChangeView(InputMixin, NoStoreMixin, APIView):
    input_serializer = serializers.PasswordChangeInputSerializer
    throttle_classes = [CurrentPasswordThrottle]

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = users.password_change(
            user=request.user, client=Client.of(request), **data.validated_data
        )
        return Response(serializers.TokenPairSerializer(pair).data)


class MailRequestView(InputMixin, PublicAPIView):
    """Asks for a link by mail; 202 with the same body whether or not the email has an account
    (the service does the same work either way)."""

    input_serializer = serializers.MailRequestInputSerializer

    throttle_classes = [MailAddressThrottle, MailAccountThrottle]
    mail_request: Callable[..., None]
    answer: str

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        type(self).mail_request(**data.validated_data, client=Client.of(request))
        return Response({"detail": self.answer}, status=status.HTTP_202_ACCEPTED)


@openapi.PASSWORD_RESET
class PasswordResetView(MailRequestView):
    mail_request = staticmethod(links.password_reset_request)
    answer = RESET_REQUESTED


@openapi.MAILED_LINK
class MailedLinkView(InputMixin, PublicAPIView):
    """An endpoint a mailed link opens. In a browser, GET shows the browsable API's form with
    the link's uid and token already in it (hidden), so no frontend is needed."""

    input_serializer: type[serializers.LinkInputSerializer]
    throttle_classes = [LinkAddressThrottle]
    hint: str

    def get_serializer(self, *args, **kwargs) -> serializers.LinkInputSerializer:
        serializer = super().get_serializer(*args, **kwargs)
        for name in ("uid", "token"):
            serializer.fields[name].initial = self.request.query_params.get(name, "")
            serializer.fields[name].help_text = None  # hidden in the form: nothing to explain
        return serializer

    def get(self, request: Request) -> Response:
        return Response({"detail": self.hint})


@openapi.PASSWORD_RESET_CONFIRM
class PasswordResetConfirmView(MailedLinkView):
    input_serializer = serializers.PasswordResetConfirmInputSerializer
    hint = "POST uid, token and new_password to this URL to set a new password."

    def post(self, request: Request) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        users.password_reset_confirm(**data.validated_data, client=Client.of(request))
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

"""The API: thin views, each an input serializer, one service call and an output serializer."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers, services, tokens
from accounts.exceptions import Unauthorized
from accounts.parsers import NOT_AN_OBJECT
from accounts.redis_outage import REDIS_DOWN_ERRORS
from accounts.throttles import (
    LoginAccountThrottle,
    LoginIPThrottle,
    RefreshThrottle,
    RegisterThrottle,
)

logger = logging.getLogger(__name__)

LOGGED_OUT = "User logged out."


def _error(description: str, *examples: str) -> OpenApiResponse:
    return OpenApiResponse(
        serializers.DetailSerializer,
        description=description,
        examples=[OpenApiExample(text, value={"detail": text}) for text in examples],
    )


def _field_errors(description: str, example: dict) -> OpenApiResponse:
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


MALFORMED = _field_errors(
    "Malformed body: a missing field or a value of the wrong shape.",
    {"refresh_token": ["Must be a valid UUID."]},
)
THROTTLED = _error(
    "Too many requests; `Retry-After` tells how many seconds to wait.",
    "Request was throttled. Expected available in 42 seconds.",
)
BAD_ACCESS_TOKEN = _error(
    "Missing or refused access token: malformed, bad signature, expired, wrong issuer, "
    "audience or type, missing claim, unknown or inactive user. "
    "The response carries `WWW-Authenticate: Bearer`.",
    "Authentication credentials were not provided.",
    "Token has expired.",
)


class PublicAPIView(APIView):
    """An endpoint without access token: no authentication runs, so a stray header is ignored."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterView(PublicAPIView):
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        operation_id="register",
        summary="Create an account",
        request=serializers.RegisterInputSerializer,
        responses={
            201: serializers.RegisterOutputSerializer,
            400: _field_errors(
                "Invalid or already registered email (case-insensitive), or a password that "
                "fails the password validators.",
                {"email": ["A user with this email already exists."]},
            ),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        return Response(
            serializers.RegisterOutputSerializer(user).data, status=status.HTTP_201_CREATED
        )


class LoginView(PublicAPIView):
    throttle_classes = [LoginIPThrottle, LoginAccountThrottle]

    @extend_schema(
        operation_id="login",
        summary="Log in: get an access token and a refresh token",
        request=serializers.LoginInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            400: MALFORMED,
            401: _error(
                "Unknown email, wrong password or inactive user: one answer for all three.",
                services.InvalidCredentialsError.message,
            ),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.user_authenticate(**data.validated_data)
        except services.InvalidCredentialsError as e:
            raise Unauthorized(str(e)) from e
        pair = services.token_pair_issue(user_id=user.pk)
        return Response(serializers.TokenPairSerializer(pair).data)


class RefreshView(PublicAPIView):
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
            400: MALFORMED,
            401: _error(
                "Unknown, expired or revoked refresh token, or inactive user.",
                "Refresh token is unknown.",
                "Refresh token has expired.",
                "Refresh token has been revoked.",
            ),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = services.refresh_token_rotate(token=data.validated_data["refresh_token"])
        except services.RefreshTokenError as e:
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
            400: MALFORMED,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token: uuid.UUID = data.validated_data["refresh_token"]
        services.refresh_token_revoke(token=token, all_sessions=data.validated_data["all"])
        return Response(serializers.LogoutOutputSerializer({"success": LOGGED_OUT}).data)


ME_UPDATE_RESPONSES = {
    200: serializers.UserSerializer,
    400: _field_errors(
        "Invalid, too long or already registered email, or too long username.",
        {"email": ["A user with this email already exists."]},
    ),
    401: BAD_ACCESS_TOKEN,
}


class MeView(APIView):
    """The current user, authenticated by an access token."""

    def _update(self, request: Request) -> Response:
        data = serializers.UserUpdateInputSerializer(
            data=request.data, context={"user": request.user}
        )
        data.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **data.validated_data)
        return Response(serializers.UserSerializer(user).data)

    @extend_schema(
        operation_id="me_retrieve",
        summary="The current user",
        responses={200: serializers.UserSerializer, 401: BAD_ACCESS_TOKEN},
    )
    def get(self, request: Request) -> Response:
        # UserSerializer's fields, without building a ModelSerializer on the hot path.
        user = request.user
        return Response({"id": user.pk, "username": user.username, "email": user.email})

    @extend_schema(
        operation_id="me_update",
        summary="Change the current user's username and/or email",
        description="Only `username` and `email` are writable; absent fields stay unchanged.",
        request=serializers.UserUpdateInputSerializer,
        responses=ME_UPDATE_RESPONSES,
    )
    def put(self, request: Request) -> Response:
        return self._update(request)

    @extend_schema(
        operation_id="me_partial_update",
        summary="Change the current user's username and/or email",
        description="Same as PUT: only `username` and `email`; absent fields stay unchanged.",
        request=serializers.UserUpdateInputSerializer,
        responses=ME_UPDATE_RESPONSES,
    )
    def patch(self, request: Request) -> Response:
        return self._update(request)


def _database_status() -> str:
    # One round trip: is_usable() runs SELECT 1 on the open connection (opened if needed);
    # a connection that died with a PostgreSQL restart is replaced, not reported forever.
    try:
        connection.ensure_connection()
        if not connection.is_usable():
            connection.close()
            connection.ensure_connection()
    except DatabaseError as error:
        logger.warning("Health check: database unavailable: %s", error)
        return "unavailable"
    return "ok"


def _cache_status() -> str:
    # One round trip (a GET of a key nobody sets), whatever the cache backend.
    try:
        cache.get("health-probe")
    except REDIS_DOWN_ERRORS as error:
        logger.warning("Health check: cache unavailable: %s", error)
        return "unavailable"
    return "ok"


class HealthView(PublicAPIView):
    @extend_schema(
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
    def get(self, request: Request) -> Response:
        checks = {"database": _database_status(), "cache": _cache_status()}
        healthy = all(value == "ok" for value in checks.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", **checks},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )


# Long enough to spare the service, short enough that a key published for rotation reaches
# cached verifiers well before it signs (README: Access-token keys).
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

"""DRF authentication with access tokens: `Authorization: Bearer <JWT>`.

Split into small steps, as in djangorestframework-simplejwt: header -> raw token -> validated
claims (no query) -> user (one query).
"""

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.models import User
from accounts.token_cache import VerifiedTokenCache
from accounts.tokens import AccessTokenClaims, AccessTokenError, access_token_decode

AUTH_SCHEME = b"bearer"

# One per process, shared by its threads (gunicorn's gthread workers).
access_token_cache: VerifiedTokenCache[AccessTokenClaims] = VerifiedTokenCache()


@receiver(setting_changed)
def _token_settings_changed(*, setting: str, **kwargs: object) -> None:
    # Tokens verified with another key, issuer or audience must be verified again.
    if setting.startswith("JWT_"):
        access_token_cache.clear()


class AccessTokenAuthentication(BaseAuthentication):
    """Authenticate a request by the access token in its Authorization header."""

    def authenticate(self, request: Request) -> tuple[User, AccessTokenClaims] | None:
        """Return (user, claims), None without a Bearer header, or raise AuthenticationFailed."""
        header = self.get_header(request)
        if header is None:
            return None
        claims = self.get_validated_token(self.get_raw_token(header))
        return self.get_user(claims), claims

    def authenticate_header(self, request: Request) -> str:
        # RFC 6750 3: every 401 names the scheme, so DRF answers 401 (not 403) with it.
        return "Bearer"

    def get_header(self, request: Request) -> bytes | None:
        """Return the Authorization header if it uses the Bearer scheme, else None."""
        header = get_authorization_header(request)
        if not header or header.split(None, 1)[0].lower() != AUTH_SCHEME:
            return None
        return header

    def get_raw_token(self, header: bytes) -> str:
        """Return the token of a Bearer header; raise AuthenticationFailed if malformed."""
        parts = header.split()
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            return parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Token is invalid.") from None

    def get_validated_token(self, raw_token: str) -> AccessTokenClaims:
        """Return the token's verified claims (no database call), from the cache of tokens
        already verified when it holds them; raise AuthenticationFailed."""
        try:
            return access_token_cache.verify(
                raw_token, access_token_decode, leeway=settings.JWT_LEEWAY
            )
        except AccessTokenError as e:
            raise exceptions.AuthenticationFailed(str(e)) from e

    def get_user(self, claims: AccessTokenClaims) -> User:
        """Return the active user the token was issued to (one query); raise otherwise."""
        try:
            user = User.objects.get(pk=claims.user_id)
        except User.DoesNotExist:
            raise exceptions.AuthenticationFailed("User not found.") from None
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive.")
        return user

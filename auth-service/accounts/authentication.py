"""DRF authentication with access tokens: `Authorization: Bearer <JWT>`.

Split into small steps, as in djangorestframework-simplejwt: header -> raw token -> validated
claims (no query) -> user, and whether the token's session was ended (one query).
"""

import uuid

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.errors import SESSION_ENDED
from accounts.models import RefreshToken, User
from accounts.token_cache import VerifiedTokenCache
from accounts.token_contract import AccessTokenError, bearer_token
from accounts.tokens import AccessTokenClaims, access_token_decode

# One per process, shared by its threads (gunicorn's gthread workers).
access_token_cache: VerifiedTokenCache[AccessTokenClaims] = VerifiedTokenCache()


@receiver(setting_changed)
def _token_settings_changed(*, setting: str, **kwargs: object) -> None:
    # Tokens verified with another key, issuer or audience must be verified again.
    if setting.startswith("JWT_"):
        access_token_cache.clear()


# Every authenticated request runs this one query: the user, and whether the token's session
# was ended from elsewhere (an index-only lookup in the partial index of ended rows; the family
# is a random UUID that only the user's tokens carry). The ORM would
# compile it each time, which costs more here than the database's answer (about 150 µs of
# 430); raw() skips the compiler and still applies the backend's converters (SQLite's dates).
USER_BY_ID = (
    f'SELECT "u".*, EXISTS (SELECT 1 FROM "{RefreshToken._meta.db_table}" "t" '  # noqa: S608 (the models' own tables)
    'WHERE "t"."family" = %s AND "t"."session_ended") '
    f'AS "token_session_ended" FROM "{User._meta.db_table}" "u" WHERE "u"."id" = %s'
)
_family_field = RefreshToken._meta.get_field("family")


def _family_param(session_id: str) -> object:
    """`sid` as the database stores a family (a uuid, or SQLite's hex text); None, which
    matches no family, for a sid that is no UUID (no session of ours)."""
    try:
        family = uuid.UUID(session_id)
    except ValueError:
        return None
    return _family_field.get_db_prep_value(family, connection)


class AccessTokenAuthentication(BaseAuthentication):
    """Authenticate a request by the access token in its Authorization header."""

    def authenticate(self, request: Request) -> tuple[User, AccessTokenClaims] | None:
        """Return (user, claims), None without an Authorization header, or raise
        AuthenticationFailed."""
        header = self.get_header(request)
        if header is None:
            return None
        claims = self.get_validated_token(self.get_raw_token(header))
        return self.get_user(claims), claims

    def authenticate_header(self, request: Request) -> str:
        # RFC 6750 3: every 401 names the scheme, so DRF answers 401 (not 403) with it.
        return "Bearer"

    def get_header(self, request: Request) -> str | None:
        """Return the Authorization header, None when it is absent or empty."""
        return request.META.get("HTTP_AUTHORIZATION") or None

    def get_raw_token(self, header: str) -> str:
        """Return the token of the header by the shared contract (RFC 6750's "Bearer" and
        one space); raise AuthenticationFailed if it is anything else."""
        try:
            return bearer_token(header)
        except AccessTokenError as e:
            raise exceptions.AuthenticationFailed(e.message) from None

    def get_validated_token(self, raw_token: str) -> AccessTokenClaims:
        """Return the token's verified claims (no database call), from the cache of tokens
        already verified when it holds them; raise AuthenticationFailed."""
        try:
            return access_token_cache.verify(
                raw_token, access_token_decode, leeway=settings.JWT_LEEWAY
            )
        except AccessTokenError as e:
            raise exceptions.AuthenticationFailed(e.message) from e

    def get_user(self, claims: AccessTokenClaims) -> User:
        """Return the active user the token was issued to (one query); raise if there is none,
        or if the token's session was ended from elsewhere (a plain logout is not: its access
        tokens serve until they expire, as the brief's walkthrough uses them)."""
        params = [_family_param(claims.session_id), claims.user_id]
        user = next(iter(User.objects.raw(USER_BY_ID, params)), None)
        if user is None:
            raise exceptions.AuthenticationFailed("User not found.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive.")
        if user.token_session_ended:
            raise exceptions.AuthenticationFailed(SESSION_ENDED)
        return user

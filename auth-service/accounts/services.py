"""Writes and token rules of the accounts app: plain functions, no HTTP.

Refresh tokens follow the OAuth 2.0 Security BCP (RFC 9700, 4.14.2): each use rotates the
token, and a revoked token presented again is treated as stolen, so its whole family (every
token descended from the same login) is revoked.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from constance import config
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import RefreshToken, User
from accounts.tokens import access_token_encode

logger = logging.getLogger(__name__)

EMAIL_TAKEN = "A user with this email already exists."


class InvalidCredentialsError(Exception):
    """Login refused. One message for every cause, so that it tells nothing about the account."""

    message = "Invalid email or password."


class RefreshTokenError(Exception):
    """A refresh token was refused; the message is safe to show to the client."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str


def refresh_token_digest(*, token: uuid.UUID) -> str:
    """Return the SHA-256 hex digest under which `token` is stored.

    Only the digest is stored, so a leaked database holds no usable token. A plain hash is
    enough (no salt or slow hash): the token is 122 random bits, not a guessable password.
    """
    return hashlib.sha256(str(token).encode()).hexdigest()


# --- Users -----------------------------------------------------------------------------------


def user_create(*, email: str, password: str) -> User:
    """Create and return an active user; raise ValidationError if the email is taken.

    The caller has run the password validators. The unique constraint on Lower("email") is the
    final word when two registrations race.
    """
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password)
    except IntegrityError as e:
        raise ValidationError({"email": [EMAIL_TAKEN]}) from e


def user_update(*, user: User, username: str | None = None, email: str | None = None) -> User:
    """Change the given fields of `user` (None leaves a field unchanged) and return it.

    Raise ValidationError if the new email belongs to someone else.
    """
    fields = []
    if username is not None:
        user.username = username
        fields.append("username")
    if email is not None:
        user.email = User.objects.normalize_email(email)
        fields.append("email")
    if fields:
        try:
            with transaction.atomic():
                user.save(update_fields=fields)
        except IntegrityError as e:
            raise ValidationError({"email": [EMAIL_TAKEN]}) from e
    return user


def user_authenticate(*, email: str, password: str) -> User:
    """Return the active user with this email and password; raise InvalidCredentialsError otherwise.

    Django's ModelBackend runs the password hasher even when no user has this email, so the
    response time does not reveal which emails are registered.
    """
    user = authenticate(email=email, password=password)
    if user is None:
        raise InvalidCredentialsError(InvalidCredentialsError.message)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return user


# --- Tokens ----------------------------------------------------------------------------------


def refresh_token_issue(
    *, user_id: int, family: uuid.UUID | None = None, now: datetime | None = None
) -> uuid.UUID:
    """Store a new refresh token for `user_id` and return it: the only time it is visible.

    `family` is the family of the token being rotated, or None to start one (a login). The
    lifetime is read from constance now, so an admin change applies to the next token.
    """
    now = now or timezone.now()
    token = uuid.uuid4()
    RefreshToken.objects.create(
        digest=refresh_token_digest(token=token),
        user_id=user_id,
        family=family or uuid.uuid4(),
        issued_at=now,
        expires_at=now + timedelta(seconds=config.REFRESH_TOKEN_LIFETIME),
    )
    return token


def access_token_issue(*, user_id: int) -> str:
    """Return a new access token for `user_id`, with the lifetime constance holds now."""
    return access_token_encode(
        user_id=user_id, lifetime=timedelta(seconds=config.ACCESS_TOKEN_LIFETIME)
    )


@transaction.atomic
def token_pair_issue(*, user_id: int, family: uuid.UUID | None = None) -> TokenPair:
    """Return a new access token and a new stored refresh token for `user_id`."""
    refresh_token = refresh_token_issue(user_id=user_id, family=family)
    return TokenPair(
        access_token=access_token_issue(user_id=user_id), refresh_token=str(refresh_token)
    )


def refresh_token_rotate(*, token: uuid.UUID) -> TokenPair:
    """Revoke `token` and return a new pair in the same family; raise RefreshTokenError.

    Race-free: the conditional UPDATE claims the token only if it is still active, and its row
    count decides, so of two concurrent calls with one token exactly one gets a pair (on
    PostgreSQL the second UPDATE waits for the first to commit, then matches no row).

    A token that is known but already revoked is a replay (RFC 9700, 4.14.2): the whole family
    is revoked, and this is logged. The revocation commits even though the call fails.
    """
    digest = refresh_token_digest(token=token)
    now = timezone.now()
    with transaction.atomic():
        claimed = RefreshToken.objects.filter(
            digest=digest, revoked_at__isnull=True, expires_at__gt=now
        ).update(revoked_at=now)
        if claimed:
            presented = RefreshToken.objects.select_related("user").get(digest=digest)
            if presented.user.is_active:
                return token_pair_issue(user_id=presented.user_id, family=presented.family)
            rejection = RefreshTokenError("User is inactive.")
        else:
            rejection = _refresh_token_rejection(digest=digest, now=now)
    raise rejection


def _refresh_token_rejection(*, digest: str, now: datetime) -> RefreshTokenError:
    """Explain why the token with `digest` could not be claimed; revoke its family on replay."""
    presented = (
        RefreshToken.objects.filter(digest=digest)
        .values("user_id", "family", "revoked_at", "expires_at")
        .first()
    )
    if presented is None:
        return RefreshTokenError("Refresh token is unknown.")
    if presented["revoked_at"] is not None:
        revoked = RefreshToken.objects.filter(
            family=presented["family"], revoked_at__isnull=True
        ).update(revoked_at=now)
        logger.warning(
            "Revoked refresh token reused: family %s of user %s revoked (%d active token(s)).",
            presented["family"],
            presented["user_id"],
            revoked,
        )
        return RefreshTokenError("Refresh token has been revoked.")
    return RefreshTokenError("Refresh token has expired.")


@transaction.atomic
def refresh_token_revoke(*, token: uuid.UUID, all_sessions: bool = False) -> int:
    """Revoke `token` (logout) and return how many tokens were revoked.

    Idempotent in the sense of RFC 7009 2.2: an unknown, expired or already revoked token is
    not an error. With `all_sessions`, an active token also revokes every other active token
    of its user (logout everywhere); a stale token cannot do that.
    """
    digest = refresh_token_digest(token=token)
    now = timezone.now()
    revoked = RefreshToken.objects.filter(
        digest=digest, revoked_at__isnull=True, expires_at__gt=now
    ).update(revoked_at=now)
    if revoked and all_sessions:
        owner = RefreshToken.objects.filter(digest=digest).values("user_id")
        revoked += RefreshToken.objects.filter(user_id__in=owner, revoked_at__isnull=True).update(
            revoked_at=now
        )
    return revoked


@transaction.atomic
def refresh_tokens_revoke(*, token_ids: list[int]) -> int:
    """Revoke the active tokens among `token_ids` (the admin's action); return how many."""
    return RefreshToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def refresh_tokens_purge(*, revoked_for: timedelta, batch_size: int) -> int:
    """Delete expired tokens and those revoked more than `revoked_for` ago; return the count.

    Deletes in batches of `batch_size`, each its own transaction, so that no long lock is held.
    Revoked tokens are kept a while because they are what detects a replay.
    """
    now = timezone.now()
    stale = RefreshToken.objects.filter(expires_at__lte=now) | RefreshToken.objects.filter(
        revoked_at__lte=now - revoked_for
    )
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(stale.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not batch:
                return deleted
            deleted += RefreshToken.objects.filter(pk__in=batch).delete()[0]

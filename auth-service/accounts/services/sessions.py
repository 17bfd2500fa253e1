"""Sessions: refresh tokens, their rotation and revocation. A session is one refresh-token
family: one login, and every token rotated from it.

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
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.errors import InvalidCredentialsError, RefreshTokenError
from accounts.models import RefreshToken, User, user_lock
from accounts.tokens import access_token_encode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # the access token's lifetime in seconds, as signed (exp - iat)


def refresh_token_digest(*, token: uuid.UUID) -> str:
    """Return the SHA-256 hex digest under which `token` is stored.

    Only the digest is stored, so a leaked database holds no usable token. A plain hash is
    enough (no salt or slow hash): the token is 122 random bits, not a guessable password.
    """
    return hashlib.sha256(str(token).encode()).hexdigest()


def refresh_token_issue(
    *, user_id: int, family: uuid.UUID, authenticated_at: datetime, now: datetime | None = None
) -> uuid.UUID:
    """Store a new refresh token of `family` for `user_id` and return it: the only time it is
    visible. The lifetime is read from constance now, so an admin change applies to the next
    token."""
    now = now or timezone.now()
    token = uuid.uuid4()
    RefreshToken.objects.create(
        digest=refresh_token_digest(token=token),
        user_id=user_id,
        family=family,
        issued_at=now,
        expires_at=now + timedelta(seconds=config.REFRESH_TOKEN_LIFETIME),
        authenticated_at=authenticated_at,
    )
    return token


@transaction.atomic
def token_pair_issue(
    *,
    user_id: int,
    family: uuid.UUID | None = None,
    authenticated_at: datetime | None = None,
) -> TokenPair:
    """Return a new access token and a new stored refresh token for `user_id`.

    `family` and `authenticated_at` are those of the token being rotated; None starts a new
    session (a new family) whose password was proved now. The access token names the session
    (`sid`) and that time (`auth_time`), with the lifetime constance holds now.
    """
    family = family or uuid.uuid4()
    authenticated_at = authenticated_at or timezone.now()
    refresh_token = refresh_token_issue(
        user_id=user_id, family=family, authenticated_at=authenticated_at
    )
    # Read once: the token and its expires_in must tell the same lifetime.
    lifetime = int(config.ACCESS_TOKEN_LIFETIME)
    access_token = access_token_encode(
        user_id=user_id,
        session_id=str(family),
        authenticated_at=authenticated_at,
        lifetime=timedelta(seconds=lifetime),
    )
    return TokenPair(
        access_token=access_token, refresh_token=str(refresh_token), expires_in=lifetime
    )


def session_start(*, user: User) -> TokenPair:
    """Start a session for `user`, who has just proved the password: return its first pair.

    Raise InvalidCredentialsError if every session of the user ended (a password or email
    change, logout everywhere) after `user` was read: the password this login proved may be
    the old one, so no session may outlive that change. Checked under the user's row lock,
    which sessions_end holds while it bumps the generation.
    """
    with transaction.atomic():
        if user_lock(user_id=user.pk) != user.session_generation:
            raise InvalidCredentialsError(InvalidCredentialsError.message)
        return token_pair_issue(user_id=user.pk)


def sessions_end(*, user_id: int, keep_session: str | None = None) -> int:
    """End every session of the user but `keep_session` (a family id): revoke their refresh
    tokens, and bump the session generation so that no login in flight starts one after
    (session_start). Return how many tokens were active.

    The user's row is locked first, as refresh_token_rotate locks it: under READ COMMITTED
    this UPDATE could otherwise miss a token that a rotation in flight inserts.
    """
    with transaction.atomic():
        user_lock(user_id=user_id)
        User.objects.filter(pk=user_id).update(session_generation=F("session_generation") + 1)
        tokens = RefreshToken.objects.filter(user_id=user_id)
        if keep_session is not None:
            tokens = tokens.exclude(family=keep_session)
        tokens.filter(reusable_until__isnull=False).update(reusable_until=None)
        return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def refresh_token_rotate(*, token: uuid.UUID) -> TokenPair:
    """Revoke `token` and return a new pair in the same family; raise RefreshTokenError.

    Race-free: a conditional UPDATE claims the token only while it is active (or, within
    REFRESH_TOKEN_REUSE_GRACE, still reusable), and its row count decides. Any other revoked
    token is a replay (RFC 9700, 4.14.2): its whole family is revoked, and that commits.
    """
    digest = refresh_token_digest(token=token)
    with transaction.atomic():
        owner = RefreshToken.objects.filter(digest=digest).values_list("user_id", flat=True)
        owner_id = owner.first()
        if owner_id is None:
            raise RefreshTokenError(RefreshTokenError.UNKNOWN)
        # Before the claim: a concurrent logout everywhere or password change then either
        # sees the new token or revokes the presented one first (User.sessions_end).
        user_lock(user_id=owner_id)
        now = timezone.now()
        grace = config.REFRESH_TOKEN_REUSE_GRACE
        presented = RefreshToken.objects.filter(digest=digest, expires_at__gt=now)
        claimed = presented.filter(revoked_at__isnull=True).update(
            revoked_at=now, reusable_until=now + timedelta(seconds=grace) if grace else None
        )
        if claimed:
            # Only the token rotated last keeps a grace: an older one must not fork the family.
            stored = RefreshToken.objects.select_related("user").get(digest=digest)
            RefreshToken.objects.filter(family=stored.family, reusable_until__isnull=False).exclude(
                digest=digest
            ).update(reusable_until=None)
        else:
            claimed = presented.filter(reusable_until__gt=now).update(reusable_until=None)
            if claimed:
                logger.info("Refresh token reused within the grace period: user %s.", owner_id)
                stored = RefreshToken.objects.select_related("user").get(digest=digest)
        if claimed:
            if stored.user.is_active:
                return token_pair_issue(
                    user_id=stored.user_id,
                    family=stored.family,
                    authenticated_at=stored.authenticated_at,
                )
            rejection = RefreshTokenError(RefreshTokenError.INACTIVE)
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
        return RefreshTokenError(RefreshTokenError.UNKNOWN)
    if presented["revoked_at"] is not None:
        _family_grace_end(family=presented["family"])
        family = RefreshToken.objects.filter(family=presented["family"])
        revoked = family.filter(revoked_at__isnull=True).update(revoked_at=now)
        # A rotation issues the successor when it revokes the token; a logout, a session's end
        # or the admin issue none. Only a rotated token presented again is a replay.
        rotated = (
            family.filter(issued_at__gte=presented["revoked_at"]).exclude(digest=digest).exists()
        )
        if rotated:
            logger.warning(
                "Revoked refresh token reused: family %s of user %s revoked (%d active token(s)).",
                presented["family"],
                presented["user_id"],
                revoked,
            )
        else:
            logger.info(
                "Refresh token presented after its session ended (logout, password change, "
                "admin): family %s of user %s.",
                presented["family"],
                presented["user_id"],
            )
        return RefreshTokenError(RefreshTokenError.REVOKED)
    return RefreshTokenError(RefreshTokenError.EXPIRED)


def _family_grace_end(*, family: uuid.UUID) -> None:
    """No token of `family` may be exchanged in a grace period any more: a logout or a
    revoked family must not come back through its rotated parent."""
    RefreshToken.objects.filter(family=family, reusable_until__isnull=False).update(
        reusable_until=None
    )


@transaction.atomic
def refresh_token_revoke(*, token: uuid.UUID, all_sessions: bool = False) -> int:
    """Revoke `token` (logout) and return how many tokens were revoked.

    Idempotent in the sense of RFC 7009 2.2: an unknown, expired or already revoked token is
    not an error. A revoked token ends its whole family, as a refresh replay would: a rotated
    token is how a client that lost track of its newest one still logs out. With
    `all_sessions`, a live token also ends every other session of its user (sessions_end); a
    stale token cannot do that.
    """
    digest = refresh_token_digest(token=token)
    now = timezone.now()
    presented = (
        RefreshToken.objects.filter(digest=digest)
        .values("user_id", "family", "revoked_at", "expires_at")
        .first()
    )
    if presented is None:
        return 0
    user_lock(user_id=presented["user_id"])
    _family_grace_end(family=presented["family"])
    live = RefreshToken.objects.filter(digest=digest, revoked_at__isnull=True, expires_at__gt=now)
    if live.update(revoked_at=now):
        revoked = 1
        if all_sessions:
            revoked += sessions_end(user_id=presented["user_id"])
        return revoked
    if presented["revoked_at"] is None:
        return 0  # expired: its family lives on through newer tokens, if any
    return RefreshToken.objects.filter(family=presented["family"], revoked_at__isnull=True).update(
        revoked_at=now
    )


@transaction.atomic
def refresh_tokens_revoke(*, token_ids: list[int]) -> int:
    """Revoke the active tokens among `token_ids` (the admin's action); return how many."""
    selected = RefreshToken.objects.filter(pk__in=token_ids)
    for family in selected.order_by().values_list("family", flat=True).distinct():
        _family_grace_end(family=family)
    return selected.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


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

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
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from accounts.clients import NO_CLIENT, Client
from accounts.errors import InvalidCredentialsError, RefreshTokenError
from accounts.models import RefreshToken, User, rows_delete_in_batches, user_lock
from accounts.services.events import Event, Outcome, Reason, Signal, event_record
from accounts.tokens import access_token_encode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # the access token's lifetime in seconds, as signed (exp - iat)
    session_id: str  # the family: the session's id, never a token


def refresh_token_digest(*, token: uuid.UUID) -> str:
    """Return the SHA-256 hex digest under which `token` is stored.

    Only the digest is stored, so a leaked database holds no usable token. A plain hash is
    enough (no salt or slow hash): the token is 122 random bits, not a guessable password.
    """
    return hashlib.sha256(str(token).encode()).hexdigest()


def refresh_token_issue(
    *, user_id: int, client: Client, rotated: RefreshToken | None, now: datetime
) -> RefreshToken:
    """Store a new refresh token for `user_id`, issued to `client`, and return its row with the
    token itself in `row.token`: the only time it is visible.

    The token continues the session of `rotated` (its family, login and last proof of the
    password); None starts a new session, logged in now by `client`. The lifetime is read
    from constance now, so an admin change applies to the next token.
    """
    token = uuid.uuid4()
    row = RefreshToken(
        digest=refresh_token_digest(token=token),
        user_id=user_id,
        issued_at=now,
        expires_at=now + timedelta(seconds=config.REFRESH_TOKEN_LIFETIME),
        ip=client.ip,
        user_agent=client.user_agent,
    )
    if rotated is None:
        row.family = uuid.uuid4()
        row.authenticated_at = row.session_started_at = now
        row.login_ip, row.login_user_agent = client.ip, client.user_agent
    else:
        row.family = rotated.family
        row.authenticated_at = rotated.authenticated_at
        row.session_started_at = rotated.session_started_at
        row.login_ip, row.login_user_agent = rotated.login_ip, rotated.login_user_agent
    row.save(force_insert=True)
    row.token = token
    return row


@transaction.atomic
def token_pair_issue(
    *, user_id: int, client: Client = NO_CLIENT, rotated: RefreshToken | None = None
) -> TokenPair:
    """Return a new access token and a new stored refresh token for `user_id`, issued to
    `client`, continuing the session of `rotated` (None: a new session, whose password was
    proved now).

    The access token names the session (`sid`) and when its password was last proved
    (`auth_time`), with the lifetime constance holds now.
    """
    refresh = refresh_token_issue(
        user_id=user_id, client=client, rotated=rotated, now=timezone.now()
    )
    # Read once: the token and its expires_in must tell the same lifetime.
    lifetime = int(config.ACCESS_TOKEN_LIFETIME)
    access_token = access_token_encode(
        user_id=user_id,
        session_id=str(refresh.family),
        authenticated_at=refresh.authenticated_at,
        lifetime=timedelta(seconds=lifetime),
    )
    event_record(
        Signal.ACCESS_TOKEN_ISSUED, user_id=user_id, client=client, session_id=refresh.family
    )
    return TokenPair(
        access_token=access_token,
        refresh_token=str(refresh.token),
        expires_in=lifetime,
        session_id=str(refresh.family),
    )


def session_start(*, user: User, client: Client = NO_CLIENT) -> TokenPair:
    """Start a session for `user`, who has just proved the password: return its first pair.

    Raise InvalidCredentialsError if every session of the user ended (a password or email
    change, logout everywhere) after `user` was read: the password this login proved may be
    the old one, so no session may outlive that change. Checked under the user's row lock,
    which sessions_end holds while it bumps the generation.
    """
    with transaction.atomic():
        current = user_lock(user_id=user.pk) == user.session_generation
        pair = token_pair_issue(user_id=user.pk, client=client) if current else None
    if pair is None:
        event_record(
            Event.LOGIN,
            Outcome.FAILURE,
            user_id=user.pk,
            client=client,
            reason=Reason.SESSIONS_ENDED,
        )
        raise InvalidCredentialsError(InvalidCredentialsError.message)
    event_record(Event.LOGIN, user_id=user.pk, client=client, session_id=pair.session_id)
    return pair


def sessions_end(*, user_id: int, keep_session: str | None = None) -> int:
    """End every session of the user but `keep_session` (a family id): revoke their refresh
    tokens, marked as ended (their access tokens are refused at once), and bump the session
    generation so that no login in flight starts one after (session_start). Return how many
    tokens were active.

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
        return tokens.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now(), session_ended=True
        )


def refresh_token_rotate(*, token: uuid.UUID, client: Client = NO_CLIENT) -> TokenPair:
    """Revoke `token` and return a new pair in the same family, issued to `client`; raise
    RefreshTokenError.

    Race-free: a conditional UPDATE claims the token only while it is active (or, within
    REFRESH_TOKEN_REUSE_GRACE, still reusable), and its row count decides. Any other revoked
    token is a replay (RFC 9700, 4.14.2): its whole family is revoked, and that commits.
    """
    digest = refresh_token_digest(token=token)
    with transaction.atomic():
        owner = RefreshToken.objects.filter(digest=digest).values_list("user_id", flat=True)
        owner_id = owner.first()
        if owner_id is None:
            event_record(Signal.REFRESH, Outcome.FAILURE, client=client, reason="unknown")
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
                pair = token_pair_issue(user_id=stored.user_id, client=client, rotated=stored)
                event_record(
                    Signal.REFRESH, user_id=owner_id, client=client, session_id=pair.session_id
                )
                return pair
            event_record(
                Signal.REFRESH, Outcome.FAILURE, user_id=owner_id, client=client, reason="inactive"
            )
            rejection = RefreshTokenError(RefreshTokenError.INACTIVE)
        else:
            rejection = _refresh_token_rejection(digest=digest, now=now, client=client)
    raise rejection


def _refresh_token_rejection(*, digest: str, now: datetime, client: Client) -> RefreshTokenError:
    """Explain why the token with `digest` could not be claimed; on replay, end its session
    (its family is revoked, marked as ended: the presented token too, so that the mark stays
    when no token of the family was live)."""
    presented = (
        RefreshToken.objects.filter(digest=digest)
        .values("user_id", "family", "revoked_at", "expires_at")
        .first()
    )
    if presented is None:
        event_record(Signal.REFRESH, Outcome.FAILURE, client=client, reason="unknown")
        return RefreshTokenError(RefreshTokenError.UNKNOWN)
    # The refused refresh, by reason (auth_events_total, the audit log).
    refused = {"user_id": presented["user_id"], "client": client}
    if presented["revoked_at"] is not None:
        _family_grace_end(family=presented["family"])
        family = RefreshToken.objects.filter(family=presented["family"])
        # A rotation issues the successor when it revokes the token; a logout, a session's end
        # or the admin issue none. Only a rotated token presented again is a replay: that one
        # ends the session as if from elsewhere (marked, so its access tokens are refused; the
        # presented token too, so that the mark stays when no token of the family was live).
        rotated = (
            family.filter(issued_at__gte=presented["revoked_at"]).exclude(digest=digest).exists()
        )
        if rotated:
            revoked = family.filter(revoked_at__isnull=True).update(
                revoked_at=now, session_ended=True
            )
            family.filter(digest=digest).update(session_ended=True)
            logger.warning(
                "Revoked refresh token reused: family %s of user %s revoked (%d active token(s)).",
                presented["family"],
                presented["user_id"],
                revoked,
            )
            event_record(
                Event.REFRESH_REPLAYED,
                Outcome.FAILURE,
                user_id=presented["user_id"],
                client=client,
                session_id=presented["family"],
            )
            event_record(Signal.REFRESH, Outcome.FAILURE, **refused, reason="replay")
        else:
            event_record(Signal.REFRESH, Outcome.FAILURE, **refused, reason="revoked")
            family.filter(revoked_at__isnull=True).update(revoked_at=now)
            logger.info(
                "Refresh token presented after its session ended (logout, password change, "
                "admin): family %s of user %s.",
                presented["family"],
                presented["user_id"],
            )
        return RefreshTokenError(RefreshTokenError.REVOKED)
    event_record(Signal.REFRESH, Outcome.FAILURE, **refused, reason="expired")
    return RefreshTokenError(RefreshTokenError.EXPIRED)


def _family_grace_end(*, family: uuid.UUID) -> None:
    """No token of `family` may be exchanged in a grace period any more: a logout or a
    revoked family must not come back through its rotated parent."""
    RefreshToken.objects.filter(family=family, reusable_until__isnull=False).update(
        reusable_until=None
    )


def refresh_token_revoke(
    *, token: uuid.UUID, all_sessions: bool = False, client: Client = NO_CLIENT
) -> int:
    """Revoke `token` (logout) and return how many tokens were revoked; record the session's
    end when one did.

    A plain logout leaves the session's access tokens valid until they expire (the brief's
    walkthrough asks /api/me/ after it); the other sessions that `all_sessions` ends are marked
    ended, refused at once (sessions_end).

    Idempotent in the sense of RFC 7009 2.2: an unknown, expired or already revoked token is
    not an error. A revoked token ends its whole family, as a refresh replay would: a rotated
    token is how a client that lost track of its newest one still logs out. With
    `all_sessions`, a live token also ends every other session of its user (sessions_end); a
    stale token cannot do that.
    """
    with transaction.atomic():
        revoked, presented = _refresh_token_revoke(token=token, all_sessions=all_sessions)
    if revoked:
        reason = Reason.LOGOUT_ALL if all_sessions else Reason.LOGOUT
        event_record(
            Event.SESSION_ENDED,
            user_id=presented["user_id"],
            client=client,
            session_id=presented["family"],
            reason=reason,
        )
    return revoked


def _refresh_token_revoke(*, token: uuid.UUID, all_sessions: bool) -> tuple[int, dict | None]:
    digest = refresh_token_digest(token=token)
    now = timezone.now()
    presented = (
        RefreshToken.objects.filter(digest=digest)
        .values("user_id", "family", "revoked_at", "expires_at")
        .first()
    )
    if presented is None:
        return 0, None
    user_lock(user_id=presented["user_id"])
    _family_grace_end(family=presented["family"])
    live = RefreshToken.objects.filter(digest=digest, revoked_at__isnull=True, expires_at__gt=now)
    if live.update(revoked_at=now):
        revoked = 1
        if all_sessions:
            revoked += sessions_end(user_id=presented["user_id"])
        return revoked, presented
    if presented["revoked_at"] is None:
        return 0, presented  # expired: its family lives on through newer tokens, if any
    family = RefreshToken.objects.filter(family=presented["family"], revoked_at__isnull=True)
    return family.update(revoked_at=now), presented


def session_list(*, user_id: int | None = None) -> QuerySet[RefreshToken]:
    """Return the user's live sessions (every user's with None), newest activity first: of
    each family with a live refresh token, its newest one (a grace-period exchange can leave
    two live), which carries the session's login and its last use."""
    now = timezone.now()
    live = RefreshToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    if user_id is not None:
        live = live.filter(user_id=user_id)
    newer = live.filter(family=OuterRef("family"), pk__gt=OuterRef("pk"))
    return live.filter(~Exists(newer)).order_by("-issued_at", "-pk")


def session_end(
    *, user_id: int, session_id: uuid.UUID, client: Client = NO_CLIENT, reason: Reason
) -> bool:
    """End the session `session_id` of the user (DELETE /api/sessions/{id}/, the admin):
    revoke its live refresh tokens, marked as ended so that its access tokens are refused at
    once. Return False if the user has no such live session (unknown, ended, or another
    user's: the caller cannot tell which).

    Race-free as sessions_end: the user's row is locked first, as a rotation locks it, so a
    rotation in flight either has committed its new token (revoked here) or finds the
    presented one revoked.
    """
    with transaction.atomic():
        user_lock(user_id=user_id)
        now = timezone.now()
        tokens = RefreshToken.objects.filter(user_id=user_id, family=session_id)
        tokens.filter(reusable_until__isnull=False).update(reusable_until=None)
        ended = tokens.filter(revoked_at__isnull=True, expires_at__gt=now).update(
            revoked_at=now, session_ended=True
        )
    if ended:
        event_record(
            Event.SESSION_ENDED,
            user_id=user_id,
            client=client,
            session_id=session_id,
            reason=reason,
        )
    return bool(ended)


def sessions_end_others(
    *, user_id: int, current_session: uuid.UUID | None, client: Client = NO_CLIENT
) -> int:
    """End every session of the user but `current_session` (POST /api/sessions/end-others/),
    with sessions_end's guarantee against concurrent refreshes and logins; return how many
    refresh tokens were live."""
    keep = None if current_session is None else str(current_session)
    ended = sessions_end(user_id=user_id, keep_session=keep)
    event_record(
        Event.SESSION_ENDED,
        user_id=user_id,
        client=client,
        session_id=current_session,
        reason=Reason.ENDED_OTHERS,
    )
    return ended


@transaction.atomic
def refresh_tokens_revoke(*, token_ids: list[int]) -> int:
    """Revoke the active tokens among `token_ids` (the admin's action), marked as ended as
    sessions ended from elsewhere are; return how many."""
    selected = RefreshToken.objects.filter(pk__in=token_ids)
    for family in selected.order_by().values_list("family", flat=True).distinct():
        _family_grace_end(family=family)
    return selected.filter(revoked_at__isnull=True).update(
        revoked_at=timezone.now(), session_ended=True
    )


def refresh_tokens_purge(*, revoked_for: timedelta, batch_size: int) -> int:
    """Delete expired tokens and those revoked more than `revoked_for` ago, in batches of
    `batch_size`; return the count. Revoked tokens are kept a while because they are what
    detects a replay."""
    now = timezone.now()
    stale = RefreshToken.objects.filter(expires_at__lte=now) | RefreshToken.objects.filter(
        revoked_at__lte=now - revoked_for
    )
    return rows_delete_in_batches(stale, batch_size=batch_size)

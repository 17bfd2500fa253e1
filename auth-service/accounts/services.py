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
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.mail import SERVICE_NAME, mail_message_build, mail_send
from accounts.models import RefreshToken, User, user_lock
from accounts.tokens import AccessTokenClaims, access_token_encode

logger = logging.getLogger(__name__)

EMAIL_TAKEN = "A user with this email already exists."


class InvalidCredentialsError(Exception):
    """Login refused. One message for every cause, so that it tells nothing about the account."""

    message = "Invalid email or password."


class EmailNotVerifiedError(Exception):
    """Login refused: the password is right, but the email awaits verification."""

    message = (
        "Email address is not verified. Follow the link sent to it, or ask for a new one at "
        "/api/verify-email/resend/."
    )


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
    final word when two registrations race. With REQUIRE_EMAIL_VERIFICATION, a verification
    link is mailed to the new address.
    """
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
    except IntegrityError as e:
        raise ValidationError({"email": [EMAIL_TAKEN]}) from e
    if settings.REQUIRE_EMAIL_VERIFICATION:
        _email_verification_mail(user=user, send=True)
    return user


def user_update(
    *,
    user: User,
    session: AccessTokenClaims | None = None,
    username: str | None = None,
    email: str | None = None,
    current_password: str | None = None,
) -> User:
    """Change the given fields of `user` (None leaves a field unchanged) and return it.

    The email is the login, so changing it (not merely its case) needs proof that the owner is
    at the keyboard: `session` (the access token's claims) signed in within
    REAUTHENTICATION_WINDOW and is still live, or the right `current_password`. Nothing is
    said about the new address (taken or not) before that proof. The change ends every
    session but `session`. Raise ValidationError for a missing or wrong proof, or an email
    that belongs to someone else.
    """
    email = None if email is None else User.objects.normalize_email(email)
    email_changed = email is not None and email != user.email
    if email_changed:
        _recent_authentication_check(user=user, session=session, current_password=current_password)
        if User.objects.email_taken(email, exclude_pk=user.pk):
            raise ValidationError({"email": [EMAIL_TAKEN]})
    elif username is None:
        return user
    with transaction.atomic():  # both fields or neither
        if username is not None:
            user.username = username
            user.save(update_fields=["username"])
        if email_changed:
            user_email_set(user=user, email=email, keep_session=session and session.session_id)
    return user


def user_email_set(*, user: User, email: str, keep_session: str | None = None) -> None:
    """Give `user` a new email, the one rule of the API and the admin: the address is left
    unverified (with REQUIRE_EMAIL_VERIFICATION a link is mailed to it) and every session but
    `keep_session` (the session that asked) ends. Raise ValidationError if the email is taken.
    """
    user.email = email
    user.email_verified_at = None
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified_at"])
            sessions_end(user_id=user.pk, keep_session=keep_session)
    except IntegrityError as e:
        raise ValidationError({"email": [EMAIL_TAKEN]}) from e
    if settings.REQUIRE_EMAIL_VERIFICATION:
        _email_verification_mail(user=user, send=True)


def _recent_authentication_check(
    *, user: User, session: AccessTokenClaims | None, current_password: str | None
) -> None:
    """Pass if `current_password` is right, or, without one, if `session` proved the password
    within REAUTHENTICATION_WINDOW (read now, so an admin change applies at once) and still
    has a live refresh token (a session that logged out proves nothing)."""
    if current_password is not None:
        _current_password_check(user=user, current_password=current_password)
        return
    if session is None:
        raise ValidationError({"current_password": [REAUTHENTICATION_REQUIRED]})
    now = timezone.now()
    window = timedelta(seconds=config.REAUTHENTICATION_WINDOW)
    recent = now - session.authenticated_at <= window and (
        RefreshToken.objects.filter(
            user_id=user.pk, family=session.session_id, revoked_at__isnull=True, expires_at__gt=now
        ).exists()
    )
    if not recent:
        raise ValidationError({"current_password": [REAUTHENTICATION_REQUIRED]})


def user_authenticate(*, email: str, password: str) -> User:
    """Return the active user with this email and password; raise InvalidCredentialsError otherwise.

    Django's ModelBackend runs the password hasher even when no user has this email, so the
    response time does not reveal which emails are registered. With REQUIRE_EMAIL_VERIFICATION,
    the right password of an unverified user raises EmailNotVerifiedError.
    """
    user = authenticate(email=email, password=password)
    if user is None:
        raise InvalidCredentialsError(InvalidCredentialsError.message)
    if settings.REQUIRE_EMAIL_VERIFICATION and user.email_verified_at is None:
        raise EmailNotVerifiedError(EmailNotVerifiedError.message)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return user


def user_delete(*, user: User, current_password: str) -> None:
    """Delete `user` and, by cascade, every refresh token; raise ValidationError if
    `current_password` is wrong. Access tokens already issued die when they expire."""
    _current_password_check(user=user, current_password=current_password)
    with transaction.atomic():
        user_lock(user_id=user.pk)  # before the cascade touches the tokens (user_lock)
        user.delete()


# --- Passwords and mailed links --------------------------------------------------------------
# Reset and verification links carry the user's id (base64) and a token from Django's
# PasswordResetTokenGenerator: an HMAC of the user's state under SECRET_KEY, with a timestamp
# checked against PASSWORD_RESET_TIMEOUT. Nothing is stored; a link dies when the state it
# hashed changes (for a reset: the password, last login or email; for a verification: the
# verification itself or the email), which is what makes it single-use.

WRONG_CURRENT_PASSWORD = "Current password is incorrect."  # noqa: S105 (a message)
REAUTHENTICATION_REQUIRED = (
    "Changing the email needs a recent sign-in: sign in again or give current_password."
)
LINK_INVALID = "The link is invalid, has already been used or has expired."


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens of verification links: another salt, so that no reset token verifies an email,
    and a hash of the verification state, so that a link works once."""

    key_salt = "accounts.services.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        verified = user.email_verified_at
        verified_text = "" if verified is None else verified.replace(microsecond=0, tzinfo=None)
        return f"{user.pk}{user.email}{verified_text}{timestamp}"


email_verification_token_generator = EmailVerificationTokenGenerator()


def _current_password_check(*, user: User, current_password: str) -> None:
    if not user.check_password(current_password):
        raise ValidationError({"current_password": [WRONG_CURRENT_PASSWORD]})


def _new_password_validate(*, user: User, new_password: str) -> None:
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as e:
        raise ValidationError({"new_password": list(e.messages)}) from e


def _link_build(*, template: str, user: User, generator: PasswordResetTokenGenerator) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return template.replace("{uid}", uid).replace("{token}", generator.make_token(user))


def _link_user_lock(*, uid: str, token: str, generator: PasswordResetTokenGenerator) -> User:
    """Return the active user a link was made for, its row locked until the transaction ends,
    so that two uses of one link cannot both pass; raise ValidationError otherwise."""
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
        user = User.objects.select_for_update().get(pk=pk, is_active=True)
    except (ValueError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not generator.check_token(user, token):
        raise ValidationError({"token": [LINK_INVALID]})
    return user


def _duration_text(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _user_for_mail(*, email: str) -> User | None:
    """Return the active user with this email (any case), or None."""
    try:
        user = User.objects.get_by_natural_key(email)
    except User.DoesNotExist:
        return None
    return user if user.is_active else None


def _stand_in_user(*, email: str) -> User:
    """An unsaved user, so that a request for an unknown email does the same work as for a
    known one (a token and a message are built, only not sent)."""
    return User(email=User.objects.normalize_email(email), password="")


def _password_reset_mail(*, user: User, send: bool) -> None:
    link = _link_build(
        template=settings.PASSWORD_RESET_URL, user=user, generator=default_token_generator
    )
    message = mail_message_build(
        to=user.email,
        subject="Reset your password",
        body=(
            f"Someone, hopefully you, asked to reset the password of the {SERVICE_NAME} "
            f"account {user.email}.\n\n"
            f"Choose a new password here:\n\n{link}\n\n"
            f"The link works once, within {_duration_text(settings.PASSWORD_RESET_TIMEOUT)}. "
            "If you did not ask for it, ignore this message: your password stays as it is.\n"
        ),
    )
    if send:
        mail_send(message=message, purpose="password reset", user_id=user.pk)


def _email_verification_mail(*, user: User, send: bool) -> None:
    link = _link_build(
        template=settings.EMAIL_VERIFICATION_URL,
        user=user,
        generator=email_verification_token_generator,
    )
    message = mail_message_build(
        to=user.email,
        subject="Verify your email address",
        body=(
            f"Confirm that {user.email} is the address of your {SERVICE_NAME} account by "
            f"following this link:\n\n{link}\n\n"
            f"The link works once, within {_duration_text(settings.PASSWORD_RESET_TIMEOUT)}. "
            "If you did not create an account, ignore this message.\n"
        ),
    )
    if send:
        mail_send(message=message, purpose="email verification", user_id=user.pk)


def password_change(*, user: User, current_password: str, new_password: str) -> TokenPair:
    """Set `user`'s password and return a fresh pair; every earlier refresh token is revoked.

    Raise ValidationError if `current_password` is wrong or `new_password` fails the
    validators.
    """
    _current_password_check(user=user, current_password=current_password)
    _new_password_validate(user=user, new_password=new_password)
    with transaction.atomic():
        user_password_set(user=user, password=new_password)
        return token_pair_issue(user_id=user.pk)


def user_password_set(*, user: User, password: str) -> None:
    """Set and save `user`'s password and end every session: the one rule of every path that
    changes a password (the API, a reset link, the admin)."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        sessions_end(user_id=user.pk)


def password_reset_request(*, email: str) -> None:
    """Mail a reset link to the active user with `email`, if there is one.

    The same work is done either way (a lookup, a token, a message) and the message is sent
    off the request thread, so neither the answer nor its time tells whether the email is
    registered.
    """
    user = _user_for_mail(email=email)
    known = user is not None and user.has_usable_password()
    _password_reset_mail(user=user if known else _stand_in_user(email=email), send=known)


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set the password of the user a reset link was made for; every refresh token is revoked.

    Raise ValidationError for a wrong, used or expired link, or a password failing the
    validators. The link proves the address, so an unverified email becomes verified.
    """
    user = _link_user_lock(uid=uid, token=token, generator=default_token_generator)
    _new_password_validate(user=user, new_password=new_password)
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    user_password_set(user=user, password=new_password)
    return user


@transaction.atomic
def email_verify(*, uid: str, token: str) -> User:
    """Mark the email of the user a verification link was made for as verified; raise
    ValidationError for a wrong, used or expired link."""
    user = _link_user_lock(uid=uid, token=token, generator=email_verification_token_generator)
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    return user


def email_verification_request(*, email: str) -> None:
    """Mail a new verification link to the active, unverified user with `email`, if there is
    one and REQUIRE_EMAIL_VERIFICATION is on; the same work either way, as for a reset."""
    user = _user_for_mail(email=email)
    pending = (
        settings.REQUIRE_EMAIL_VERIFICATION and user is not None and user.email_verified_at is None
    )
    _email_verification_mail(user=user if pending else _stand_in_user(email=email), send=pending)


# --- Tokens ----------------------------------------------------------------------------------


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
    access_token = access_token_encode(
        user_id=user_id,
        session_id=str(family),
        authenticated_at=authenticated_at,
        lifetime=timedelta(seconds=config.ACCESS_TOKEN_LIFETIME),
    )
    return TokenPair(access_token=access_token, refresh_token=str(refresh_token))


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
            raise RefreshTokenError("Refresh token is unknown.")
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
        _family_grace_end(family=presented["family"])
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

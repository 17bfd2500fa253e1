"""Users: registration, login, profile changes, passwords."""

from datetime import timedelta

from constance import config
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.clients import NO_CLIENT, Client
from accounts.errors import (
    EMAIL_TAKEN,
    REAUTHENTICATION_REQUIRED,
    WRONG_CURRENT_PASSWORD,
    EmailNotVerifiedError,
    InvalidCredentialsError,
)
from accounts.models import RefreshToken, User, user_lock
from accounts.services.events import Event, Outcome, Reason, event_record
from accounts.services.links import (
    email_verification_mail,
    email_verification_token_generator,
    link_user_lock,
)
from accounts.services.sessions import TokenPair, sessions_end, token_pair_issue
from accounts.tokens import AccessTokenClaims


def user_create(*, email: str, password: str, client: Client = NO_CLIENT) -> User:
    """Create and return an active user; raise ValidationError if the email is taken.

    The caller has run the password validators. The unique constraint on Lower("email") is the
    final word when two registrations race. With REQUIRE_EMAIL_VERIFICATION, a verification
    link is mailed to the new address.
    """
    user = User(email=email)
    user.set_password(password)  # slow by design: before the transaction, holding no lock
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as e:
        raise ValidationError({"email": [EMAIL_TAKEN]}) from e
    event_record(Event.REGISTERED, user_id=user.pk, client=client)
    if settings.REQUIRE_EMAIL_VERIFICATION:
        email_verification_mail(user=user, send=True)
    return user


def user_update(
    *,
    user: User,
    session: AccessTokenClaims | None = None,
    username: str | None = None,
    email: str | None = None,
    current_password: str | None = None,
    client: Client = NO_CLIENT,
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
            user_email_set(
                user=user, email=email, keep_session=session and session.session_id, client=client
            )
    return user


def user_email_set(
    *,
    user: User,
    email: str,
    keep_session: str | None = None,
    client: Client = NO_CLIENT,
    reason: Reason | str = "",
) -> None:
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
    event_record(
        Event.EMAIL_CHANGED, user_id=user.pk, client=client, session_id=keep_session, reason=reason
    )
    if settings.REQUIRE_EMAIL_VERIFICATION:
        email_verification_mail(user=user, send=True)


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


def user_authenticate(*, email: str, password: str, client: Client = NO_CLIENT) -> User:
    """Return the active user with this email and password; raise InvalidCredentialsError otherwise.

    Django's ModelBackend runs the password hasher even when no user has this email, so the
    response time does not reveal which emails are registered. With REQUIRE_EMAIL_VERIFICATION,
    the right password of an unverified user raises EmailNotVerifiedError. A refusal is
    recorded as a failed login.
    """
    user = authenticate(email=email, password=password)
    if user is None:
        login_failure_record(email=email, client=client)
        raise InvalidCredentialsError(InvalidCredentialsError.message)
    if settings.REQUIRE_EMAIL_VERIFICATION and user.email_verified_at is None:
        login_failure_record(email=email, client=client, reason=Reason.UNVERIFIED)
        raise EmailNotVerifiedError(EmailNotVerifiedError.message)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return user


def login_throttled_record(*, email: str, client: Client) -> None:
    """Record a login of `email` refused by the failed-login limits, its password unchecked."""
    login_failure_record(email=email, client=client, reason=Reason.THROTTLED)


def login_failure_record(*, email: str, client: Client, reason: Reason | None = None) -> None:
    """Record a failed login of `email` (by default a wrong password, or an inactive or unknown
    account, as the account says), for the account if there is one. The same lookup and write
    either way, so that the time tells nothing about the account."""
    try:
        account = User.objects.get_by_natural_key(email)
    except User.DoesNotExist:
        account = None
    if account is None:
        user_id, reason = None, reason or Reason.UNKNOWN_ACCOUNT
    else:
        user_id = account.pk
        reason = reason or (Reason.BAD_PASSWORD if account.is_active else Reason.INACTIVE)
    event_record(Event.LOGIN, Outcome.FAILURE, user_id=user_id, client=client, reason=reason)


def user_delete(*, user: User, current_password: str, client: Client = NO_CLIENT) -> None:
    """Delete `user` and, by cascade, every refresh token; raise ValidationError if
    `current_password` is wrong. Access tokens already issued die when they expire. The
    account's security events stay, unlinked, until their retention ends."""
    _current_password_check(user=user, current_password=current_password)
    with transaction.atomic():
        user_lock(user_id=user.pk)  # before the cascade touches the tokens (user_lock)
        event_record(Event.ACCOUNT_DELETED, user_id=user.pk, client=client)
        user.delete()


def _current_password_check(*, user: User, current_password: str) -> None:
    if not user.check_password(current_password):
        raise ValidationError({"current_password": [WRONG_CURRENT_PASSWORD]})


def _new_password_validate(*, user: User, new_password: str) -> None:
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as e:
        raise ValidationError({"new_password": list(e.messages)}) from e


def password_change(
    *, user: User, current_password: str, new_password: str, client: Client = NO_CLIENT
) -> TokenPair:
    """Set `user`'s password and return a fresh pair; every earlier refresh token is revoked.

    Raise ValidationError if `current_password` is wrong or `new_password` fails the
    validators.
    """
    _current_password_check(user=user, current_password=current_password)
    _new_password_validate(user=user, new_password=new_password)
    user_password_set(user=user, password=new_password)
    pair = token_pair_issue(user_id=user.pk, client=client)
    event_record(Event.PASSWORD_CHANGED, user_id=user.pk, client=client, session_id=pair.session_id)
    return pair


def user_password_set(*, user: User, password: str) -> None:
    """Set and save `user`'s password and end every session: the one rule of every path that
    changes a password (the API, a reset link, the admin)."""
    user.set_password(password)  # slow by design: before the transaction, holding no lock
    with transaction.atomic():
        user.save(update_fields=["password"])
        sessions_end(user_id=user.pk)


def user_password_set_by_admin(*, user: User, client: Client = NO_CLIENT) -> None:
    """The admin has set a new (or unusable) password on `user`: every session ends, as in
    the API, and it is recorded."""
    sessions_end(user_id=user.pk)
    event_record(Event.PASSWORD_CHANGED, user_id=user.pk, client=client, reason=Reason.ADMIN)


@transaction.atomic
def password_reset_confirm(
    *, uid: str, token: str, new_password: str, client: Client = NO_CLIENT
) -> User:
    """Set the password of the user a reset link was made for; every refresh token is revoked.

    Raise ValidationError for a wrong, used or expired link, or a password failing the
    validators. The link proves the address, so an unverified email becomes verified.
    """
    user = link_user_lock(uid=uid, token=token, generator=default_token_generator)
    _new_password_validate(user=user, new_password=new_password)
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    user_password_set(user=user, password=new_password)
    event_record(Event.PASSWORD_RESET_COMPLETED, user_id=user.pk, client=client)
    return user


@transaction.atomic
def email_verify(*, uid: str, token: str) -> User:
    """Mark the email of the user a verification link was made for as verified; raise
    ValidationError for a wrong, used or expired link."""
    user = link_user_lock(uid=uid, token=token, generator=email_verification_token_generator)
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    return user

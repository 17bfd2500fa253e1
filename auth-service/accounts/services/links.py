"""Mailed links: password reset and email verification.

A link carries the user's id (base64) and a token from Django's PasswordResetTokenGenerator:
an HMAC of the user's state under SECRET_KEY, with a timestamp checked against
PASSWORD_RESET_TIMEOUT. Nothing is stored; a link dies when the state it hashed changes (for a
reset: the password, last login or email; for a verification: the verification itself or the
email), which is what makes it single-use.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.exceptions import ValidationError
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.clients import NO_CLIENT, Client
from accounts.errors import LINK_INVALID
from accounts.mail import SERVICE_NAME, mail_message_build, mail_send
from accounts.models import User
from accounts.services.events import Event, event_record


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens of verification links: another salt, so that no reset token verifies an email,
    and a hash of the verification state, so that a link works once."""

    key_salt = "accounts.services.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        verified = user.email_verified_at
        verified_text = "" if verified is None else verified.replace(microsecond=0, tzinfo=None)
        return f"{user.pk}{user.email}{verified_text}{timestamp}"


email_verification_token_generator = EmailVerificationTokenGenerator()


def _link_build(*, template: str, user: User, generator: PasswordResetTokenGenerator) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return template.replace("{uid}", uid).replace("{token}", generator.make_token(user))


def link_user_lock(*, uid: str, token: str, generator: PasswordResetTokenGenerator) -> User:
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


def email_verification_mail(*, user: User, send: bool) -> None:
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


def password_reset_request(*, email: str, client: Client = NO_CLIENT) -> None:
    """Mail a reset link to the active user with `email`, if there is one.

    The same work is done either way (a lookup, a token, a message, a recorded event) and the
    message is sent off the request thread, so neither the answer nor its time tells whether
    the email is registered.
    """
    user = _user_for_mail(email=email)
    known = user is not None and user.has_usable_password()
    _password_reset_mail(user=user if known else _stand_in_user(email=email), send=known)
    event_record(Event.PASSWORD_RESET_REQUESTED, user_id=user.pk if known else None, client=client)


def email_verification_request(*, email: str, client: Client = NO_CLIENT) -> None:
    """Mail a new verification link to the active, unverified user with `email`, if there is
    one and REQUIRE_EMAIL_VERIFICATION is on; the same work either way, as for a reset."""
    user = _user_for_mail(email=email)
    pending = (
        settings.REQUIRE_EMAIL_VERIFICATION and user is not None and user.email_verified_at is None
    )
    email_verification_mail(user=user if pending else _stand_in_user(email=email), send=pending)
    event_record(
        Event.EMAIL_VERIFICATION_REQUESTED, user_id=user.pk if pending else None, client=client
    )

"""The accounts domain's refusals and their messages, written once: the services raise them,
the views answer with them and the OpenAPI schema quotes them."""

EMAIL_TAKEN = "A user with this email already exists."
WRONG_CURRENT_PASSWORD = "Current password is incorrect."  # noqa: S105 (a message)
REAUTHENTICATION_REQUIRED = (
    "Changing the email needs a recent sign-in: sign in again or give current_password."
)
LINK_INVALID = "The link is invalid, has already been used or has expired."
# An access token of a session ended from elsewhere (accounts/authentication.py).
SESSION_ENDED = "Session has ended. Log in again."
UNKNOWN_FIELD = "Unknown field. This endpoint takes: {accepted}."


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
    """A refresh token was refused; the message, one of those below, is safe to show."""

    UNKNOWN = "Refresh token is unknown."
    EXPIRED = "Refresh token has expired."
    REVOKED = "Refresh token has been revoked."
    INACTIVE = "User is inactive."

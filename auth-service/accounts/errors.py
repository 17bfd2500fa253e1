"""The accounts domain's messages, written once: its refusals, which the services raise, the
views answer with and the OpenAPI schema quotes; and the answers that are only a message."""

EMAIL_TAKEN = "A user with this email already exists."
WRONG_CURRENT_PASSWORD = "Current password is incorrect."  # noqa: S105 (a message)
REAUTHENTICATION_REQUIRED = (
    "Changing the email needs a recent sign-in: sign in again or give current_password."
)
LINK_INVALID = "The link is invalid, has already been used or has expired."
# An access token of a session ended from elsewhere (accounts/authentication.py).
SESSION_ENDED = "Session has ended. Log in again."
UNKNOWN_FIELD = "Unknown field. This endpoint takes: {accepted}."
ACCESS_TOKEN_AS_REFRESH_TOKEN = (
    "This looks like an access token (a JWT): send the refresh_token of the login or refresh "  # noqa: S105 (a message)
    "response."
)

# Django's own errors under /api/ (config/urls.py, config/middleware.py), in DRF's words.
NOT_FOUND = "Not found."
NOT_FOUND_WITHOUT_SLASH = "Not found. Did you mean {path}/ (with a trailing slash)?"
MOVED_TO_SLASH = "Moved permanently to {path} (API URLs end with a slash)."

# Answers that are only a message.
LOGGED_OUT = "User logged out."
RESET_REQUESTED = "If an account has this email, a password reset link has been sent to it."
VERIFICATION_REQUESTED = (
    "If an account with this email awaits verification, a new link has been sent to it."
)
PASSWORD_RESET_DONE = "Password has been reset. Log in with the new password."  # noqa: S105 (a message)
EMAIL_VERIFIED = "Email address verified."


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

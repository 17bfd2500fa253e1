"""Throttles: DRF's sliding-window rates, counted atomically in accounts/throttle_store.py
(Redis, or the database without it), so that limits hold across workers and against
concurrent requests; and the failed-login limits, which count a login before its password
is checked and give the count back when the password is right (`login_attempt`)."""

import contextlib
import hashlib
from collections.abc import Iterator

from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from accounts.clients import client_address
from accounts.models import email_normalize
from accounts.throttle_store import Hit, window_hit, window_release


class SharedRateThrottle(SimpleRateThrottle):
    """SimpleRateThrottle's rate and window, but each request counted in one atomic step of
    the throttle store: DRF's own reads the history, then writes it back, so concurrent
    requests all passed."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        return key is None or self.hit(key).allowed

    def hit(self, key: str) -> Hit:
        """Count one request in the window `key`, or refuse it; DRF then asks wait()."""
        self.now = self.timer()
        self.last_hit = window_hit(
            key, limit=self.num_requests, duration=self.duration, now=self.now
        )
        return self.last_hit

    def wait(self) -> float:
        return self.last_hit.retry_after


class ClientAddressThrottle(SharedRateThrottle):
    """Counts requests per client address (accounts/clients.py: X-Forwarded-For only from the
    gateway)."""

    def get_ident(self, request) -> str:
        return client_address(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(ClientAddressThrottle):
    scope = "login_ip"


class RegisterThrottle(ClientAddressThrottle):
    scope = "register"


class RefreshThrottle(ClientAddressThrottle):
    scope = "refresh"


def _body_email(request) -> object:
    return request.data.get("email") if hasattr(request.data, "get") else None


def _email_ident(email: object) -> str | None:
    """Return a digest of `email` in its normal form, or None unless it is a non-blank string."""
    if not isinstance(email, str) or not email.strip():
        return None
    # Hashed: the cache needs a key, not the address itself. surrogatepass: JSON may hold a
    # lone surrogate ("\ud800"), which plain UTF-8 cannot encode; the serializer refuses it
    # with a 400 after this count.
    return hashlib.sha256(email_normalize(email).encode("utf-8", "surrogatepass")).hexdigest()


class EmailThrottle(SharedRateThrottle):
    """Counts requests per email of the body (normalised as stored), whoever sends them."""

    def get_cache_key(self, request, view) -> str | None:
        return self.key_for(email=_body_email(request), request=request)

    def key_for(self, *, email: object, request) -> str | None:
        ident = _email_ident(email)
        if ident is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginAccountThrottle(EmailThrottle):
    """Failed logins per account, from any address: the ceiling that stops a guesser who
    spreads over many addresses. Higher than the per-address limit, so that nobody locks an
    account out for its owner as cheaply."""

    scope = "login_account"


class LoginAccountAddressThrottle(EmailThrottle, ClientAddressThrottle):
    """Failed logins per account and client address: the limit a guesser meets first."""

    scope = "login_account_ip"

    def key_for(self, *, email: object, request) -> str | None:
        ident = _email_ident(email)
        if ident is None:
            return None
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{ident}:{self.get_ident(request)}",
        }


class LoginAttempt:
    """A login counted against the failed-login limits, until its block ends (login_attempt)."""

    def __init__(self) -> None:
        self.is_failure = False

    def failed(self) -> None:
        """The credentials were refused: the attempt stays counted as a failed login."""
        self.is_failure = True


@contextlib.contextmanager
def login_attempt(*, email: object, request) -> Iterator[LoginAttempt]:
    """Count a login of `email` from this request against the failed-login limits (per
    account and address, then per account) before its password is checked; raise DRF's
    Throttled at the first that is reached.

    The count is a reservation: it stays if the block calls `attempt.failed()`, and is given
    back however else the block ends (a right password, an unverified email, an error). So
    only failed logins count, a user with many devices is never locked out, and however many
    guesses arrive at once, no more than the limit have their password checked.
    """
    hits: list[tuple[SharedRateThrottle, Hit]] = []
    attempt = LoginAttempt()
    try:
        for throttle in (LoginAccountAddressThrottle(), LoginAccountThrottle()):
            key = throttle.key_for(email=email, request=request)
            if throttle.rate is not None and key is not None:
                hit = throttle.hit(key)
                hits.append((throttle, hit))
                if not hit.allowed:
                    raise Throttled(wait=hit.retry_after)
        yield attempt
    finally:
        if not attempt.is_failure:
            for throttle, hit in hits:
                window_release(hit, now=throttle.timer())


# --- Account lifecycle -------------------------------------------------------------------------


class CurrentPasswordThrottle(ClientAddressThrottle):
    """Counts requests that check the current password (password change, account deletion)
    per user: a stolen access token must not become a way to guess the password."""

    scope = "current_password"

    def get_cache_key(self, request, view) -> str:
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}
        return super().get_cache_key(request, view)


class MailAddressThrottle(ClientAddressThrottle):
    """Counts requests that mail a link (reset, verification resend) per client address."""

    scope = "mail_ip"


class MailAccountThrottle(EmailThrottle):
    """Counts requests that mail a link per email (normalised), whoever asks: nobody can flood
    one mailbox."""

    scope = "mail_account"


class LinkAddressThrottle(ClientAddressThrottle):
    """Counts uses of mailed links (reset confirm, email verification) per client address."""

    scope = "link_ip"

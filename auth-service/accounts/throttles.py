"""Throttles on the shared cache (Redis when REDIS_URL is set), so limits hold across workers;
in this process's memory while Redis is down (accounts/redis_outage.py)."""

import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import email_normalize
from accounts.redis_outage import ThrottleCache


class SharedRateThrottle(SimpleRateThrottle):
    cache = ThrottleCache()


class ClientAddressThrottle(SharedRateThrottle):
    """Counts requests per client address.

    X-Forwarded-For is believed only when the connection comes from FORWARDED_ALLOW_IPS (the
    gateway), and only its last entry, the one that proxy appended: anything before it is
    whatever the client chose to send.
    """

    def get_ident(self, request) -> str:
        remote_addr = request.META.get("REMOTE_ADDR", "")
        forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR", "")
        trusted = settings.FORWARDED_ALLOW_IPS
        if forwarded_for and ("*" in trusted or remote_addr in trusted):
            return forwarded_for.split(",")[-1].strip() or remote_addr
        return remote_addr

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


class LoginFailureThrottle(EmailThrottle):
    """Counts failed logins only: allow_request() (or check()) tests the count, and the caller
    calls failure_record() when the credentials are refused. A user with many devices is
    never locked out by logging in, only by guessing."""

    def allow_request(self, request, view) -> bool:
        return self.check(email=_body_email(request), request=request)

    def check(self, *, email: object, request) -> bool:
        """Return whether a login of `email` from this request may be tried now; used as is
        by the admin's login form, which is no DRF view."""
        self.key = self.key_for(email=email, request=request) if self.rate is not None else None
        if self.key is None:
            return True
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return True

    def failure_record(self) -> None:
        """Count one failure of the login this throttle has just allowed."""
        if self.key is not None:
            self.history.insert(0, self.now)
            self.cache.set(self.key, self.history, self.duration)


class LoginAccountThrottle(LoginFailureThrottle):
    """Failed logins per account, from any address: the ceiling that stops a guesser who
    spreads over many addresses. Higher than the per-address limit, so that nobody locks an
    account out for its owner as cheaply."""

    scope = "login_account"


class LoginAccountAddressThrottle(LoginFailureThrottle, ClientAddressThrottle):
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

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


class LoginAccountThrottle(SharedRateThrottle):
    """Counts login attempts per email (normalised as stored), whatever address they come from."""

    scope = "login_account"

    def get_cache_key(self, request, view) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        # Hashed: the cache needs a key, not the address itself. surrogatepass: JSON may hold
        # a lone surrogate ("\ud800"), which plain UTF-8 cannot encode; the serializer refuses
        # it with a 400 after this count.
        normalised = email_normalize(email)
        ident = hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


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


class MailAccountThrottle(LoginAccountThrottle):
    """Counts requests that mail a link per email (normalised), whoever asks: nobody can flood
    one mailbox."""

    scope = "mail_account"


class LinkAddressThrottle(ClientAddressThrottle):
    """Counts uses of mailed links (reset confirm, email verification) per client address."""

    scope = "link_ip"

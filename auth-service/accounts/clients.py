"""Who sends a request: the client's address and user agent, as throttles count them and as
sessions and security events store them (truncated, so a row's size stays bounded)."""

from dataclasses import dataclass

from django.conf import settings

# The longest textual IPv6 address (an IPv4-mapped one) is 45 characters.
IP_MAX_LENGTH = 45
# Real browsers send 100-200 characters; the rest of a longer header tells nothing more.
USER_AGENT_MAX_LENGTH = 256


def client_address(request) -> str:
    """Return the client's address.

    X-Forwarded-For is believed only when the connection comes from FORWARDED_ALLOW_IPS (the
    gateway), and only its last entry, the one that proxy appended: anything before it is
    whatever the client chose to send.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR", "")
    trusted = settings.FORWARDED_ALLOW_IPS
    if forwarded_for and ("*" in trusted or remote_addr in trusted):
        return forwarded_for.split(",")[-1].strip() or remote_addr
    return remote_addr


@dataclass(frozen=True, slots=True)
class Client:
    """A request's client, as stored: what the services are given instead of the request."""

    ip: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, request) -> "Client":
        """Return the client of a Django or DRF request, truncated to the stored lengths."""
        return cls(
            ip=client_address(request)[:IP_MAX_LENGTH],
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
        )


NO_CLIENT = Client()

"""VerifiedTokenCache: the access tokens a verifier has already accepted, with their claims.

Vendored: this file is byte-identical in auth-service/accounts/token_cache.py and
score-service/app/token_cache.py, like token_contract.py beside it, and checked the same way;
its tests are score-service/tests/test_token_cache.py.

Clients poll with one token for its whole lifetime, and a signature check costs far more than
the rest of a request (Envoy's ``jwt_authn`` caches for the same reason). The key is the exact
token string, only accepted tokens are stored, and a hit re-checks ``exp``, ``nbf`` and
``iat`` with the leeway, so a cached token expires on time. Those times come from the claims
the verifier returns: what PyJWT decoded and the contract checked, never a second decoding.
"""

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class TimeClaims(Protocol):
    """What the cache reads of a verified token: its time claims (RFC 7519 4.1.4-6)."""

    @property
    def exp(self) -> float: ...

    @property
    def nbf(self) -> float | None: ...

    @property
    def iat(self) -> float: ...


Claims = TypeVar("Claims", bound=TimeClaims)

# Each entry holds one token (a few hundred bytes) and its claims: about 2 MB when full.
CACHE_MAXSIZE = 4096


class VerifiedTokenCache(Generic[Claims]):
    """Token string -> claims of tokens the verifier accepted, at most ``maxsize`` of them.

    Safe to share between threads; ``clock`` returns the time in seconds. When full,
    expired entries are dropped from the oldest on, then the oldest entry if that freed
    nothing (tokens of one lifetime expire in the order they were first seen).
    """

    def __init__(
        self, maxsize: int = CACHE_MAXSIZE, clock: Callable[[], float] = time.time
    ) -> None:
        self.maxsize = maxsize
        self._clock = clock
        self._entries: dict[str, Claims] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, token: str, *, leeway: float) -> Claims | None:
        """Return the cached claims of ``token`` if its times still pass, else None."""
        now = self._clock()
        # A lone dict read is atomic; only the writes, which read then change, take the lock.
        claims = self._entries.get(token)
        if claims is None:
            return None
        if (
            claims.exp > now - leeway
            and (claims.nbf is None or claims.nbf <= now + leeway)
            and claims.iat <= now + leeway
        ):
            return claims
        with self._lock:
            self._entries.pop(token, None)
        return None

    def verify(self, token: str, verifier: Callable[[str], Claims], *, leeway: float) -> Claims:
        """Return the claims of ``token``: from the cache when it holds the token and its
        times still pass, else from ``verifier(token)``, whose errors propagate."""
        claims = self.get(token, leeway=leeway)
        if claims is not None:
            return claims
        claims = verifier(token)  # raises for a refused token: nothing is stored
        self._store(token, claims, self._clock() - leeway)
        return claims

    def _store(self, token: str, claims: Claims, expired_before: float) -> None:
        with self._lock:
            entries = self._entries
            if len(entries) >= self.maxsize:
                expired = []
                for oldest, held in entries.items():
                    if held.exp > expired_before:
                        break
                    expired.append(oldest)
                for oldest in expired:
                    del entries[oldest]
                if len(entries) >= self.maxsize:
                    del entries[next(iter(entries))]
            entries[token] = claims

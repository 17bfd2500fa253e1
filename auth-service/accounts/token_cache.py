"""A bounded cache of access tokens already verified in full, around the verifier.

Clients poll with the same token for its whole lifetime, and a signature check costs far
more than the rest of a request; Envoy's ``jwt_authn`` keeps such a cache for the same
reason (``jwt_cache_config``). The key is the exact token string, so a token that differs
in any byte (another key's signature included) is a miss and goes through the full check.
Only a token the verifier accepted is stored; a refusal is never cached. A hit re-checks
``exp``, ``nbf`` and ``iat`` against the clock with the leeway, so a cached token expires
on time; one that fails the re-check is dropped and verified again, which raises the
verifier's own error.
"""

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Claims = TypeVar("Claims")

# Each entry holds one token (a few hundred bytes) and its claims: about 2 MB when full.
MAXSIZE = 4096


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Claims]):
    claims: Claims
    exp: int
    nbf: int | None
    iat: int


def _time_claims(token: str) -> tuple[int, int | None, int] | None:
    """Return (exp, nbf, iat) of a token the verifier accepted, read as PyJWT reads them;
    None when they cannot be read (the token is then not cached)."""
    try:
        segment = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        nbf = payload.get("nbf")
        return (
            int(payload["exp"]),
            None if nbf is None else int(nbf),
            int(payload["iat"]),
        )
    except (IndexError, KeyError, AttributeError, TypeError, ValueError, binascii.Error):
        return None


class VerifiedTokenCache(Generic[Claims]):
    """Token string -> claims of tokens the verifier accepted, at most ``maxsize`` of them.

    Safe to share between threads; ``clock`` returns the time in seconds. When full,
    expired entries are dropped from the oldest on, then the oldest entry if that freed
    nothing (tokens of one lifetime expire in the order they were first seen).
    """

    def __init__(self, maxsize: int = MAXSIZE, clock: Callable[[], float] = time.time) -> None:
        self.maxsize = maxsize
        self._clock = clock
        self._entries: dict[str, _Entry[Claims]] = {}
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
        entry = self._entries.get(token)
        if entry is None:
            return None
        if (
            entry.exp > now - leeway
            and (entry.nbf is None or entry.nbf <= now + leeway)
            and entry.iat <= now + leeway
        ):
            return entry.claims
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
        times = _time_claims(token)
        if times is not None:
            self._store(token, _Entry(claims, *times), self._clock() - leeway)
        return claims

    def _store(self, token: str, entry: _Entry[Claims], expired_before: float) -> None:
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
            entries[token] = entry

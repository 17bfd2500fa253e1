"""A virtual user's session as a real client keeps it, and the checks of its refresh chain.

No HTTP and no locust here: the virtual user (loadtest/locustfile.py) sends the requests and
hands each answer to these functions, which say what it means for the chain. The rules
(DESIGN.md, Tokens and Failure behaviour):

- a refresh that answers 200 gives a pair that must work next time: its access token until
  its `exp`, its refresh token at the next refresh. Either failing is a *broken chain*;
- a 503 (PostgreSQL down) or 429 leaves the presented token as it was: retry it;
- a 502 or 504 comes from the gateway, and the auth service may have rotated the token
  before the answer was lost; a 401 on the retry is then a *lost* rotation, not a broken
  chain (with REFRESH_TOKEN_REUSE_GRACE at 0 the retry is a replay), and the user logs in
  again.
"""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass, replace

# Statuses after which the presented refresh token is unchanged, or may be.
UNCHANGED = frozenset({429, 503})
IN_DOUBT = frozenset({0, 502, 504})  # 0: no answer at all (connection reset, timeout)


class Outcome(enum.Enum):
    ROTATED = "rotated"  # 200: the new pair is the chain now
    RETRY = "retry"  # keep the chain, try again later
    BROKEN = "broken chain"  # a pair from a 200 failed when used
    LOST = "rotation lost to a gateway error"  # 401 after a 502/504/no answer: log in again
    REFUSED = "refused"  # 401 on a login's own pair, or another unexpected answer
    OK = "ok"


@dataclass(frozen=True)
class Chain:
    """One login's session: the current pair and what is known about it."""

    access_token: str
    refresh_token: str
    expires_at: float  # the access token's `exp`
    from_refresh: bool = False  # the pair came from a 200 refresh, not from the login
    in_doubt: bool = False  # the last refresh with this token got no answer from the service


def token_expiry(access_token: str) -> float:
    """Return the `exp` claim of a JWT, unverified (the services verify; a client only reads)."""
    payload = access_token.split(".")[1]
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def chain_start(body: dict) -> Chain:
    """Return the chain of a login's (or a password change's) 200 body."""
    return Chain(body["access_token"], body["refresh_token"], token_expiry(body["access_token"]))


def refresh_due(chain: Chain, *, now: float, margin: float) -> bool:
    """Return whether the access token expires within `margin` seconds: refresh now."""
    return now >= chain.expires_at - margin


def refresh_outcome(chain: Chain, status: int, body: dict | None) -> tuple[Chain, Outcome]:
    """Return the chain after a refresh of `chain.refresh_token` answered `status` and `body`."""
    if status == 200 and body is not None:
        return replace(chain_start(body), from_refresh=True), Outcome.ROTATED
    if status in UNCHANGED:
        return chain, Outcome.RETRY
    if status in IN_DOUBT:
        return replace(chain, in_doubt=True), Outcome.RETRY
    if status == 401:
        if chain.in_doubt:
            return chain, Outcome.LOST
        return chain, Outcome.BROKEN if chain.from_refresh else Outcome.REFUSED
    return chain, Outcome.REFUSED


def access_outcome(chain: Chain, status: int, *, now: float, leeway: float) -> Outcome:
    """Return what a 401 (or any answer) to `chain.access_token` means at `now`.

    A 401 to a token more than `leeway` seconds before its `exp` is a refusal of a token
    that should work: a broken chain if a refresh issued it.
    """
    if status != 401 or now >= chain.expires_at - leeway:
        return Outcome.OK
    return Outcome.BROKEN if chain.from_refresh else Outcome.REFUSED

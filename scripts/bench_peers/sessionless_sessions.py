"""The refresh peer's refresh_token_issue (bench_peers/sessionless_settings.py): the auth
service's accounts.services.sessions.refresh_token_issue without the session bookkeeping.

What it leaves out, and only that: the client's IP and User-Agent at this token's issue (`ip`,
`user_agent`), the login's (`login_ip`, `login_user_agent`, copied by each rotation), and the
session's start (`session_started_at`, copied likewise). The columns stay, as the table is the
service's: the four strings keep their default, the empty string, and `session_started_at`,
NOT NULL, takes `authenticated_at`, a value the row holds anyway. Everything else is the
service's: the request's Client is still read (the audit lines carry it), the throttle, the
claim, the INSERT of the same columns, the access token, the events.
"""

import uuid
from datetime import datetime, timedelta

from constance import config

from accounts.clients import Client
from accounts.models import RefreshToken
from accounts.services.sessions import refresh_token_digest


def refresh_token_issue(
    *, user_id: int, client: Client, rotated: RefreshToken | None, now: datetime
) -> RefreshToken:
    token = uuid.uuid4()
    row = RefreshToken(
        digest=refresh_token_digest(token=token),
        user_id=user_id,
        issued_at=now,
        expires_at=now + timedelta(seconds=config.REFRESH_TOKEN_LIFETIME),
    )
    if rotated is None:
        row.family = uuid.uuid4()
        row.authenticated_at = now
    else:
        row.family = rotated.family
        row.authenticated_at = rotated.authenticated_at
    row.session_started_at = row.authenticated_at
    row.save(force_insert=True)
    row.token = token
    return row

"""Security events: THE one place where one is recorded.

Every security event (a login or a failed one, a password changed or reset, an email changed,
a session ended, a refresh replay, a registration, an account deleted) goes through
`event_record`, called in one line by the service that does the thing. It stores the event
(`SecurityEvent`, shown at /api/me/activity/ and in the admin, kept
SECURITY_EVENT_RETENTION_DAYS); the event's metric and its audit log line are added here too,
so the three can never drift apart.
"""

import logging
import uuid
from datetime import timedelta
from enum import StrEnum

from django.db.models import QuerySet
from django.utils import timezone

from accounts import metrics
from accounts.clients import NO_CLIENT, Client
from accounts.models import SecurityEvent, rows_delete_in_batches

Event = SecurityEvent.Kind
Outcome = SecurityEvent.Outcome
# The audit trail: one line per event, `"audience": "audit"` (as Ory's audit logs), beside
# the service's other lines (docs/observability.md).
audit_logger = logging.getLogger("audit")


class Signal(StrEnum):
    """Events counted and written to the audit log, but not stored: each refresh and each
    access token would bury the activity list (and cost a row)."""

    REFRESH = "refresh"
    ACCESS_TOKEN_ISSUED = "access_token_issued"  # noqa: S105 (an event's name)


class Reason(StrEnum):
    """Why a login failed, or who ended a session: the event's `reason`."""

    BAD_PASSWORD = "bad_password"  # noqa: S105 (a reason, not a password)
    UNKNOWN_ACCOUNT = "unknown_account"
    INACTIVE = "inactive"
    UNVERIFIED = "unverified"
    THROTTLED = "throttled"
    SESSIONS_ENDED = "sessions_ended"  # every session ended while the login was in flight
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    ENDED = "ended"  # DELETE /api/sessions/{id}/
    ENDED_OTHERS = "ended_others"
    ADMIN = "admin"


def event_record(
    event: Event | Signal,
    outcome: Outcome = Outcome.SUCCESS,
    *,
    user_id: int | None = None,
    client: Client = NO_CLIENT,
    session_id: uuid.UUID | str | None = None,
    reason: Reason | str = "",
) -> SecurityEvent | None:
    """Record that `event` happened to the account `user_id` (None: no known account), from
    `client`, in session `session_id` (a refresh-token family): count it
    (`auth_events_total`), write its audit line, and return the stored row (None for a
    Signal, which is not stored).

    A row is stored whether or not the account is known, so that a request about an unknown
    email does the same work as one about a known email (no timing tells them apart).
    `reason` names the cause in a word (a failed login's `bad_password`, an ended session's
    `logout`).
    """
    metrics.AUTH_EVENTS.labels(str(event), str(outcome), str(reason)).inc()
    audit_logger.info(
        "%s %s%s",
        event,
        outcome,
        f" ({reason})" if reason else "",
        extra={
            "audience": "audit",
            "event": str(event),
            "outcome": str(outcome),
            "reason": str(reason),
            "user_id": user_id,
            "session_id": None if session_id is None else str(session_id),
            "client_ip": client.ip,
            "user_agent": client.user_agent,
        },
    )
    if isinstance(event, Signal):
        return None
    return SecurityEvent.objects.create(
        user_id=user_id,
        occurred_at=timezone.now(),
        event=event,
        outcome=outcome,
        reason=reason,
        session_id=session_id,
        ip=client.ip,
        user_agent=client.user_agent,
    )


def event_list(*, user_id: int) -> QuerySet[SecurityEvent]:
    """Return the user's stored security events, newest first."""
    return SecurityEvent.objects.filter(user_id=user_id).order_by("-occurred_at", "-pk")


def events_purge(*, older_than: timedelta, batch_size: int) -> int:
    """Delete the events that occurred more than `older_than` ago (the retention), in batches
    of `batch_size`; return the count."""
    stale = SecurityEvent.objects.filter(occurred_at__lt=timezone.now() - older_than)
    return rows_delete_in_batches(stale, batch_size=batch_size)

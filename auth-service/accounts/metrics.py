"""The auth service's own Prometheus metrics (docs/observability.md lists them).

Under gunicorn every worker writes its values to files in PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode, set up by gunicorn.conf.py), and the master serves
their sum on the metrics port; elsewhere (tests, manage.py) they live in the process.
"""

from prometheus_client import Counter, Gauge, Histogram

# The HTTP metrics are those of accounts/http_metrics.py, shared with the score service.

# --- Business events (accounts/services/events.py, event_record: the one place) ----------
AUTH_EVENTS = Counter(
    "auth_events_total",
    "Security events, as Keycloak's user events: event (login, refresh, registered, ...), "
    "outcome (success, failure) and reason (bad_password, unknown_account, throttled, "
    "replay, ...; empty when none).",
    ["event", "outcome", "reason"],
)
PASSWORD_VERIFY_DURATION = Histogram(
    "auth_password_verify_duration_seconds",
    "Time to verify a password against its Argon2 hash (accounts/hashers.py).",
    buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0),
)
REDIS_FALLBACK = Gauge(
    "auth_redis_fallback_active",
    "1 while a worker skips an unreachable Redis (throttles in the database, last known "
    "token lifetimes: accounts/redis_outage.py), else 0.",
    multiprocess_mode="max",
)
DATABASE_ERRORS = Counter(
    "auth_database_errors_total",
    "Requests answered 503 because the database could not be reached or was locked "
    "(config/middleware.py).",
)

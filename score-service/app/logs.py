"""Logging of both services, vendored byte-identical as accounts/logs.py and app/logs.py.

LOG_FORMAT=json (one JSON object a line, the default in containers) or text (`make run`).
Every line carries the gateway's X-Request-ID of the request being served, if any; each
service writes one line per request (request_records.py) and never a secret: no password,
token, Authorization or Cookie header is passed to a logger, and a failure line names an
email only masked (email_masked). docs/observability.md lists the fields.
"""

import contextvars
import hashlib
import logging
from typing import Any

# The request id of the request this thread or task is serving; None outside a request.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# The logger of the per-request lines, named alike in both services: request_records.py
# writes them to its handlers, in batches.
REQUEST_LOGGER = logging.getLogger("request")
LOG_FORMATS = ("json", "text")
# The gateway keeps a client's id only if it matches this (gateway/default.conf.template); a
# service reached directly (a probe, a test) gets the header verbatim, so it is bounded here.
REQUEST_ID_MAX_LENGTH = 128


class RequestIdFilter(logging.Filter):
    """Add the current request id to every record (`request_id`, None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def log_format_check(log_format: str) -> None:
    """Raise ValueError unless log_format is one of LOG_FORMATS."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be json or text (got {log_format!r}).")


def logging_config(log_format: str, *, level: str = "INFO") -> dict[str, Any]:
    """Return a logging.config.dictConfig dictionary: every record to stderr, as JSON or text;
    and stop collecting what no line shows.

    Raises ValueError for a log_format other than json or text.
    """
    log_format_check(log_format)
    # No line shows the caller's file and line, the thread or the process: the logging
    # HOWTO's "Optimization" turns their collection off, a third of a request line's cost.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    formatters = {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # The servers' own loggers go to the root's handler, in the same format.
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("gunicorn.error", "uvicorn", "uvicorn.error")
        },
    }


def request_id_read(value: str | None) -> str | None:
    """Return the X-Request-ID header's value to log, bounded to REQUEST_ID_MAX_LENGTH."""
    return value[:REQUEST_ID_MAX_LENGTH] if value else None


def email_masked(email: str) -> str:
    """Return email in a form fit for a failure line: its first character, then a short
    digest of the whole address (the same address gives the same digest), then the domain:
    someone@example.com is s…72497f47@example.com.
    """
    local, _, domain = email.rpartition("@")
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:8]
    return f"{local[:1]}…{digest}@{domain}" if local else f"…{digest}"

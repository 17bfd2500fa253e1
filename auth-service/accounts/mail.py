"""Outgoing mail: plain-text messages, delivered off the request thread.

So a reset for a registered email takes the time of one for an unknown email (no enumeration
by timing), and a slow or failing mail server never delays a response; failures are logged.
"""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)

SERVICE_NAME = "Game platform"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending: set[Future] = set()


def _mail_executor() -> ThreadPoolExecutor:
    # Created on first use, in the process that sends: a pool made before gunicorn forks its
    # workers would have no threads in them.
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mail")
        return _executor


def mail_message_build(*, to: str, subject: str, body: str) -> EmailMessage:
    """Return a plain-text message from DEFAULT_FROM_EMAIL; the subject names the service."""
    return EmailMessage(
        subject=f"[{SERVICE_NAME}] {subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )


def mail_send(*, message: EmailMessage, purpose: str, user_id: int) -> Future:
    """Queue `message` for delivery and return at once; a failure is logged, never raised.

    `purpose` and `user_id` name the message in the log (the address itself is not logged).
    """
    future = _mail_executor().submit(_deliver, message, purpose, user_id)
    _pending.add(future)
    future.add_done_callback(_pending.discard)
    return future


def _deliver(message: EmailMessage, purpose: str, user_id: int) -> None:
    if settings.EMAIL_BACKEND == CONSOLE_BACKEND:
        # The console backend prints the whole message: whoever reads this log can follow
        # the link in it (docs/account-lifecycle.md).
        logger.warning(
            "EMAIL_URL=consolemail://: the %s message for user %s is printed to this log, "
            "link included; anyone who reads the log can use it. Set EMAIL_URL to a mail "
            "server for real users.",
            purpose,
            user_id,
        )
    try:
        message.send()
    except Exception:
        logger.exception("Mail not sent: %s for user %s.", purpose, user_id)
    else:
        logger.info("Mail sent: %s for user %s.", purpose, user_id)


def mail_wait(timeout: float = 30) -> None:
    """Wait until every queued message is delivered or has failed (for the tests)."""
    wait(list(_pending), timeout=timeout)

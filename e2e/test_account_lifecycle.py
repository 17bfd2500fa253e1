"""Password reset by mail, password change, account deletion and email verification, through
the gateway, with a real SMTP server (aiosmtpd) that the auth service delivers to."""

from __future__ import annotations

import email
import re
import statistics
import threading
import time
import urllib.parse
from collections.abc import Iterator
from email.message import Message

import httpx
import pytest
from aiosmtpd.controller import Controller

from conftest import PASSWORD, bearer, free_port

NEW_PASSWORD = "A-brand-new-passphrase-42"
LINK = re.compile(r"http\S+")
MAIL_TIMEOUT = 15.0
# Requests per email in the timing comparison (known and unknown alternate).
TIMING_ROUNDS = 40


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives, by recipient."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.received = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        with self.received:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.received.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, address: str) -> Message:
        """Return the first message to `address`, waiting for it to arrive."""

        def to_address() -> list[Message]:
            return [message for message in self.messages if message["To"] == address]

        with self.received:
            arrived = self.received.wait_for(to_address, timeout=MAIL_TIMEOUT)
            assert arrived, f"no message to {address} within {MAIL_TIMEOUT} s"
            return arrived[0]


def link_of(message: Message) -> tuple[str, dict[str, str]]:
    """Return the path of the one link in `message` and its query (uid, token)."""
    url = urllib.parse.urlsplit(LINK.search(message.get_payload(decode=True).decode())[0])
    return url.path, dict(urllib.parse.parse_qsl(url.query))


def auth_restart(stack, settings: dict[str, str]) -> None:
    """Restart the auth service with `settings` as its whole configuration."""
    stack.settings = settings
    stack.service_stop("auth")
    stack.service_start("auth")
    stack.service_wait("auth")


@pytest.fixture(scope="module")
def mailbox(stack) -> Iterator[Mailbox]:
    """A real SMTP server on a free port, with the auth service sending its mail there and its
    links pointing at the gateway; the auth service's settings are restored afterwards."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    original = dict(stack.settings)
    endpoint = f"{stack.url}/api/%s?uid={{uid}}&token={{token}}"
    auth_restart(
        stack,
        {
            **original,
            "EMAIL_URL": f"smtp://127.0.0.1:{controller.port}",
            "DEFAULT_FROM_EMAIL": "Game platform <noreply@example.com>",
            "PASSWORD_RESET_URL": endpoint % "password/reset/confirm/",
            "EMAIL_VERIFICATION_URL": endpoint % "verify-email/",
            "THROTTLE_RATE_CURRENT_PASSWORD": "1000/min",
            "THROTTLE_RATE_MAIL_IP": "1000/min",
            "THROTTLE_RATE_MAIL_ACCOUNT": "1000/min",
            "THROTTLE_RATE_LINK_IP": "1000/min",
        },
    )
    try:
        yield mailbox
    finally:
        auth_restart(stack, original)
        controller.stop()


@pytest.fixture
def verification_required(stack, mailbox) -> Iterator[None]:
    """REQUIRE_EMAIL_VERIFICATION=1 for one test."""
    before = dict(stack.settings)
    auth_restart(stack, {**before, "REQUIRE_EMAIL_VERIFICATION": "1"})
    yield
    auth_restart(stack, before)


def login(gateway: httpx.Client, email_address: str, password: str = PASSWORD) -> httpx.Response:
    return gateway.post("/api/login/", json={"email": email_address, "password": password})


def reset_link(gateway: httpx.Client, mailbox: Mailbox, email_address: str) -> tuple[str, dict]:
    """Ask for a reset of `email_address`; return the mailed link's path and query."""
    response = gateway.post("/api/password/reset/", json={"email": email_address})
    assert response.status_code == 202, response.text
    return link_of(mailbox.wait_for(email_address))


def test_reset_by_mail_ends_every_session_and_replaces_the_password(gateway, mailbox, register):
    email_address = register()
    old_refresh = login(gateway, email_address).json()["refresh_token"]

    path, link = reset_link(gateway, mailbox, email_address)
    confirmed = gateway.post(path, json={**link, "new_password": NEW_PASSWORD})

    assert confirmed.status_code == 200, confirmed.text
    assert gateway.post("/api/refresh/", json={"refresh_token": old_refresh}).status_code == 401
    assert login(gateway, email_address).status_code == 401
    assert login(gateway, email_address, NEW_PASSWORD).status_code == 200


def test_reset_mail_names_the_service_and_comes_from_the_configured_sender(
    gateway, mailbox, register
):
    email_address = register()

    reset_link(gateway, mailbox, email_address)

    message = mailbox.wait_for(email_address)
    assert message["Subject"] == "[Game platform] Reset your password"
    assert message["From"] == "Game platform <noreply@example.com>"
    assert message.get_content_type() == "text/plain"


def test_used_reset_link_is_refused(gateway, mailbox, register):
    email_address = register()
    path, link = reset_link(gateway, mailbox, email_address)
    gateway.post(path, json={**link, "new_password": NEW_PASSWORD})

    again = gateway.post(path, json={**link, "new_password": "Yet-another-passphrase-7"})

    assert again.status_code == 400
    assert login(gateway, email_address, NEW_PASSWORD).status_code == 200


def test_password_change_refuses_a_wrong_password_then_returns_a_working_pair(
    gateway, mailbox, login
):
    tokens = login()
    body = {"current_password": "Not-the-password-1", "new_password": NEW_PASSWORD}

    wrong = gateway.post("/api/password/change/", json=body, headers=bearer(tokens["access_token"]))
    right = gateway.post(
        "/api/password/change/",
        json={**body, "current_password": PASSWORD},
        headers=bearer(tokens["access_token"]),
    )

    assert wrong.status_code == 400
    assert right.status_code == 200
    fresh = right.json()["refresh_token"]
    assert gateway.post("/api/refresh/", json={"refresh_token": fresh}).status_code == 200
    old = tokens["refresh_token"]
    assert gateway.post("/api/refresh/", json={"refresh_token": old}).status_code == 401


def test_account_deletion_refuses_a_wrong_password_then_deletes(gateway, mailbox, register):
    email_address = register()
    tokens = login(gateway, email_address).json()
    headers = bearer(tokens["access_token"])

    wrong = gateway.request(
        "DELETE", "/api/me/", json={"current_password": "Not-the-password-1"}, headers=headers
    )
    right = gateway.request(
        "DELETE", "/api/me/", json={"current_password": PASSWORD}, headers=headers
    )

    assert wrong.status_code == 400
    assert right.status_code == 204
    assert login(gateway, email_address).status_code == 401
    refreshed = gateway.post("/api/refresh/", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


def test_with_verification_login_is_403_until_the_mailed_link_is_followed(
    gateway, mailbox, register, verification_required
):
    email_address = register()

    before = login(gateway, email_address)
    path, link = link_of(mailbox.wait_for(email_address))
    verified = gateway.post(path, json=link)
    after = login(gateway, email_address)

    assert before.status_code == 403
    assert verified.status_code == 200
    assert after.status_code == 200


def _timed_post(gateway: httpx.Client, path: str, email_address: str) -> tuple[float, int, dict]:
    start = time.perf_counter()
    response = gateway.post(path, json={"email": email_address})
    return time.perf_counter() - start, response.status_code, response.json()


def _answers_and_medians(
    gateway: httpx.Client, path: str, known: str
) -> tuple[set, set, float, float]:
    """Alternate requests for `known` and an unknown email; return the distinct answers of
    each and the median time of each, in milliseconds."""
    unknown = f"nobody-{known}"
    times: dict[str, list[float]] = {known: [], unknown: []}
    answers: dict[str, set] = {known: set(), unknown: set()}
    for _ in range(TIMING_ROUNDS):
        for address in (known, unknown):
            elapsed, status, body = _timed_post(gateway, path, address)
            times[address].append(elapsed * 1000)
            answers[address].add((status, tuple(sorted(body.items()))))
    return (
        answers[known],
        answers[unknown],
        statistics.median(times[known]),
        statistics.median(times[unknown]),
    )


def _assert_similar(known_ms: float, unknown_ms: float, what: str) -> None:
    print(f"\n{what}: median {known_ms:.2f} ms known, {unknown_ms:.2f} ms unknown")
    # Loose on purpose (a shared machine): a synchronous SMTP send or a password hash for
    # known emails only would show as a gap of several milliseconds at least.
    assert abs(known_ms - unknown_ms) < max(5.0, 0.5 * unknown_ms), what


def test_reset_answers_an_unknown_email_alike_and_in_about_the_same_time(
    gateway, mailbox, register
):
    known, unknown, known_ms, unknown_ms = _answers_and_medians(
        gateway, "/api/password/reset/", register()
    )

    assert known == unknown
    assert len(known) == 1
    _assert_similar(known_ms, unknown_ms, "password reset")


def test_resend_answers_an_unknown_email_alike_and_in_about_the_same_time(
    gateway, mailbox, register, verification_required
):
    known, unknown, known_ms, unknown_ms = _answers_and_medians(
        gateway, "/api/verify-email/resend/", register()
    )

    assert known == unknown
    assert len(known) == 1
    _assert_similar(known_ms, unknown_ms, "verification resend")

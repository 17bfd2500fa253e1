"""The virtual users of `make load`, run by locust (`python -m loadtest` starts it headless).

Each user registers once, logs in, then loops: mostly GET /score, sometimes GET /api/me/, a
refresh when its access token is within LOAD_REFRESH_MARGIN seconds of its `exp` (as a real
client does), and now and then a logout, a check that the logged-out refresh token is
refused (the one deliberate 401), and a login again. Every answer is written to the request
log (LOAD_LOG, loadtest/report.py reads it), and so is every verdict of loadtest/chain.py.
"""

from __future__ import annotations

import csv
import os
import time
import uuid

import gevent
from locust import FastHttpUser, between, events, task

from loadtest.chain import (
    Chain,
    Outcome,
    access_outcome,
    chain_start,
    refresh_due,
    refresh_outcome,
)

PASSWORD = "Load-test-horse-battery-9"  # noqa: S105 (every virtual user's, throwaway)
REFRESH_MARGIN = float(os.environ.get("LOAD_REFRESH_MARGIN", "5"))
# A 401 this close to `exp` is the token expiring, not a refusal.
EXPIRY_LEEWAY = 1.0
# The name the deliberate 401 is logged under.
REVOKED_REFRESH = "/api/refresh/ (revoked)"

_log_file = open(os.environ.get("LOAD_LOG", os.devnull), "w", newline="")  # noqa: SIM115
_log = csv.writer(_log_file)


def log_check(name: str, status: int) -> None:
    """Log a verdict of the chain's checks (loadtest/report.py counts them)."""
    _log.writerow([f"{time.time():.3f}", "check", name, status, 0, ""])


@events.request.add_listener
def _request_log(name, response_time, response, exception, start_time=None, **_kw) -> None:
    status = getattr(response, "status_code", 0) or 0
    retry_after = (response.headers.get("Retry-After") or "") if status else ""
    started = start_time or time.time() - response_time / 1000
    _log.writerow([f"{started:.3f}", "request", name, status, f"{response_time:.1f}", retry_after])


@events.quitting.add_listener
def _log_close(**_kw) -> None:
    _log_file.flush()


def _json(response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _seconds(retry_after: str | None) -> float:
    """Retry-After in seconds (RFC 9110 10.2.3, the delay form); 1 without a usable one."""
    try:
        return min(max(float(retry_after or 1), 0.0), 30.0)
    except ValueError:
        return 1.0


class Player(FastHttpUser):
    """A game client: one account, one refresh chain at a time."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.email = f"load-{uuid.uuid4().hex[:16]}@example.com"
        self.chain: Chain | None = None
        self.refresh_not_before = 0.0
        body = {"email": self.email, "password": PASSWORD}
        self._until_answered("/api/register/", body, {201})
        self._login()

    def _until_answered(self, path: str, body: dict, done: set[int]) -> dict | None:
        """POST until the answer is one of `done` (faults may hold it up); return its body."""
        while True:
            with self.client.post(path, json=body, catch_response=True) as response:
                if response.status_code in done:
                    response.success()
                    return _json(response)
            gevent.sleep(1)

    def _login(self) -> None:
        body = {"email": self.email, "password": PASSWORD}
        self.chain = chain_start(self._until_answered("/api/login/", body, {200}))

    def _refresh_if_due(self) -> None:
        now = time.time()
        if now < self.refresh_not_before or not refresh_due(
            self.chain, now=now, margin=REFRESH_MARGIN
        ):
            return
        body = {"refresh_token": self.chain.refresh_token}
        with self.client.post("/api/refresh/", json=body, catch_response=True) as response:
            self.chain, outcome = refresh_outcome(self.chain, response.status_code, _json(response))
            retry_after = response.headers.get("Retry-After") if response.status_code else None
        if outcome is Outcome.RETRY:  # as a client should: not again before Retry-After
            self.refresh_not_before = now + _seconds(retry_after)
        elif outcome in (Outcome.BROKEN, Outcome.LOST, Outcome.REFUSED):
            log_check(outcome.value, response.status_code)
            self._login()

    def _get(self, path: str, name: str) -> None:
        self._refresh_if_due()
        if time.time() >= self.chain.expires_at:
            # Expired, and the refresh must wait: a client does not send a token it knows
            # is dead (it would only earn a 401).
            gevent.sleep(1)
            return
        headers = {"Authorization": f"Bearer {self.chain.access_token}"}
        with self.client.get(path, headers=headers, name=name, catch_response=True) as response:
            outcome = access_outcome(
                self.chain, response.status_code, now=time.time(), leeway=EXPIRY_LEEWAY
            )
        if outcome is not Outcome.OK:
            log_check(outcome.value, response.status_code)
            self._login()

    @task(20)
    def score(self) -> None:
        self._get(f"/score?offset={int(time.time()) % 5000}", "/score")

    @task(5)
    def me(self) -> None:
        self._get("/api/me/", "/api/me/")

    @task(1)
    def logout_and_login(self) -> None:
        body = {"refresh_token": self.chain.refresh_token}
        with self.client.post("/api/logout/", json=body, catch_response=True) as response:
            if response.status_code != 200:
                return  # a fault window: the session goes on
        with self.client.post(
            "/api/refresh/", json=body, name=REVOKED_REFRESH, catch_response=True
        ) as response:
            if response.status_code == 401:
                response.success()
            elif response.status_code == 200:
                log_check("logged-out refresh token accepted", 200)
        self._login()

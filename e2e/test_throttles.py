"""Throttles under concurrency: no interleaving lets more than a limit through.

Real threads through the gateway, on a stack with the shipped rates (the suite's own stack
raises them to 1000/min) and the suite's database and Redis. Each client connects from an
address of its own in 127.0.0.0/8 (all loopback on Linux), so the gateway appends that address
to X-Forwarded-For as it does for clients on other hosts, and the auth service believes it
because the gateway's connection comes from FORWARDED_ALLOW_IPS.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from conftest import PASSWORD, concurrently, stack_running
from devstack import ENV_EXAMPLE
from devstack.envfile import env_file_read

REPETITIONS = 10
WRONG_PASSWORD = "Wrong-horse-battery-staple-0"
# The shipped throttle rates (.env.example).
RATES = {
    name: value
    for name, value in env_file_read(ENV_EXAMPLE).items()
    if name.startswith("THROTTLE_RATE_")
}


def allowed(name: str) -> int:
    return int(RATES[name].split("/")[0])


# Every client address is used by one test only: the per-address counts of one test never
# reach another's.
_addresses = (f"127.0.{block}.{host}" for block in range(10, 250) for host in range(1, 255))


def fresh_addresses(count: int) -> list[str]:
    return list(itertools.islice(_addresses, count))


@pytest.fixture(scope="module")
def shipped_rates(stack, tmp_path_factory) -> Iterator[object]:
    """A second stack on the suite's database and Redis, with the shipped throttle rates; the
    gateway's own limit stays raised, so the auth service's throttles are what is measured."""
    logs = tmp_path_factory.mktemp("shipped-rates-stack") / "logs"
    with stack_running(
        "shipped-rates stack",
        {**stack.settings, **RATES, "WEB_CONCURRENCY": "2"},
        venv=stack.venv,
        nginx=stack.nginx,
        logs=logs,
    ) as running:
        yield running


@pytest.fixture
def account(shipped_rates) -> Callable[[], str]:
    """Register a new account from an address of its own; return its email."""

    def register() -> str:
        email = f"throttled-{secrets.token_hex(6)}@example.com"
        [address] = fresh_addresses(1)
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=shipped_rates.url, transport=transport) as client:
            response = client.post("/api/register/", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.text
        return email

    return register


def logins(email: str, password: str, addresses: list[str]) -> list[tuple[str, str, dict]]:
    return [(a, "/api/login/", {"email": email, "password": password}) for a in addresses]


@pytest.mark.parametrize("repetition", range(REPETITIONS))
def test_concurrent_guesses_from_many_addresses_meet_the_account_ceiling(
    shipped_rates, account, repetition
):
    ceiling = allowed("THROTTLE_RATE_LOGIN_ACCOUNT")
    guesses = logins(account(), WRONG_PASSWORD, fresh_addresses(2 * ceiling))

    statuses = concurrently(shipped_rates.url, guesses)

    assert statuses == {401: ceiling, 429: ceiling}


@pytest.mark.parametrize("repetition", range(REPETITIONS))
def test_concurrent_guesses_from_one_address_meet_the_account_and_address_limit(
    shipped_rates, account, repetition
):
    limit = allowed("THROTTLE_RATE_LOGIN_ACCOUNT_IP")
    [address] = fresh_addresses(1)
    guesses = logins(account(), WRONG_PASSWORD, [address] * allowed("THROTTLE_RATE_LOGIN_IP"))

    statuses = concurrently(shipped_rates.url, guesses)

    assert statuses == {401: limit, 429: len(guesses) - limit}


def test_concurrent_successful_logins_count_no_failure(shipped_rates, account):
    ceiling = allowed("THROTTLE_RATE_LOGIN_ACCOUNT")
    email = account()
    devices = concurrently(shipped_rates.url, logins(email, PASSWORD, fresh_addresses(ceiling)))

    guesses = concurrently(
        shipped_rates.url, logins(email, WRONG_PASSWORD, fresh_addresses(ceiling + 1))
    )

    assert devices == {200: ceiling}
    assert guesses == {401: ceiling, 429: 1}


@pytest.mark.parametrize(
    ("path", "rate", "body"),
    [
        (
            "/api/register/",
            "THROTTLE_RATE_REGISTER",
            lambda: {"email": f"r-{secrets.token_hex(6)}@example.com", "password": PASSWORD},
        ),
        ("/api/refresh/", "THROTTLE_RATE_REFRESH", lambda: {"refresh_token": str(uuid.uuid4())}),
    ],
    ids=["register", "refresh"],
)
def test_concurrent_requests_from_one_address_meet_its_limit(shipped_rates, path, rate, body):
    limit = allowed(rate)
    [address] = fresh_addresses(1)

    statuses = concurrently(shipped_rates.url, [(address, path, body()) for _ in range(2 * limit)])

    assert statuses[429] == limit
    assert statuses.total() == 2 * limit

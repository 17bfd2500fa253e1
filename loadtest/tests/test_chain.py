"""loadtest/chain.py: what each answer means for a virtual user's refresh chain."""

import base64
import json

import pytest

from loadtest.chain import (
    Chain,
    Outcome,
    access_outcome,
    chain_start,
    refresh_due,
    refresh_outcome,
)

NOW = 1_000_000.0


def jwt_with_exp(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).rstrip(b"=").decode()
    return f"e30.{payload}.sig"


def pair(n: int, exp: float = NOW + 30) -> dict:
    return {"access_token": jwt_with_exp(exp), "refresh_token": f"refresh-{n}"}


def test_a_login_starts_a_chain_that_expires_with_its_access_token():
    chain = chain_start(pair(1))

    assert (chain.refresh_token, chain.expires_at, chain.from_refresh) == (
        "refresh-1",
        NOW + 30,
        False,
    )


def test_a_refresh_is_due_within_the_margin_of_the_expiry():
    chain = chain_start(pair(1))

    assert not refresh_due(chain, now=NOW + 24, margin=5)
    assert refresh_due(chain, now=NOW + 25, margin=5)


def test_a_200_refresh_makes_the_new_pair_the_chain():
    chain, outcome = refresh_outcome(chain_start(pair(1)), 200, pair(2))

    assert outcome is Outcome.ROTATED
    assert (chain.refresh_token, chain.from_refresh) == ("refresh-2", True)


def test_a_401_to_the_token_a_200_refresh_gave_is_a_broken_chain():
    chain, _ = refresh_outcome(chain_start(pair(1)), 200, pair(2))

    assert refresh_outcome(chain, 401, {"detail": "Refresh token has been revoked."})[1] is (
        Outcome.BROKEN
    )


@pytest.mark.parametrize("status", [503, 429])
def test_a_503_or_429_keeps_the_same_token_for_a_retry(status):
    chain, _ = refresh_outcome(chain_start(pair(1)), 200, pair(2))

    retried, outcome = refresh_outcome(chain, status, {"detail": "unavailable"})

    assert (outcome, retried) == (Outcome.RETRY, chain)
    assert refresh_outcome(retried, 401, None)[1] is Outcome.BROKEN  # still checked


@pytest.mark.parametrize("status", [502, 504, 0])
def test_a_401_after_a_gateway_error_is_a_lost_rotation_not_a_broken_chain(status):
    chain, _ = refresh_outcome(chain_start(pair(1)), 200, pair(2))
    chain, outcome = refresh_outcome(chain, status, None)

    assert outcome is Outcome.RETRY
    assert refresh_outcome(chain, 401, None)[1] is Outcome.LOST


def test_a_401_to_a_logins_own_refresh_token_is_a_refusal():
    assert refresh_outcome(chain_start(pair(1)), 401, None)[1] is Outcome.REFUSED


def test_a_401_to_a_refreshed_access_token_before_its_expiry_is_a_broken_chain():
    chain, _ = refresh_outcome(chain_start(pair(1)), 200, pair(2, exp=NOW + 30))

    assert access_outcome(chain, 401, now=NOW + 10, leeway=1) is Outcome.BROKEN


def test_a_401_to_an_access_token_at_its_expiry_is_no_failure():
    chain = Chain(jwt_with_exp(NOW + 30), "refresh-1", NOW + 30, from_refresh=True)

    assert access_outcome(chain, 401, now=NOW + 29.5, leeway=1) is Outcome.OK


def test_a_200_to_an_access_token_is_no_failure():
    chain = Chain(jwt_with_exp(NOW + 30), "refresh-1", NOW + 30, from_refresh=True)

    assert access_outcome(chain, 200, now=NOW, leeway=1) is Outcome.OK

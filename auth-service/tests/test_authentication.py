"""accounts/authentication.py: the user a token names, its one query, and the cache of verified
tokens. Every refusal of the header or the token itself is a case of the shared table
(tests/test_token_contract.py)."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from tests.conftest import bearer

pytestmark = pytest.mark.django_db

ME = "/api/me/"


def assert_refused(response, detail: str) -> None:
    assert response.status_code == 401
    # RFC 6750 3.1: a refused token is `invalid_token`, on which an OAuth client refreshes.
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="{settings.JWT_AUDIENCE}", error="invalid_token", '
        f'error_description="{detail}"'
    )
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}


def test_valid_access_token_authenticates_the_user(api_client, user, make_token):
    response = api_client.get(ME, **bearer(make_token(user.pk)))

    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_authenticating_a_request_costs_one_query(
    api_client, user, make_token, django_assert_num_queries
):
    token = make_token(user.pk)

    with django_assert_num_queries(1):
        api_client.get(ME, **bearer(token))


def test_token_of_a_deleted_user_is_refused(api_client, user, make_token):
    token = make_token(user.pk)
    user.delete()

    assert_refused(api_client.get(ME, **bearer(token)), "User not found.")


def test_token_of_an_inactive_user_is_refused(api_client, user, make_token):
    user.is_active = False
    user.save()

    assert_refused(api_client.get(ME, **bearer(make_token(user.pk))), "User is inactive.")


def test_stray_authorization_header_does_not_affect_public_endpoints(api_client, user):
    response = api_client.post(
        "/api/login/",
        {"email": user.email, "password": "Str0ng-Passw0rd!"},
        format="json",
        **bearer("garbage"),
    )

    assert response.status_code == 200


def test_a_token_used_before_is_refused_once_it_expires(api_client, user, make_token, settings):
    token = make_token(user.pk)
    assert api_client.get(ME, **bearer(token)).status_code == 200

    with time_machine.travel(timedelta(seconds=30 + settings.JWT_LEEWAY + 1)):
        response = api_client.get(ME, **bearer(token))

    assert_refused(response, "Token has expired.")


def test_a_token_used_before_is_refused_once_its_user_is_deactivated(api_client, user, make_token):
    token = make_token(user.pk)
    assert api_client.get(ME, **bearer(token)).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert_refused(api_client.get(ME, **bearer(token)), "User is inactive.")


def test_a_token_used_before_is_refused_once_the_signing_key_changes(
    api_client, user, make_token, settings
):
    token = make_token(user.pk)
    assert api_client.get(ME, **bearer(token)).status_code == 200

    if settings.JWT_ALGORITHM == "EdDSA":
        settings.JWT_VERIFYING_KEYS = {}  # its key retired
    else:
        settings.JWT_SECRET = "a-new-key-that-is-also-at-least-32-bytes-long"

    assert_refused(api_client.get(ME, **bearer(token)), "Token is invalid.")

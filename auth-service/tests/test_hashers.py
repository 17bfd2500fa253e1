"""accounts/hashers.py: Argon2id at the ARGON2_* cost, and the upgrade of a stored hash at login."""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password

from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# Small costs keep the suite fast; what matters is that they differ.
LOW = {"ARGON2_MEMORY_KIB": 64, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}
RAISED = {"ARGON2_MEMORY_KIB": 256, "ARGON2_TIME_COST": 3, "ARGON2_PARALLELISM": 2}


@pytest.fixture
def argon2(settings):
    """The service's own hasher, at the cost set by argon2_cost(...)."""
    settings.PASSWORD_HASHERS = ["accounts.hashers.ConfiguredArgon2PasswordHasher"]

    def argon2_cost(**cost: int) -> None:
        for name, value in cost.items():
            setattr(settings, name, value)

    return argon2_cost


def stored_params(user: User) -> str:
    """The `m=...,t=...,p=...` part of the user's stored hash."""
    user.refresh_from_db()
    return user.password.split("$")[3]


def login(api_client, user: User) -> int:
    body = {"email": user.email, "password": PASSWORD}
    return api_client.post("/api/login/", body, format="json").status_code


def test_a_password_is_hashed_at_the_configured_cost(argon2):
    argon2(**RAISED)

    assert make_password(PASSWORD).startswith("argon2$argon2id$v=19$m=256,t=3,p=2$")


def test_raising_the_cost_upgrades_the_stored_hash_at_the_next_login(argon2, api_client):
    argon2(**LOW)
    user = User.objects.create_user(email="player@example.com", password=PASSWORD)
    assert stored_params(user) == "m=64,t=1,p=1"
    argon2(**RAISED)

    assert login(api_client, user) == 200
    assert stored_params(user) == "m=256,t=3,p=2"
    assert login(api_client, user) == 200  # the upgraded hash verifies


def test_a_wrong_password_leaves_the_stored_hash_as_it_was(argon2, api_client):
    argon2(**LOW)
    user = User.objects.create_user(email="player@example.com", password=PASSWORD)
    argon2(**RAISED)

    body = {"email": user.email, "password": "Wrong-Passw0rd!"}
    assert api_client.post("/api/login/", body, format="json").status_code == 401
    assert stored_params(user) == "m=64,t=1,p=1"


def test_a_hash_made_at_djangos_default_cost_verifies_and_is_brought_to_the_setting(
    argon2, api_client
):
    argon2(**LOW)
    user = User.objects.create_user(email="player@example.com", password=PASSWORD)
    django_default = Argon2PasswordHasher()
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher=django_default))
    assert stored_params(user) == "m=102400,t=2,p=8"

    assert login(api_client, user) == 200
    assert stored_params(user) == "m=64,t=1,p=1"

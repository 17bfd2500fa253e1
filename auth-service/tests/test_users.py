"""accounts/services/users.py and the email's normal form (accounts/models.py)."""

import pytest
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import errors
from accounts.models import User, email_normalize
from accounts.services import users
from tests.conftest import PASSWORD, rotate, stored

pytestmark = pytest.mark.django_db


# --- users -----------------------------------------------------------------------------------


def test_emails_differing_only_in_case_are_refused_by_the_database(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="PLAYER@EXAMPLE.COM", password=PASSWORD)


def test_user_create_turns_a_duplicate_email_into_a_validation_error(user):
    with pytest.raises(ValidationError) as error:
        users.user_create(email="Player@example.com", password=PASSWORD)

    assert error.value.message_dict == {"email": ["A user with this email already exists."]}


def test_username_is_blank_and_not_unique():
    first = users.user_create(email="a@example.com", password=PASSWORD)
    second = users.user_create(email="b@example.com", password=PASSWORD)
    users.user_update(user=first, username="Sam")

    users.user_update(user=second, username="Sam")

    assert User.objects.filter(username="Sam").count() == 2


def test_user_update_with_no_fields_changes_nothing(user, django_assert_num_queries):
    with django_assert_num_queries(0):
        users.user_update(user=user)


def test_login_with_an_unknown_email_still_runs_the_password_hasher(counting_hasher):
    users.user_create(email="known@example.com", password=PASSWORD)
    counting_hasher.calls = 0

    with pytest.raises(errors.InvalidCredentialsError):
        users.user_authenticate(email="unknown@example.com", password=PASSWORD)

    assert counting_hasher.calls == 1


def test_login_with_a_wrong_password_runs_the_hasher_as_often(counting_hasher):
    known = users.user_create(email="known@example.com", password=PASSWORD)
    counting_hasher.calls = 0

    with pytest.raises(errors.InvalidCredentialsError):
        users.user_authenticate(email=known.email, password="Wrong-Passw0rd!")

    assert counting_hasher.calls == 1


def test_a_new_password_revokes_every_refresh_token_of_the_user(user, pair):
    users.user_password_set(user=user, password="An0ther-long-passphrase")

    with pytest.raises(errors.RefreshTokenError, match="revoked"):
        rotate(pair.refresh_token)


def test_saving_the_user_without_a_new_password_keeps_its_refresh_tokens(user, pair):
    users.user_update(user=user, username="Renamed")

    assert stored(pair.refresh_token).revoked_at is None


def test_password_hash_upgrade_at_login_keeps_refresh_tokens(settings, user, pair):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "tests.conftest.CountingPasswordHasher",  # here: an older hasher to upgrade from
    ]
    legacy_hash = make_password(PASSWORD, hasher="counting_md5")
    User.objects.filter(pk=user.pk).update(password=legacy_hash)

    users.user_authenticate(email=user.email, password=PASSWORD)

    user.refresh_from_db()
    assert user.password.startswith("md5$")
    assert stored(pair.refresh_token).revoked_at is None


def test_user_authenticate_refuses_a_wrong_password(user):
    with pytest.raises(errors.InvalidCredentialsError):
        users.user_authenticate(email=user.email, password="Wrong-Passw0rd!")


@pytest.mark.parametrize(
    ("email", "normal_form"),
    [
        ("Player@Example.COM", "player@example.com"),
        ("vİctim@example.com", "vi\u0307ctim@example.com"),  # never plain "i"
        ("\u212aelvin@example.com", "kelvin@example.com"),
        ("STRAẞE@example.com", "strasse@example.com"),
        ("\uff50\uff4c\uff41\uff59\uff45\uff52\uff20example.com", "player@example.com"),
        ("jose\u0301@example.com", "jos\u00e9@example.com"),
        ("  player@example.com ", "player@example.com"),
    ],
)
def test_email_normalize_gives_one_form_per_address(email, normal_form):
    assert email_normalize(email) == normal_form


def test_the_database_refuses_an_email_equal_after_normalisation(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(
            email="\uff50\uff4c\uff41\uff59\uff45\uff52@example.com", password=PASSWORD
        )

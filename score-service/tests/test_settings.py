"""Settings come from the environment; a missing or unsafe value stops the start."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from pydantic import ValidationError

from app.settings import Settings, SettingsError, settings_load
from tests.conftest import PRIVATE_KEY, PUBLIC_KEYS

SECRET = "s" * 32
PRIVATE_JWK = {**OKPAlgorithm.to_jwk(PRIVATE_KEY, as_dict=True), "kid": "test-key-1"}


@pytest.fixture
def hs256(monkeypatch):
    """The HS256 mode: JWT_ALGORITHM=HS256, a JWT_SECRET set by each test."""
    monkeypatch.setenv("JWT_ALGORITHM", "HS256")


def test_defaults_match_the_contract(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)

    settings = Settings()

    assert (
        settings.JWT_ALGORITHM,
        settings.JWT_ISSUER,
        settings.JWT_AUDIENCE,
        settings.JWT_LEEWAY,
        settings.GAME_FILE,
        settings.GAME_SEED,
    ) == ("EdDSA", "auth-service", "game-platform", 5, None, 2024)


def test_public_keys_are_read_by_kid(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)

    assert list(Settings().public_keys) == ["test-key-1"]


def test_settings_hold_no_private_key_material(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)

    settings = Settings()

    assert settings.JWT_SECRET is None
    assert settings.JWT_PRIVATE_KEY is None
    assert all(isinstance(key.key, Ed25519PublicKey) for key in settings.public_keys.values())
    assert PRIVATE_JWK["d"] not in repr(settings.model_dump())


def test_private_key_in_the_environment_stops_the_start(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)
    monkeypatch.setenv("JWT_PRIVATE_KEY", json.dumps(PRIVATE_JWK))

    with pytest.raises(SettingsError, match="JWT_PRIVATE_KEY: must not reach the score service"):
        settings_load()


def test_jwt_secret_with_eddsa_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)
    monkeypatch.setenv("JWT_SECRET", SECRET)

    with pytest.raises(ValidationError, match="JWT_SECRET must be unset with JWT_ALGORITHM=EdDSA"):
        Settings()


def test_missing_public_keys_are_refused():
    with pytest.raises(ValidationError, match="JWT_PUBLIC_KEYS is required with"):
        Settings()


def test_placeholder_public_keys_are_refused(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", "change-me-jwt-public-keys")

    with pytest.raises(ValidationError, match="JWT_PUBLIC_KEYS: is a placeholder"):
        Settings()


def test_unusable_public_keys_stop_the_start_with_the_contracts_reason(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", json.dumps({"keys": [PRIVATE_JWK]}))

    with pytest.raises(SettingsError) as raised:
        settings_load()

    assert str(raised.value) == (
        "bad settings: JWT_PUBLIC_KEYS: key 'test-key-1' holds a private part 'd': "
        "publish public keys only"
    )


@pytest.mark.usefixtures("hs256")
@pytest.mark.parametrize("public_keys", ["change-me-jwt-public-keys", "{not json"])
def test_public_keys_are_not_read_with_hs256(monkeypatch, public_keys):
    # As in the auth service: a value left in a setting the algorithm does not use (the
    # example JWT_PUBLIC_KEYS of .env.example, say) stops no start.
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_PUBLIC_KEYS", public_keys)

    assert Settings().public_keys == {}


def test_every_setting_is_read_from_the_environment(monkeypatch):
    # HS384 so that JWT_SECRET may be set; JWT_PUBLIC_KEYS is read in the test above.
    values = {
        "JWT_SECRET": "x" * 48,
        "JWT_ALGORITHM": "HS384",
        "JWT_ISSUER": "issuer",
        "JWT_AUDIENCE": "audience",
        "JWT_LEEWAY": "0",
        "GAME_FILE": "/srv/game.json",
        "GAME_SEED": "7",
        "LOG_FORMAT": "json",
        "LOG_REQUESTS": "0",
        "METRICS_ENABLED": "0",
        "METRICS_BIND": "127.0.0.1:9100",
        "SCORE_CORS_ALLOWED_ORIGINS": "https://app.example",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.model_dump() | {"JWT_SECRET": settings.JWT_SECRET.get_secret_value()} == {
        **values,
        "JWT_PUBLIC_KEYS": None,
        "JWT_LEEWAY": 0,
        "GAME_FILE": Path("/srv/game.json"),
        "GAME_SEED": 7,
        "LOG_REQUESTS": False,
        "METRICS_ENABLED": False,
        "SCORE_CORS_ALLOWED_ORIGINS": ("https://app.example",),
    }


@pytest.mark.usefixtures("hs256")
def test_missing_jwt_secret_is_refused_with_hs256():
    with pytest.raises(ValidationError, match="JWT_SECRET is required with JWT_ALGORITHM=HS256"):
        Settings()


@pytest.mark.usefixtures("hs256")
def test_empty_jwt_secret_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "")

    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings()


@pytest.mark.usefixtures("hs256")
def test_jwt_secret_shorter_than_32_bytes_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "s" * 31)

    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings()


@pytest.mark.usefixtures("hs256")
def test_jwt_secret_length_counts_bytes_not_characters(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "é" * 16)  # 16 characters, 32 bytes in UTF-8

    assert Settings().JWT_SECRET.get_secret_value() == "é" * 16


def test_jwt_secret_must_be_as_long_as_the_hash_of_the_algorithm(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "s" * 63)
    monkeypatch.setenv("JWT_ALGORITHM", "HS512")

    with pytest.raises(ValidationError, match="at least 64 bytes for HS512"):
        Settings()


@pytest.mark.usefixtures("hs256")
def test_placeholder_jwt_secret_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "change-me-jwt-secret-at-least-32-bytes-long")

    with pytest.raises(ValidationError, match="placeholder"):
        Settings()


@pytest.mark.parametrize("algorithm", ["none", "RS256", "hs256"])
def test_jwt_algorithm_other_than_eddsa_or_hmac_sha2_is_refused(monkeypatch, algorithm):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ALGORITHM", algorithm)

    with pytest.raises(ValidationError, match="JWT_ALGORITHM"):
        Settings()


@pytest.mark.parametrize("leeway", ["-1", "11"])
def test_jwt_leeway_outside_zero_to_ten_seconds_is_refused(monkeypatch, leeway):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)
    monkeypatch.setenv("JWT_LEEWAY", leeway)

    with pytest.raises(ValidationError, match="JWT_LEEWAY"):
        Settings()


def test_empty_game_file_means_the_generated_game(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)
    monkeypatch.setenv("GAME_FILE", "")

    assert Settings().GAME_FILE is None


@pytest.mark.usefixtures("hs256")
def test_secret_is_not_shown_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", SECRET)

    assert SECRET not in repr(Settings())


def test_every_setting_is_documented_in_env_example():
    env_example = Path(__file__).resolve().parents[2] / ".env.example"
    documented = {
        line.split("=", 1)[0] for line in env_example.read_text().splitlines() if "=" in line
    }

    assert set(Settings.model_fields) <= documented


def test_settings_load_names_every_bad_variable_on_one_line(monkeypatch):
    monkeypatch.setenv("JWT_PUBLIC_KEYS", PUBLIC_KEYS)
    monkeypatch.setenv("JWT_LEEWAY", "60")
    monkeypatch.setenv("GAME_SEED", "seven")

    with pytest.raises(SettingsError) as raised:
        settings_load()

    assert str(raised.value) == (
        "bad settings: JWT_LEEWAY: Input should be less than or equal to 10; "
        "GAME_SEED: Input should be a valid integer, unable to parse string as an integer"
    )

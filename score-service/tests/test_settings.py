"""Settings come from the environment; a missing or unsafe value stops the start."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings, SettingsError, settings_load

SECRET = "s" * 32


def test_defaults_match_the_contract(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", SECRET)

    settings = Settings()

    assert (
        settings.JWT_ALGORITHM,
        settings.JWT_ISSUER,
        settings.JWT_AUDIENCE,
        settings.JWT_LEEWAY,
        settings.GAME_FILE,
        settings.GAME_SEED,
    ) == ("HS256", "auth-service", "game-platform", 5, None, 2024)


def test_every_setting_is_read_from_the_environment(monkeypatch):
    values = {
        "JWT_SECRET": "x" * 48,
        "JWT_ALGORITHM": "HS384",
        "JWT_ISSUER": "issuer",
        "JWT_AUDIENCE": "audience",
        "JWT_LEEWAY": "0",
        "GAME_FILE": "/srv/game.json",
        "GAME_SEED": "7",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.model_dump() | {"JWT_SECRET": settings.JWT_SECRET.get_secret_value()} == {
        **values,
        "JWT_LEEWAY": 0,
        "GAME_FILE": Path("/srv/game.json"),
        "GAME_SEED": 7,
    }


def test_missing_jwt_secret_is_refused():
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings()


def test_empty_jwt_secret_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "")

    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings()


def test_jwt_secret_shorter_than_32_bytes_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "s" * 31)

    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings()


def test_jwt_secret_length_counts_bytes_not_characters(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "é" * 16)  # 16 characters, 32 bytes in UTF-8

    assert Settings().JWT_SECRET.get_secret_value() == "é" * 16


def test_jwt_secret_must_be_as_long_as_the_hash_of_the_algorithm(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "s" * 63)
    monkeypatch.setenv("JWT_ALGORITHM", "HS512")

    with pytest.raises(ValidationError, match="at least 64 bytes for HS512"):
        Settings()


def test_placeholder_jwt_secret_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "change-me-jwt-secret-at-least-32-bytes-long")

    with pytest.raises(ValidationError, match="placeholder"):
        Settings()


@pytest.mark.parametrize("algorithm", ["none", "RS256", "hs256"])
def test_jwt_algorithm_other_than_hmac_sha2_is_refused(monkeypatch, algorithm):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ALGORITHM", algorithm)

    with pytest.raises(ValidationError, match="JWT_ALGORITHM"):
        Settings()


@pytest.mark.parametrize("leeway", ["-1", "11"])
def test_jwt_leeway_outside_zero_to_ten_seconds_is_refused(monkeypatch, leeway):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_LEEWAY", leeway)

    with pytest.raises(ValidationError, match="JWT_LEEWAY"):
        Settings()


def test_empty_game_file_means_the_generated_game(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("GAME_FILE", "")

    assert Settings().GAME_FILE is None


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
    monkeypatch.setenv("JWT_LEEWAY", "60")

    with pytest.raises(SettingsError) as raised:
        settings_load()

    assert str(raised.value) == (
        "bad settings: JWT_SECRET: Field required; "
        "JWT_LEEWAY: Input should be less than or equal to 10"
    )

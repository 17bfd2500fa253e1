"""The score service's settings: read from the environment only (.env.example lists them)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_PREFIX = "change-me"


class Settings(BaseSettings):
    """Every setting of the service; a missing or bad value stops the start."""

    # An empty variable (GAME_FILE= in .env) means "not set": the default applies.
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True)

    # HMAC key shared with the auth service. RFC 7518 section 3.2: a key at least as long as
    # the hash output, so 32 bytes for HS256 (48 for HS384, 64 for HS512).
    JWT_SECRET: SecretStr
    # HMAC only: the service holds a shared secret, not a public key.
    JWT_ALGORITHM: Literal["HS256", "HS384", "HS512"] = "HS256"
    JWT_ISSUER: str = "auth-service"
    JWT_AUDIENCE: str = "game-platform"
    # Clock skew allowed on exp, nbf and iat, in seconds; a few at most.
    JWT_LEEWAY: int = Field(default=5, ge=0, le=10)
    # A JSON game in the task's shape; unset: the game generated with GAME_SEED.
    GAME_FILE: Path | None = None
    GAME_SEED: int = 2024

    @field_validator("JWT_SECRET")
    @classmethod
    def _secret_is_real(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret.startswith(PLACEHOLDER_PREFIX):
            raise ValueError(
                f"is a placeholder ({PLACEHOLDER_PREFIX}...): set a random secret (make env)"
            )
        return value

    @model_validator(mode="after")
    def _secret_is_long_enough(self) -> "Settings":
        minimum = int(self.JWT_ALGORITHM[2:]) // 8
        if len(self.JWT_SECRET.get_secret_value().encode()) < minimum:
            raise ValueError(
                f"JWT_SECRET must be at least {minimum} bytes for {self.JWT_ALGORITHM}"
            )
        return self


class SettingsError(Exception):
    """Settings the service cannot start with; the message is one line per problem."""


def _problem(error: dict) -> str:
    name = ".".join(map(str, error["loc"]))  # empty for the checks across fields
    message = error["msg"].removeprefix("Value error, ")
    return f"{name}: {message}" if name else message


def settings_load() -> Settings:
    """Return the Settings read from the environment.

    Raises SettingsError naming each bad variable, e.g. "JWT_SECRET: Field required".
    """
    try:
        return Settings()
    except ValidationError as e:
        problems = "; ".join(_problem(error) for error in e.errors())
        raise SettingsError(f"bad settings: {problems}") from None

"""The score service's settings: read from the environment only (.env.example lists them)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_PREFIX = "change-me"


class Settings(BaseSettings):
    """Every setting of the service; a missing or bad value stops the start."""

    # An empty variable (GAME_FILE= in .env) means "not set": the default applies.
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True)

    # HMAC key shared with the auth service. RFC 7518 section 3.2: an HS256 key must be at
    # least as long as the hash output, 256 bits.
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
        if len(secret.encode()) < 32:
            raise ValueError("must be at least 32 bytes")
        return value

"""The score service's settings: read from the environment only (.env.example lists them).

With EdDSA (the default) the service holds public keys only (JWT_PUBLIC_KEYS, a JWKS): it can
verify access tokens but never mint one, so a compromise of this service forges no account.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import jwt
from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.token_contract import EDDSA, TokenKeyError, public_keys_parse

# What every secret and key of .env.example starts with until `make env` replaces it (the
# auth service's settings and devstack/envfile.py, which share no code with this one, have
# their own copy).
PLACEHOLDER_PREFIX = "change-me"
# An origin (RFC 6454): scheme, host and an optional port; no path, no "*".
_ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


def _not_a_placeholder(name: str, text: str) -> str:
    """Return `text`, the value of the setting `name`; raise ValueError if it is still the
    example value of .env.example."""
    if text.startswith(PLACEHOLDER_PREFIX):
        raise ValueError(
            f"{name}: is a placeholder ({PLACEHOLDER_PREFIX}...): set a real value (make env)"
        )
    return text


class Settings(BaseSettings):
    """Every setting of the service; a missing or bad value stops the start."""

    # An empty variable (GAME_FILE= in .env) means "not set": the default applies.
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True)

    # EdDSA: tokens signed by the auth service's private Ed25519 key, verified with
    # JWT_PUBLIC_KEYS. HS*: one HMAC secret shared with the auth service (JWT_SECRET).
    JWT_ALGORITHM: Literal["EdDSA", "HS256", "HS384", "HS512"] = EDDSA
    # The JWKS (RFC 7517) of the public keys; a token's `kid` picks one. EdDSA only.
    JWT_PUBLIC_KEYS: str | None = None
    # HMAC key shared with the auth service, HS* only. RFC 7518 section 3.2: a key at least as
    # long as the hash output, so 32 bytes for HS256 (48 for HS384, 64 for HS512).
    JWT_SECRET: SecretStr | None = None
    # Never accepted: named here so that a signing key reaching this service stops its start.
    JWT_PRIVATE_KEY: None = Field(default=None, exclude=True, repr=False)
    JWT_ISSUER: str = "auth-service"
    JWT_AUDIENCE: str = "game-platform"
    # Clock skew allowed on exp, nbf and iat, in seconds; a few at most.
    JWT_LEEWAY: int = Field(default=5, ge=0, le=10)
    # A JSON game in the task's shape; unset: the game generated with GAME_SEED.
    GAME_FILE: Path | None = None
    GAME_SEED: int = 2024
    # Browser apps on other origins that may call /score (CORS), comma-separated, each
    # `scheme://host[:port]`; empty: no cross-origin access. Its own name, beside the auth
    # service's CORS_ALLOWED_ORIGINS, so that each service has its own list.
    SCORE_CORS_ALLOWED_ORIGINS: Annotated[tuple[str, ...], NoDecode] = ()
    # docs/observability.md. json in the image, text under `make run`; one line per request.
    LOG_FORMAT: Literal["json", "text"] = "text"
    LOG_REQUESTS: bool = True
    # Prometheus metrics, served by app/serve.py on their own address, never the gateway's.
    METRICS_ENABLED: bool = True
    METRICS_BIND: str = "0.0.0.0:9000"

    _public_keys: dict[str, jwt.PyJWK] = PrivateAttr(default_factory=dict)

    @field_validator("JWT_PRIVATE_KEY", mode="before")
    @classmethod
    def _no_private_key(cls, value: object) -> None:
        if value is None:  # BaseSettings validates the default too
            return None
        raise ValueError(
            "must not reach the score service, which verifies with JWT_PUBLIC_KEYS only: "
            "remove it from this service's environment"
        )

    @field_validator("SCORE_CORS_ALLOWED_ORIGINS", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [origin.strip() for origin in value.split(",") if origin.strip()]
        origins = tuple(value)
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], without a path or a "
                    "wildcard (list every origin)"
                )
        return origins

    @model_validator(mode="after")
    def _keys_fit_the_algorithm(self) -> "Settings":
        # Only what the algorithm reads is judged, so a value left in an unused setting (the
        # example JWT_PUBLIC_KEYS with HS256, say) stops no start, as in the auth service.
        # JWT_SECRET with EdDSA is refused all the same: a signing secret must not be here.
        if self.JWT_ALGORITHM == EDDSA:
            if self.JWT_SECRET is not None:
                raise ValueError(
                    "JWT_SECRET must be unset with JWT_ALGORITHM=EdDSA: the score service "
                    "holds no signing key"
                )
            if self.JWT_PUBLIC_KEYS is None:
                raise ValueError(
                    "JWT_PUBLIC_KEYS is required with JWT_ALGORITHM=EdDSA (the auth service's "
                    "public keys as a JWKS; make env writes them)"
                )
            try:
                self._public_keys = public_keys_parse(
                    _not_a_placeholder("JWT_PUBLIC_KEYS", self.JWT_PUBLIC_KEYS)
                )
            except TokenKeyError as e:
                raise ValueError(f"JWT_PUBLIC_KEYS: {e}") from None
            return self
        if self.JWT_SECRET is None:
            raise ValueError(f"JWT_SECRET is required with JWT_ALGORITHM={self.JWT_ALGORITHM}")
        secret = _not_a_placeholder("JWT_SECRET", self.JWT_SECRET.get_secret_value())
        minimum = int(self.JWT_ALGORITHM[2:]) // 8
        if len(secret.encode()) < minimum:
            raise ValueError(
                f"JWT_SECRET must be at least {minimum} bytes for {self.JWT_ALGORITHM}"
            )
        return self

    @property
    def public_keys(self) -> Mapping[str, jwt.PyJWK]:
        """The verifying keys by kid (EdDSA); empty with an HMAC algorithm."""
        return self._public_keys


class SettingsError(Exception):
    """Settings the service cannot start with; the message is one line per problem."""


def _problem(error: dict) -> str:
    name = ".".join(map(str, error["loc"]))  # empty for the checks across fields
    message = error["msg"].removeprefix("Value error, ")
    return f"{name}: {message}" if name else message


def settings_load() -> Settings:
    """Return the Settings read from the environment.

    Raises SettingsError naming each bad variable, e.g. "JWT_PUBLIC_KEYS: is not JSON".
    """
    try:
        return Settings()
    except ValidationError as e:
        problems = "; ".join(_problem(error) for error in e.errors())
        raise SettingsError(f"bad settings: {problems}") from None

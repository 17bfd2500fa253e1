"""`make rotate-jwt-key STEP=publish|activate|retire`: one step of a signing-key rotation
(docs/tokens.md).

A published key's private half waits in NEXT_KEY_FILE, beside .env and never in it: .env is
what compose's `env_file` and `make run` hand to the auth service, and the next key must
reach no service before it is activated.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack import ENV_FILE
from devstack.envfile import env_file_read, env_file_update, env_quote, secret_file_open
from devstack.keys import json_compact, jwt_key_pair

NEXT_KEY_FILE = ENV_FILE.with_name(".jwt-next-key.json")
RESTART = "restart the score and auth services (compose: docker compose up -d)"


class RotationError(ValueError):
    """A rotation step that cannot run from the current keys; the message says why."""


@dataclass(frozen=True)
class RotationStep:
    """What one step changes, and what to do next.

    env_updates: the .env updates (None removes a name). next_key: the private JWK waiting
    for activation after the step, "" for none.
    """

    env_updates: dict[str, str | None]
    next_key: str
    message: str


def _public_keys(values: Mapping[str, str]) -> list[dict]:
    try:
        return json.loads(values.get("JWT_PUBLIC_KEYS") or "")["keys"]
    except (ValueError, KeyError, TypeError):
        raise RotationError("JWT_PUBLIC_KEYS is not a JWKS: nothing to rotate") from None


def _kid(private_jwk: str) -> str:
    try:
        return json.loads(private_jwk)["kid"]
    except (ValueError, KeyError, TypeError):
        raise RotationError("the private key is not a JWK with a kid") from None


def jwt_key_rotation(step: str, values: Mapping[str, str], next_key: str) -> RotationStep:
    """Return one rotation step, from the .env values and the waiting private key ("" for
    none); raise RotationError when the step cannot run now.

    publish: a new key pair; its public half joins JWT_PUBLIC_KEYS (every verifier learns
    it), its private half waits. activate: that key signs from now on. retire:
    JWT_PUBLIC_KEYS keeps only the active (and a published next) key.
    """
    if (values.get("JWT_ALGORITHM") or "EdDSA") != "EdDSA":
        raise RotationError("JWT_ALGORITHM is not EdDSA: only Ed25519 keys rotate this way")
    keys = _public_keys(values)
    if step == "publish":
        if next_key:
            raise RotationError(f"key {_kid(next_key)} is published already: activate it first")
        private, public = jwt_key_pair()
        return RotationStep(
            {"JWT_PUBLIC_KEYS": env_quote(json_compact({"keys": [*keys, public]}))},
            json_compact(private),
            f"Published key {private['kid']} (its private key waits in {NEXT_KEY_FILE.name}, "
            f"which no service reads). Now {RESTART}; once every verifier has it (JWKS "
            "caches: 5 minutes), run: make rotate-jwt-key STEP=activate",
        )
    if step == "activate":
        if not next_key:
            raise RotationError("no key is published: run STEP=publish first")
        return RotationStep(
            {"JWT_PRIVATE_KEY": env_quote(next_key)},
            "",
            f"Key {_kid(next_key)} signs now. Restart the auth service (compose: docker "
            "compose up -d); after the longest access-token lifetime (ACCESS_TOKEN_LIFETIME + "
            "JWT_LEEWAY), run: make rotate-jwt-key STEP=retire",
        )
    if step == "retire":
        kept = {_kid(values.get("JWT_PRIVATE_KEY") or "")} | (
            {_kid(next_key)} if next_key else set()
        )
        retired = [key.get("kid") for key in keys if key.get("kid") not in kept]
        if not retired:
            raise RotationError("no key to retire: JWT_PUBLIC_KEYS holds the active key only")
        remaining = [key for key in keys if key.get("kid") in kept]
        return RotationStep(
            {"JWT_PUBLIC_KEYS": env_quote(json_compact({"keys": remaining}))},
            next_key,
            f"Retired {', '.join(map(str, retired))}: tokens they signed are refused once you "
            f"{RESTART}.",
        )
    raise RotationError(f"unknown step {step!r}: publish, activate or retire")


def jwt_key_rotate(
    step: str, *, env_file: Path = ENV_FILE, next_key_file: Path = NEXT_KEY_FILE
) -> str:
    """Run one rotation step on env_file and next_key_file; return what to do next. Raise
    RotationError (and change nothing) when the step cannot run now.

    .env changes first: a step cut short leaves a public key without its private half (the
    next publish adds another, and retire removes it), never a private key that no verifier
    knows.
    """
    waiting = next_key_file.read_text(encoding="utf-8").strip() if next_key_file.exists() else ""
    result = jwt_key_rotation(step, env_file_read(env_file), waiting)
    env_file_update(env_file, result.env_updates)
    if result.next_key != waiting:
        next_key_file.unlink(missing_ok=True)
        if result.next_key:
            with secret_file_open(next_key_file) as f:
                f.write(result.next_key + "\n")
    return result.message

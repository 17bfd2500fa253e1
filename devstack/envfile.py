""".env files: written from .env.example with fresh secrets, read as compose reads them, and
edited in place. A file that may hold a secret is created 0600 before a byte is written."""

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from devstack import ENV_EXAMPLE, ENV_FILE
from devstack.keys import json_compact, jwt_key_pair

PLACEHOLDER_PREFIX = "change-me"


def env_quote(value: str) -> str:
    """Return value single-quoted for .env: compose takes it literally, and a shell that
    sources .env keeps the JSON's double quotes."""
    return f"'{value}'"


def env_text_with_secrets(example_text: str) -> str:
    """Return example_text with every `change-me...` value replaced by a fresh random secret,
    and JWT_PRIVATE_KEY / JWT_PUBLIC_KEYS by a fresh Ed25519 key pair.

    token_urlsafe(48) gives 64 characters of [A-Za-z0-9_-]: over the 32 bytes JWT_SECRET
    needs, and safe inside a URL (compose builds DATABASE_URL from POSTGRES_PASSWORD).
    """
    private, public = jwt_key_pair()
    keys = {
        "JWT_PRIVATE_KEY": env_quote(json_compact(private)),
        "JWT_PUBLIC_KEYS": env_quote(json_compact({"keys": [public]})),
    }
    lines = []
    for line in example_text.splitlines(keepends=True):
        name, sep, value = line.partition("=")
        if (
            sep
            and not line.lstrip().startswith("#")
            and value.strip().startswith(PLACEHOLDER_PREFIX)
        ):
            line = f"{name}={keys.get(name.strip()) or secrets.token_urlsafe(48)}\n"
        lines.append(line)
    return "".join(lines)


def secret_file_open(path: Path) -> IO[str]:
    """Create path for writing, mode 0600 from the start (so a reader never finds it readable
    by others, however short the moment); raise FileExistsError if it exists."""
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8")


def env_file_create(*, example: Path = ENV_EXAMPLE, target: Path = ENV_FILE) -> bool:
    """Write target from example with fresh secrets. Return False (and write nothing) if it
    already exists."""
    text = env_text_with_secrets(example.read_text(encoding="utf-8"))
    try:
        # Exclusive: never overwrite, even if a file appears between a check and the write.
        with secret_file_open(target) as f:
            f.write(text)
    except FileExistsError:
        return False
    return True


def env_text_read(text: str) -> dict[str, str]:
    """Return the NAME=value pairs of a .env text (comments and blank lines skipped; one
    level of matching quotes around a value removed, as docker compose does)."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def env_file_read(path: Path) -> dict[str, str]:
    """Return the NAME=value pairs of the .env file at path (see env_text_read)."""
    return env_text_read(path.read_text(encoding="utf-8"))


def settings_local(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the settings of a local run: .env, with the process environment on top."""
    return {**env_file_read(ENV_FILE), **environ}


def env_file_update(path: Path, updates: Mapping[str, str | None]) -> None:
    """Set each NAME of updates in the .env file at path (None removes it), in place: other
    lines, comments and the file's mode stay; a NAME not there yet is appended. The new text
    is written to a 0600 temporary file beside it, then renamed over it."""
    lines, done = [], set()
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        name = line.partition("=")[0].removeprefix("export ").strip()
        if "=" in line and not line.lstrip().startswith("#") and name in updates:
            done.add(name)
            if updates[name] is None:
                continue
            line = f"{name}={updates[name]}\n"
        lines.append(line)
    lines += [f"{n}={v}\n" for n, v in updates.items() if n not in done and v is not None]
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.")  # 0600
    try:
        with open(descriptor, "w", encoding="utf-8") as f:
            f.write("".join(lines))
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""`python -m devstack` (the Makefile's env and rotate-jwt-key targets), run in a copy of the
repository's files that it reads, as a user runs it."""

import shutil
import subprocess
import sys

import jwt
import pytest

from devstack import ENV_EXAMPLE, ROOT
from devstack.envfile import env_file_read


@pytest.fixture
def repository(tmp_path):
    """A folder with devstack and .env.example, and no .env yet."""
    ignore = shutil.ignore_patterns("tests", "__pycache__")
    shutil.copytree(ROOT / "devstack", tmp_path / "devstack", ignore=ignore)
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env.example")
    return tmp_path


def devstack(repository, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (this interpreter, our arguments)
        [sys.executable, "-m", "devstack", *args],
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
    )


def test_make_env_writes_a_private_env_file_once(repository):
    first, second = devstack(repository, "env"), devstack(repository, "env")

    assert first.stdout == "Wrote .env from .env.example with fresh random secrets.\n"
    assert second.stdout == ".env exists; left unchanged (delete it to generate a new one).\n"
    assert (repository / ".env").stat().st_mode & 0o777 == 0o600
    written = env_file_read(repository / ".env")
    (public,) = jwt.PyJWKSet.from_json(written["JWT_PUBLIC_KEYS"]).keys
    token = jwt.encode({"a": 1}, jwt.PyJWK.from_json(written["JWT_PRIVATE_KEY"]))
    assert jwt.decode(token, public, algorithms=["EdDSA"]) == {"a": 1}


def test_rotate_jwt_key_says_what_to_do_next(repository):
    devstack(repository, "env")

    published = devstack(repository, "rotate-jwt-key", "publish")
    refused = devstack(repository, "rotate-jwt-key", "publish")

    assert published.returncode == 0
    assert "run: make rotate-jwt-key STEP=activate" in published.stdout
    assert (repository / ".jwt-next-key.json").stat().st_mode & 0o777 == 0o600
    assert refused.returncode == 1
    assert "is published already: activate it first" in refused.stderr


def test_rotate_jwt_key_without_env_points_to_make_env(repository):
    result = devstack(repository, "rotate-jwt-key", "publish")

    assert (result.returncode, result.stderr) == (1, ".env is missing: `make env` writes one.\n")

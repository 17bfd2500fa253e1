"""devstack.rotation: `make rotate-jwt-key STEP=publish|activate|retire` edits .env, and keeps
the next signing key out of it."""

import json

import pytest

from devstack.envfile import env_file_create, env_file_read
from devstack.rotation import NEXT_KEY_FILE, RotationError, jwt_key_rotate


@pytest.fixture
def env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file_create(target=env_file)
    return env_file


def rotate(env_file, step: str) -> str:
    return jwt_key_rotate(
        step, env_file=env_file, next_key_file=env_file.parent / NEXT_KEY_FILE.name
    )


def kids(env_file) -> list[str]:
    return [key["kid"] for key in json.loads(env_file_read(env_file)["JWT_PUBLIC_KEYS"])["keys"]]


def active_kid(env_file) -> str:
    return json.loads(env_file_read(env_file)["JWT_PRIVATE_KEY"])["kid"]


def test_rotation_publishes_then_activates_then_retires_the_old_key(env_file):
    old = active_kid(env_file)

    rotate(env_file, "publish")
    new = kids(env_file)[1]
    assert (kids(env_file), active_kid(env_file)) == ([old, new], old)

    rotate(env_file, "activate")
    assert (kids(env_file), active_kid(env_file)) == ([old, new], new)

    rotate(env_file, "retire")
    assert (kids(env_file), active_kid(env_file)) == ([new], new)


def test_a_published_key_waits_outside_env_readable_by_its_owner_only(env_file, files_seen):
    before = env_file.read_text(encoding="utf-8")

    rotate(env_file, "publish")

    next_key = json.loads((env_file.parent / NEXT_KEY_FILE.name).read_text(encoding="utf-8"))
    text = env_file.read_text(encoding="utf-8")
    assert next_key["kid"] in text
    assert next_key["d"] not in text
    assert "JWT_NEXT_PRIVATE_KEY" not in text
    assert [f for f in files_seen() if f.size and f.mode & 0o077] == []
    unchanged = [line for line in before.splitlines() if not line.startswith("JWT_PUBLIC_KEYS=")]
    assert [line for line in text.splitlines() if not line.startswith("JWT_PUBLIC_KEYS=")] == (
        unchanged
    )


def test_activation_moves_the_waiting_key_into_env(env_file):
    rotate(env_file, "publish")
    waiting = env_file.parent / NEXT_KEY_FILE.name
    next_key = json.loads(waiting.read_text(encoding="utf-8"))

    rotate(env_file, "activate")

    assert json.loads(env_file_read(env_file)["JWT_PRIVATE_KEY"]) == next_key
    assert not waiting.exists()


def test_retiring_during_a_publication_keeps_the_published_key(env_file):
    rotate(env_file, "publish")
    rotate(env_file, "activate")
    rotate(env_file, "publish")
    active, published = kids(env_file)[1:]

    rotate(env_file, "retire")

    assert kids(env_file) == [active, published]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["activate"], "no key is published"),
        (["publish", "publish"], "is published already"),
        (["retire"], "no key to retire"),
    ],
)
def test_rotation_step_out_of_order_is_refused_and_changes_nothing(env_file, steps, message):
    *first, last = steps
    for step in first:
        rotate(env_file, step)
    files = {path: path.read_text(encoding="utf-8") for path in env_file.parent.iterdir()}

    with pytest.raises(RotationError, match=message):
        rotate(env_file, last)
    assert {path: path.read_text(encoding="utf-8") for path in env_file.parent.iterdir()} == files


def test_rotation_refuses_an_hs256_env(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("JWT_ALGORITHM=HS256\nJWT_SECRET=x\n", encoding="utf-8")

    with pytest.raises(RotationError, match="not EdDSA"):
        rotate(env_file, "publish")

"""devstack.envfile: `make env` writes .env from .env.example with fresh secrets and an Ed25519
key pair, never overwrites it, and never lets another user read it."""

import json
import subprocess

import jwt

from devstack import ENV_EXAMPLE
from devstack.envfile import env_file_create, env_file_read, env_file_update


def test_make_env_replaces_every_placeholder_with_a_distinct_secret(tmp_path):
    target = tmp_path / ".env"
    assert env_file_create(target=target)

    example = env_file_read(ENV_EXAMPLE)
    written = env_file_read(target)
    placeholders = [name for name, value in example.items() if value.startswith("change-me")]
    assert placeholders
    assert not [value for value in written.values() if value.startswith("change-me")]
    assert len({written[name] for name in placeholders}) == len(placeholders)
    assert all(len(written[name]) >= 32 for name in placeholders)
    assert {n: v for n, v in written.items() if n not in placeholders} == {
        n: v for n, v in example.items() if n not in placeholders
    }


def test_a_shell_sourcing_the_env_file_reads_what_compose_reads(tmp_path):
    target = tmp_path / ".env"
    env_file_create(target=target)

    printed = subprocess.run(  # noqa: S603  (bash, our arguments)
        ["/bin/bash", "-c", 'set -a; . "$1"; env -0', "bash", str(target)],
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    sourced = dict(item.split("=", 1) for item in printed.split("\0") if "=" in item)

    written = env_file_read(target)
    assert {name: sourced.get(name) for name in written} == written


def test_make_env_never_overwrites_an_existing_file(tmp_path):
    target = tmp_path / ".env"
    target.write_text("JWT_SECRET=mine\n", encoding="utf-8")

    assert not env_file_create(target=target)
    assert target.read_text(encoding="utf-8") == "JWT_SECRET=mine\n"


def test_make_env_writes_a_matching_ed25519_key_pair(tmp_path):
    target = tmp_path / ".env"
    env_file_create(target=target)
    written = env_file_read(target)

    private = jwt.PyJWK.from_json(written["JWT_PRIVATE_KEY"])
    (public,) = jwt.PyJWKSet.from_json(written["JWT_PUBLIC_KEYS"]).keys
    assert written["JWT_ALGORITHM"] == "EdDSA"
    assert (private.key_id, private.algorithm_name) == (public.key_id, "EdDSA")
    assert "d" not in json.loads(written["JWT_PUBLIC_KEYS"])["keys"][0]
    assert jwt.decode(jwt.encode({"a": 1}, private), public, algorithms=["EdDSA"]) == {"a": 1}


def test_each_env_file_gets_its_own_key_pair(tmp_path):
    first, second = tmp_path / "first.env", tmp_path / "second.env"
    env_file_create(target=first)
    env_file_create(target=second)

    assert env_file_read(first)["JWT_PRIVATE_KEY"] != env_file_read(second)["JWT_PRIVATE_KEY"]


def test_key_values_are_single_quoted_one_line_json_in_the_file(tmp_path):
    target = tmp_path / ".env"
    env_file_create(target=target)
    lines = target.read_text(encoding="utf-8").splitlines()

    for name in ("JWT_PRIVATE_KEY", "JWT_PUBLIC_KEYS"):
        (line,) = [line for line in lines if line.startswith(f"{name}=")]
        value = line.removeprefix(f"{name}=")
        assert (value[:2], value[-2:]) == ("'{", "}'")
        assert "$" not in value


def test_make_env_never_lets_others_read_the_file_it_writes(tmp_path, files_seen):
    env_file_create(target=tmp_path / ".env")

    seen = files_seen()
    assert [f for f in seen if f.name == ".env" and f.size]
    assert [f for f in seen if f.size and f.mode & 0o077] == []


def test_an_update_keeps_every_other_line_and_the_file_mode(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# a comment\nA=1\nexport B=2\nC=3\n", encoding="utf-8")
    env_file.chmod(0o640)

    env_file_update(env_file, {"B": "'two'", "C": None, "D": "4"})

    assert env_file.read_text(encoding="utf-8") == "# a comment\nA=1\nB='two'\nD=4\n"
    assert env_file.stat().st_mode & 0o777 == 0o640
    assert [path.name for path in tmp_path.iterdir()] == [".env"]


def test_an_update_never_lets_others_read_the_file_it_writes(tmp_path, files_seen):
    env_file = tmp_path / ".env"
    env_file_create(target=env_file)

    env_file_update(env_file, {"JWT_SECRET": "'new'"})

    seen = files_seen()
    assert [f for f in seen if f.name != ".env" and f.size]  # the temporary file was seen
    assert [f for f in seen if f.size and f.mode & 0o077] == []

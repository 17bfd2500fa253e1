"""`make env` (scripts/stack.py): .env from .env.example with fresh secrets and an Ed25519 key
pair, never overwritten; `make rotate-jwt-key`'s edits of it."""

import base64
import hashlib
import json
import subprocess

import jwt
import pytest

from conftest import stack_module


def test_make_env_replaces_every_placeholder_with_a_distinct_secret(tmp_path):
    target = tmp_path / ".env"
    assert stack_module.env_file_create(target=target)

    example = stack_module.env_file_read(stack_module.ENV_EXAMPLE)
    written = stack_module.env_file_read(target)
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
    stack_module.env_file_create(target=target)

    printed = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; env -0', "bash", str(target)],
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    sourced = dict(item.split("=", 1) for item in printed.split("\0") if "=" in item)

    written = stack_module.env_file_read(target)
    assert {name: sourced.get(name) for name in written} == written


def test_make_env_never_overwrites_an_existing_file(tmp_path):
    target = tmp_path / ".env"
    target.write_text("JWT_SECRET=mine\n", encoding="utf-8")

    assert not stack_module.env_file_create(target=target)
    assert target.read_text(encoding="utf-8") == "JWT_SECRET=mine\n"


def test_template_rendering_keeps_nginx_variables():
    values = dict.fromkeys(stack_module.TEMPLATE_VARIABLES, "X")
    rendered = stack_module.template_render(
        "listen ${GATEWAY_LISTEN}; proxy_set_header Host $host; ${HOME} $request_id", values
    )
    assert rendered == "listen X; proxy_set_header Host $host; ${HOME} $request_id"


def test_make_env_writes_a_matching_ed25519_key_pair(tmp_path):
    target = tmp_path / ".env"
    stack_module.env_file_create(target=target)
    written = stack_module.env_file_read(target)

    private = jwt.PyJWK.from_json(written["JWT_PRIVATE_KEY"])  # PyJWT checks x is d's
    (public,) = jwt.PyJWKSet.from_json(written["JWT_PUBLIC_KEYS"]).keys
    assert written["JWT_ALGORITHM"] == "EdDSA"
    assert (private.key_id, private.algorithm_name) == (public.key_id, "EdDSA")
    assert "d" not in json.loads(written["JWT_PUBLIC_KEYS"])["keys"][0]
    assert jwt.decode(jwt.encode({"a": 1}, private), public, algorithms=["EdDSA"]) == {"a": 1}


def test_each_env_file_gets_its_own_key_pair():
    first = stack_module.env_text_with_secrets(stack_module.ENV_EXAMPLE.read_text())
    second = stack_module.env_text_with_secrets(stack_module.ENV_EXAMPLE.read_text())

    assert first.split("JWT_PRIVATE_KEY=")[1][:200] != second.split("JWT_PRIVATE_KEY=")[1][:200]


def test_key_values_are_single_quoted_one_line_json_in_the_file(tmp_path):
    target = tmp_path / ".env"
    stack_module.env_file_create(target=target)
    lines = target.read_text(encoding="utf-8").splitlines()

    for name in ("JWT_PRIVATE_KEY", "JWT_PUBLIC_KEYS"):
        (line,) = [line for line in lines if line.startswith(f"{name}=")]
        value = line.removeprefix(f"{name}=")
        assert (value[:2], value[-2:]) == ("'{", "}'")
        assert "$" not in value


def test_ed25519_public_key_matches_rfc_8032_test_vector_1():
    secret = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")

    assert stack_module.ed25519_public_key(secret).hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )


def test_kid_is_the_rfc_7638_thumbprint_of_the_public_key():
    private, public = stack_module.jwt_key_pair()
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": public["x"]}, separators=(",", ":")
    ).encode()

    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    assert private["kid"] == public["kid"] == expected


def rotate(env_file, step: str) -> str:
    updates, _ = stack_module.jwt_key_rotation(step, stack_module.env_file_read(env_file))
    stack_module.env_file_update(env_file, updates)
    return env_file.read_text(encoding="utf-8")


def kids(env_file) -> list[str]:
    keys = json.loads(stack_module.env_file_read(env_file)["JWT_PUBLIC_KEYS"])["keys"]
    return [key["kid"] for key in keys]


def active_kid(env_file) -> str:
    return json.loads(stack_module.env_file_read(env_file)["JWT_PRIVATE_KEY"])["kid"]


def test_rotation_publishes_then_activates_then_retires_the_old_key(tmp_path):
    env_file = tmp_path / ".env"
    stack_module.env_file_create(target=env_file)
    old = active_kid(env_file)

    rotate(env_file, "publish")
    new = kids(env_file)[1]
    assert (kids(env_file), active_kid(env_file)) == ([old, new], old)

    rotate(env_file, "activate")
    assert (kids(env_file), active_kid(env_file)) == ([old, new], new)
    assert "JWT_NEXT_PRIVATE_KEY" not in stack_module.env_file_read(env_file)

    rotate(env_file, "retire")
    assert (kids(env_file), active_kid(env_file)) == ([new], new)


def test_rotation_keeps_every_other_line_and_the_file_mode(tmp_path):
    env_file = tmp_path / ".env"
    stack_module.env_file_create(target=env_file)
    before = [line for line in env_file.read_text().splitlines() if "JWT_P" not in line]

    rotate(env_file, "publish")

    after = env_file.read_text().splitlines()
    assert [line for line in after if "JWT_P" not in line and "JWT_NEXT" not in line] == before
    assert env_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["activate"], "no key is published"),
        (["publish", "publish"], "is published already"),
        (["retire"], "no key to retire"),
    ],
)
def test_rotation_step_out_of_order_is_refused(tmp_path, steps, message):
    env_file = tmp_path / ".env"
    stack_module.env_file_create(target=env_file)
    *first, last = steps
    for step in first:
        rotate(env_file, step)

    with pytest.raises(stack_module.RotationError, match=message):
        rotate(env_file, last)


def test_rotation_refuses_an_hs256_env(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("JWT_ALGORITHM=HS256\nJWT_SECRET=x\n", encoding="utf-8")

    with pytest.raises(stack_module.RotationError, match="not EdDSA"):
        rotate(env_file, "publish")


def test_env_keys_switches_an_hs256_env_to_eddsa_and_keeps_other_lines(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("JWT_SECRET=old-secret\nJWT_ALGORITHM=HS256\nGAME_SEED=7\n")

    stack_module.env_file_update(
        env_file, stack_module.env_keys_updates(stack_module.env_file_read(env_file))
    )

    values = stack_module.env_file_read(env_file)
    assert (values["JWT_ALGORITHM"], values["JWT_SECRET"], values["GAME_SEED"]) == (
        "EdDSA",
        "",
        "7",
    )
    assert jwt.PyJWK.from_json(values["JWT_PRIVATE_KEY"]).key_id in values["JWT_PUBLIC_KEYS"]


def test_env_keys_refuses_an_env_that_has_a_key(tmp_path):
    env_file = tmp_path / ".env"
    stack_module.env_file_create(target=env_file)

    with pytest.raises(stack_module.RotationError, match="set already"):
        stack_module.env_keys_updates(stack_module.env_file_read(env_file))

"""Access-token keys end to end: EdDSA with a JWKS, the HS256 option, no signing key in the
score service, rotation by kid. Forgeries, in both modes: test_token_contract.py's table."""

import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest

from conftest import PASSWORD, bearer, claims, compose_config
from devstack.envfile import env_file_create, env_file_read, env_quote
from devstack.rotation import NEXT_KEY_FILE, jwt_key_rotate

KEY_SETTINGS = ("JWT_PRIVATE_KEY", "JWT_PUBLIC_KEYS")


@dataclass
class Mode:
    """One running stack and a client on its gateway."""

    algorithm: str
    stack: object
    client: httpx.Client

    def login(self) -> str:
        """Register a new user and log in; return its access token."""
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        credentials = {"email": email, "password": PASSWORD}
        assert self.client.post("/api/register/", json=credentials).status_code == 201
        response = self.client.post("/api/login/", json=credentials)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def statuses(self, access_token: str) -> tuple[int, int]:
        """The statuses of /api/me/ and /score with the token: (auth service, score service)."""
        me = self.client.get("/api/me/", headers=bearer(access_token))
        score = self.client.get("/score", params={"offset": 0}, headers=bearer(access_token))
        return me.status_code, score.status_code


@pytest.fixture(params=["EdDSA", "HS256"])
def mode(request, stack, gateway) -> Iterator[Mode]:
    if request.param == "EdDSA":
        yield Mode("EdDSA", stack, gateway)
        return
    hs256_stack = request.getfixturevalue("hs256_stack")
    with httpx.Client(base_url=hs256_stack.url, timeout=30) as client:
        yield Mode("HS256", hs256_stack, client)


def test_login_token_verifies_on_both_services(mode):
    access = mode.login()

    assert jwt.get_unverified_header(access)["alg"] == mode.algorithm
    assert mode.statuses(access) == (200, 200)


def test_access_token_names_a_key_listed_at_the_jwks_endpoint(gateway, login):
    header = jwt.get_unverified_header(login()["access_token"])
    jwks = gateway.get("/.well-known/jwks.json")

    assert header["alg"] == "EdDSA"
    assert header["kid"] in [key["kid"] for key in jwks.json()["keys"]]
    assert jwks.headers["Cache-Control"] == "public, max-age=300"


def test_jwks_endpoint_serves_public_ed25519_keys_only(gateway):
    (key,) = gateway.get("/.well-known/jwks.json").json()["keys"]

    assert set(key) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("OKP", "Ed25519", "sig", "EdDSA")


def test_a_third_party_verifies_access_tokens_from_the_jwks_alone(stack, login):
    access = login()["access_token"]
    client = jwt.PyJWKClient(f"{stack.url}/.well-known/jwks.json")

    key = client.get_signing_key_from_jwt(access)
    payload = jwt.decode(
        access,
        key,
        algorithms=["EdDSA"],
        audience=stack.settings["JWT_AUDIENCE"],
        issuer=stack.settings["JWT_ISSUER"],
    )
    assert payload["token_type"] == "access"


def test_hs256_stack_publishes_no_key(hs256_stack):
    response = httpx.get(f"{hs256_stack.url}/.well-known/jwks.json", timeout=30)

    assert response.json() == {"keys": []}


def process_environment(stack, name: str) -> dict[str, str]:
    """The environment a running program of the stack was started with (Linux's /proc)."""
    if sys.platform != "linux":
        pytest.skip("reads /proc/<pid>/environ (Linux)")
    pid = stack.services[name].process.pid
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def test_running_score_process_environment_holds_no_private_key(stack):
    environ = process_environment(stack, "score")
    private = json.loads(stack.settings["JWT_PRIVATE_KEY"])

    assert "JWT_PRIVATE_KEY" not in environ
    assert not [name for name, value in environ.items() if private["d"] in value]
    assert environ["JWT_PUBLIC_KEYS"] == stack.settings["JWT_PUBLIC_KEYS"]


def test_compose_gives_the_score_service_public_keys_only(tmp_path):
    env_file = tmp_path / ".env"
    env_file_create(target=env_file)
    services = compose_config(tmp_path)["services"]
    private = json.loads(env_file_read(env_file)["JWT_PRIVATE_KEY"])

    score = services["score"]["environment"]
    assert "JWT_PRIVATE_KEY" not in score
    assert not [name for name, value in score.items() if private["d"] in (value or "")]
    assert json.loads(score["JWT_PUBLIC_KEYS"])["keys"][0]["kid"] == private["kid"]
    assert json.loads(services["auth"]["environment"]["JWT_PRIVATE_KEY"]) == private


def test_compose_gives_a_published_next_key_to_no_service(tmp_path):
    env_file = tmp_path / ".env"
    env_file_create(target=env_file)
    next_key_file = tmp_path / NEXT_KEY_FILE.name
    jwt_key_rotate("publish", env_file=env_file, next_key_file=next_key_file)
    services = compose_config(tmp_path)["services"]
    following = json.loads(next_key_file.read_text(encoding="utf-8"))

    for service in services.values():
        environment = service.get("environment") or {}
        assert not [name for name, value in environment.items() if following["d"] in (value or "")]
    assert following["kid"] in services["score"]["environment"]["JWT_PUBLIC_KEYS"]


def test_compose_passes_every_setting_of_env_to_the_auth_service_and_sets_its_own(tmp_path):
    env_file = tmp_path / ".env"
    env_file_create(target=env_file)
    with env_file.open("a", encoding="utf-8") as f:
        f.write("A_SETTING_ADDED_LATER=1\n")

    services = compose_config(tmp_path)["services"]

    for name in ("migrate", "auth"):
        environment = services[name]["environment"]
        assert environment["A_SETTING_ADDED_LATER"] == "1"
        assert environment["DATABASE_URL"].endswith("@postgres:5432/auth")
        password = env_file_read(env_file)["REDIS_PASSWORD"]
        assert environment["REDIS_URL"] == f"redis://:{password}@redis:6379/0"
        assert environment["FORWARDED_ALLOW_IPS"] == "*"
    assert "A_SETTING_ADDED_LATER" not in services["score"]["environment"]


# --- rotation ------------------------------------------------------------------------------------


@pytest.fixture
def rotation(stack, tmp_path) -> Iterator:
    """Run `make rotate-jwt-key STEP=...` on a copy of the stack's keys in tmp_path, then
    restart what the step says to restart with the keys of that .env; the stack's own keys
    come back afterwards."""
    original = {name: stack.settings[name] for name in KEY_SETTINGS}
    env_file = tmp_path / ".env"
    env_file.write_text(
        "".join(f"{name}={env_quote(value)}\n" for name, value in original.items()),
        encoding="utf-8",
    )

    def restart(*names: str) -> None:
        for name in names:
            stack.service_stop(name)
            stack.service_start(name)
        for name in names:
            stack.service_wait(name)

    def rotate(step: str) -> None:
        jwt_key_rotate(step, env_file=env_file, next_key_file=tmp_path / NEXT_KEY_FILE.name)
        stack.settings.update(env_file_read(env_file))
        restart(*(["auth"] if step == "activate" else ["auth", "score"]))

    yield rotate
    stack.settings.update(original)
    restart("auth", "score")


def test_rotation_overlaps_the_keys_then_retires_the_old_one(
    stack, gateway, login, rotation, tmp_path, access_lifetime
):
    # Five restarts can outlast the default 30 s on a busy machine: the old token must still
    # be within its lifetime when retire refuses it.
    access_lifetime(600)
    both = Mode("EdDSA", stack, gateway)
    old_token = login()["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    rotation("publish")
    following = json.loads((tmp_path / NEXT_KEY_FILE.name).read_text(encoding="utf-8"))
    assert jwt.get_unverified_header(login()["access_token"])["kid"] == old_kid
    for name in ("auth", "score"):  # the next key waits, given to no service
        assert following["d"] not in "".join(process_environment(stack, name).values())
    assert len(gateway.get("/.well-known/jwks.json").json()["keys"]) == 2

    rotation("activate")
    new_token = login()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid
    assert both.statuses(new_token) == (200, 200)
    assert both.statuses(old_token) == (200, 200)  # the overlap

    rotation("retire")
    assert both.statuses(old_token) == (401, 401)
    assert both.statuses(new_token) == (200, 200)
    assert [key["kid"] for key in gateway.get("/.well-known/jwks.json").json()["keys"]] == [
        jwt.get_unverified_header(new_token)["kid"]
    ]
    assert time.time() < claims(old_token)["exp"]  # refused for its key, not its age

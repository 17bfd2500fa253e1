"""docker-compose.yml as `docker compose config` renders it from a `make env` .env: who can
reach whom, Redis's password, and where mail goes. scripts/drill.sh tries the same on a
running stack."""

import json
from pathlib import Path

import pytest

from conftest import compose_config
from devstack.envfile import env_file_create, env_file_read, env_file_update


@pytest.fixture
def env_file(tmp_path) -> Path:
    path = tmp_path / ".env"
    env_file_create(target=path)
    return path


def test_only_the_gateway_publishes_a_port(env_file):
    services = compose_config(env_file.parent)["services"]

    assert [name for name, service in services.items() if service.get("ports")] == ["gateway"]


def test_the_observability_profile_publishes_prometheus_on_localhost_only(env_file):
    services = compose_config(env_file.parent, "observability")["services"]

    published = {
        name: [(port.get("host_ip", ""), port["target"]) for port in service["ports"]]
        for name, service in services.items()
        if service.get("ports")
    }
    assert published == {"gateway": [("", 8080)], "prometheus": [("127.0.0.1", 9090)]}
    # The metrics ports (auth, score), the exporter and stub_status stay on the apps network.
    assert {name for name, service in services.items() if "apps" in service["networks"]} == {
        "auth",
        "score",
        "gateway",
        "gateway-exporter",
        "prometheus",
    }


def test_only_auth_and_its_jobs_reach_the_data_and_only_the_gateway_reaches_the_apps(env_file):
    config = compose_config(env_file.parent)

    members = {
        network: sorted(
            name for name, service in config["services"].items() if network in service["networks"]
        )
        for network in config["networks"]
    }
    assert members == {
        "edge": ["gateway"],
        "apps": ["auth", "gateway", "score"],
        "data": ["auth", "migrate", "postgres", "purge", "redis"],
        "mail": ["auth"],
    }
    internal = [name for name, network in config["networks"].items() if network.get("internal")]
    assert sorted(internal) == ["apps", "data"]  # no way out from either


def test_redis_requires_the_password_of_env_which_its_command_line_never_shows(env_file):
    config = compose_config(env_file.parent)
    password = env_file_read(env_file)["REDIS_PASSWORD"]

    redis = config["services"]["redis"]
    assert redis["environment"] == {"REDIS_PASSWORD": password}
    assert "requirepass %s" in " ".join(redis["command"])
    assert password not in json.dumps(redis["command"])
    assert config["services"]["auth"]["environment"]["REDIS_URL"] == (
        f"redis://:{password}@redis:6379/0"
    )


def test_compose_mail_goes_to_files_not_to_the_log_unless_env_says_otherwise(env_file):
    default = compose_config(env_file.parent)["services"]["auth"]["environment"]["EMAIL_URL"]
    env_file_update(env_file, {"EMAIL_URL": "smtp://mail.example.com:25"})
    chosen = compose_config(env_file.parent)["services"]["auth"]["environment"]["EMAIL_URL"]

    assert default == "filemail:////tmp/mail"
    assert chosen == "smtp://mail.example.com:25"

"""devstack.supervisor: what each program of `make run` is given."""

from devstack.supervisor import SCORE_WITHHELD, Ports, Stack

SETTINGS = {
    "JWT_ALGORITHM": "EdDSA",
    "JWT_PRIVATE_KEY": "private",
    "JWT_PUBLIC_KEYS": "public",
    "JWT_SECRET": "secret",
    "SECRET_KEY": "django",
    "DATABASE_URL": "postgres://auth:password@db/auth",
    "REDIS_URL": "redis://redis/0",
    "POSTGRES_PASSWORD": "password",
    "DJANGO_SUPERUSER_PASSWORD": "password",
}


def test_score_service_gets_public_keys_and_none_of_the_auth_services_secrets():
    environment = Stack(settings=SETTINGS).environment("score")

    assert environment["JWT_PUBLIC_KEYS"] == "public"
    assert [name for name in [*SCORE_WITHHELD, "JWT_SECRET"] if name in environment] == []


def test_score_service_gets_the_shared_secret_in_hs256_mode():
    environment = Stack(settings={**SETTINGS, "JWT_ALGORITHM": "HS256"}).environment("score")

    assert environment["JWT_SECRET"] == "secret"
    assert "JWT_PRIVATE_KEY" not in environment


def test_every_program_is_told_the_stacks_addresses():
    stack = Stack(settings=SETTINGS, ports=Ports(gateway=9000, auth=9001, score=9002))

    environment = stack.environment("auth")
    assert environment["JWT_PRIVATE_KEY"] == "private"
    assert (environment["GUNICORN_BIND"], environment["SCORE_UPSTREAM"]) == (
        "127.0.0.1:9001",
        "127.0.0.1:9002",
    )
    assert environment["GATEWAY_LISTEN"] == "127.0.0.1:9000"


def test_each_service_serves_its_metrics_on_a_port_of_its_own_on_127_0_0_1():
    stack = Stack(settings=SETTINGS, ports=Ports(auth_metrics=9101, score_metrics=9102))

    assert stack.environment("auth")["METRICS_BIND"] == "127.0.0.1:9101"
    assert stack.environment("score")["METRICS_BIND"] == "127.0.0.1:9102"
    assert "METRICS_BIND" not in stack.environment("gateway")

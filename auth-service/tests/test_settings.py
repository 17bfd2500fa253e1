"""config/settings.py, loaded in a fresh interpreter with a given environment."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.test_redis_outage import RedisServer

SERVICE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "a-real-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH"
JWT_SECRET = "a-real-jwt-secret-0123456789-abcdefghijklmnop"
# The suite's Ed25519 pair (pytest.ini), for the default algorithm.
JWT_KEYS = {name: os.environ[name] for name in ("JWT_PRIVATE_KEY", "JWT_PUBLIC_KEYS")}
HS256 = {"JWT_ALGORITHM": "HS256"}
OUR_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "JWT_SECRET",
    "JWT_PRIVATE_KEY",
    "JWT_PUBLIC_KEYS",
    "JWT_ALGORITHM",
    "JWT_LEEWAY",
    "DATABASE_URL",
    "REDIS_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_COOKIES",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "PASSWORD_RESET_URL",
    "EMAIL_VERIFICATION_URL",
    "PASSWORD_RESET_TIMEOUT",
    "REQUIRE_EMAIL_VERIFICATION",
    "ARGON2_MEMORY_KIB",
    "ARGON2_TIME_COST",
    "ARGON2_PARALLELISM",
)


def run_python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run our interpreter with `args` in the service folder, with only `env` set for us."""
    clean = {key: value for key, value in os.environ.items() if key not in OUR_VARIABLES}
    return subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, *args],
        cwd=SERVICE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() in a new interpreter with only `env` set for us."""
    return run_python(
        "-c",
        f"import django; django.setup(); {code}",
        **{"DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


def test_debug_is_off_by_default():
    result = run_django(
        "from django.conf import settings; print(settings.DEBUG)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
    )

    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(
    ("word", "debug"),
    [
        *[(word, True) for word in ("1", "true", "Yes", "on")],
        *[(word, False) for word in ("0", "false", "no", "OFF", "")],
    ],
)
def test_debug_accepts_these_words(word, debug):
    result = run_django(
        "from django.conf import settings; print(settings.DEBUG)",
        DEBUG=word,
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
    )

    assert result.stdout.strip() == str(debug), result.stderr


@pytest.mark.parametrize("word", ["maybe", "2", "y"])
def test_any_other_debug_word_stops_the_start(word):
    result = run_django("", DEBUG=word, SECRET_KEY=SECRET_KEY, **JWT_KEYS)

    assert f"ImproperlyConfigured: DEBUG must be 1 or 0 (got {word!r})." in result.stderr


def test_a_number_setting_that_is_not_an_integer_stops_the_start():
    result = run_django("", SECRET_KEY=SECRET_KEY, **JWT_KEYS, JWT_LEEWAY="five")

    assert "ImproperlyConfigured: JWT_LEEWAY must be an integer (got 'five')." in result.stderr


def test_an_empty_variable_counts_as_unset():
    # As in the score service (env_ignore_empty): an empty JWT_ISSUER must not make the two
    # services disagree on the issuer.
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.SECURE_HSTS_SECONDS, s.JWT_LEEWAY, "
        "s.EMAIL_BACKEND, s.JWT_ISSUER)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        DATABASE_URL="",
        SECURE_HSTS_SECONDS="",
        JWT_LEEWAY=" ",
        EMAIL_URL="",
        JWT_ISSUER="",
    )

    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "0",
        "5",
        "django.core.mail.backends.console.EmailBackend",
        "auth-service",
    ], result.stderr


def test_values_are_taken_as_they_are_not_as_references_to_other_variables():
    result = run_django(
        "from django.conf import settings as s; print(s.SECRET_KEY, s.ALLOWED_HOSTS)",
        SECRET_KEY="$HOME-" + SECRET_KEY,
        ALLOWED_HOSTS=" api.example.com, $HOST ",
        **JWT_KEYS,
    )

    assert result.stdout.strip().split(maxsplit=1) == [
        "$HOME-" + SECRET_KEY,
        "['api.example.com', '$HOST']",
    ], result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "JWT_SECRET"])
def test_missing_secret_stops_the_start_without_debug(missing):
    env = {"SECRET_KEY": SECRET_KEY, "JWT_SECRET": JWT_SECRET, **HS256}
    del env[missing]

    result = run_django("", **env)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET"])
def test_example_secret_is_refused_without_debug(name):
    env = {"SECRET_KEY": SECRET_KEY, "JWT_SECRET": JWT_SECRET, **HS256}
    env[name] = "change-me-this-is-the-example-value-of-at-least-32-bytes"

    result = run_django("", **env)

    assert result.returncode != 0
    assert f"{name} still holds the example value from .env.example" in result.stderr


def test_example_secrets_are_accepted_with_debug():
    result = run_django(
        "print('ok')",
        DEBUG="1",
        SECRET_KEY="change-me-django-secret-key",
        JWT_SECRET="change-me-jwt-secret-at-least-32-bytes-long",
        **HS256,
    )

    assert result.stdout.strip() == "ok", result.stderr


def test_jwt_secret_shorter_than_32_bytes_is_refused():
    result = run_django("", SECRET_KEY=SECRET_KEY, JWT_SECRET="x" * 31, **HS256)

    assert result.returncode != 0
    assert "JWT_SECRET must be at least 32 bytes long." in result.stderr


def test_jwt_secret_shorter_than_32_bytes_is_refused_even_with_debug():
    result = run_django("", DEBUG="1", JWT_SECRET="x" * 31, **HS256)

    assert "JWT_SECRET must be at least 32 bytes long." in result.stderr


def test_leeway_above_ten_seconds_is_refused():
    result = run_django("", SECRET_KEY=SECRET_KEY, **JWT_KEYS, JWT_LEEWAY="60")

    assert "JWT_LEEWAY must be between 0 and 10 seconds." in result.stderr


def test_unsupported_jwt_algorithm_is_refused():
    result = run_django("", SECRET_KEY=SECRET_KEY, JWT_SECRET=JWT_SECRET, JWT_ALGORITHM="none")

    assert "JWT_ALGORITHM must be one of EdDSA, HS256, HS384, HS512" in result.stderr


def test_eddsa_is_the_default_algorithm():
    result = run_django(
        "from django.conf import settings as s; print(s.JWT_ALGORITHM, s.JWT_SIGNING_KEY.key_id)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
    )

    assert result.stdout.split() == ["EdDSA", "test-key-1"], result.stderr


@pytest.mark.parametrize("missing", ["JWT_PRIVATE_KEY", "JWT_PUBLIC_KEYS"])
def test_missing_key_stops_the_start_even_with_debug(missing):
    env = {**JWT_KEYS}
    del env[missing]

    result = run_django("", DEBUG="1", **env)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} is required with JWT_ALGORITHM=EdDSA" in result.stderr


def test_example_private_key_stops_the_start_even_with_debug():
    env = {**JWT_KEYS, "JWT_PRIVATE_KEY": "change-me-jwt-private-key"}

    result = run_django("", DEBUG="1", **env)

    assert "ImproperlyConfigured: JWT_PRIVATE_KEY still holds the example value" in result.stderr


def test_an_unusable_key_stops_the_start_with_the_contracts_reason():
    result = run_django("", SECRET_KEY=SECRET_KEY, **{**JWT_KEYS, "JWT_PUBLIC_KEYS": "{not json"})

    assert "ImproperlyConfigured: JWT_PUBLIC_KEYS: is not JSON" in result.stderr


def test_key_settings_are_not_read_with_hs256():
    # As in the score service: the example keys left in .env stop no HS256 start.
    result = run_django(
        "print('ok')",
        SECRET_KEY=SECRET_KEY,
        JWT_SECRET=JWT_SECRET,
        JWT_PRIVATE_KEY="change-me-jwt-private-key",
        JWT_PUBLIC_KEYS="change-me-jwt-public-keys",
        **HS256,
    )

    assert result.stdout.strip() == "ok", result.stderr


def test_public_keys_without_the_private_keys_half_stop_the_start():
    public = json.loads(JWT_KEYS["JWT_PUBLIC_KEYS"])
    public["keys"][0]["x"] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

    result = run_django(
        "", SECRET_KEY=SECRET_KEY, **{**JWT_KEYS, "JWT_PUBLIC_KEYS": json.dumps(public)}
    )

    assert (
        "ImproperlyConfigured: JWT_PUBLIC_KEYS: kid 'test-key-1' is another key than "
        "JWT_PRIVATE_KEY's" in result.stderr
    )


def test_redis_url_selects_the_plain_redis_backends():
    # Plain: constance's caching backend would keep stale lifetimes per process.
    result = run_django(
        "from django.conf import settings as s; from django.utils.module_loading import "
        "import_string as i; from constance.backends import redisd; "
        "b = i(s.CONSTANCE_BACKEND); "
        "print(issubclass(b, redisd.RedisBackend), issubclass(b, redisd.CachingRedisBackend), "
        "s.CACHES['default']['BACKEND'])",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        REDIS_URL="redis://127.0.0.1:6379/3",
    )

    assert result.stdout.split() == ["True", "False", "django_redis.cache.RedisCache"]


@pytest.mark.redis_server
def test_a_password_in_redis_url_reaches_the_cache_constance_and_the_health_check(tmp_path):
    server = RedisServer(tmp_path, password="a-redis-password-0123456789")
    server.start()
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()  # the server does require it
        result = run_django(
            "from constance import config; from django.core.cache import cache; "
            "from django.test import Client; "
            "cache.set('a-key', [1]); config.ACCESS_TOKEN_LIFETIME = 60; "
            "health = Client().get('/api/health/', HTTP_HOST='localhost').json(); "
            "print(cache.get('a-key'), config.ACCESS_TOKEN_LIFETIME, health['cache'])",
            SECRET_KEY=SECRET_KEY,
            **JWT_KEYS,
            REDIS_URL=server.url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'auth.sqlite3'}",
        )
    finally:
        server.stop()

    assert result.stdout.split() == ["[1]", "60", "ok"], result.stderr


def test_without_redis_url_the_embedded_backends_are_used():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.CONSTANCE_BACKEND, s.CACHES['default']['BACKEND'], "
        "s.DATABASES['default']['ENGINE'])",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
    )

    assert result.stdout.split() == [
        "constance.backends.database.DatabaseBackend",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.db.backends.sqlite3",
    ]


def test_postgresql_connections_persist_and_time_out():
    result = run_django(
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d['OPTIONS'], d['PASSWORD'])",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        DATABASE_URL="postgres://user:p%40ss@db.invalid:5432/auth?sslmode=require",
    )

    assert result.stdout.strip() == ("60 True {'sslmode': 'require', 'connect_timeout': 3} p@ss"), (
        result.stderr
    )


def test_database_url_selects_postgresql():
    result = run_django(
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'])",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        DATABASE_URL="postgres://user:pw@db.invalid:5432/auth",
    )

    assert result.stdout.strip() == "django.db.backends.postgresql"


def test_a_sqlite_database_runs_in_wal_with_immediate_transactions_and_a_busy_timeout(tmp_path):
    result = run_django(
        "from django.db import connection; c = connection.cursor(); "
        "print(c.execute('PRAGMA journal_mode').fetchone()[0], "
        "c.execute('PRAGMA busy_timeout').fetchone()[0], connection.transaction_mode)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        DATABASE_URL=f"sqlite:///{tmp_path / 'auth.sqlite3'}",
    )

    assert result.stdout.split() == ["wal", "20000", "IMMEDIATE"], result.stderr


def test_the_default_sqlite_file_has_the_options_of_a_sqlite_database_url(tmp_path):
    code = "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'])"
    default = run_django(code, SECRET_KEY=SECRET_KEY, **JWT_KEYS)
    from_url = run_django(
        code, SECRET_KEY=SECRET_KEY, **JWT_KEYS, DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}"
    )

    assert "'transaction_mode': 'IMMEDIATE'" in default.stdout, default.stderr
    assert default.stdout == from_url.stdout


def test_a_sqlite_file_that_cannot_be_opened_is_a_503(tmp_path):
    result = run_django(
        "from django.test import Client; r = Client(HTTP_HOST='localhost').post("
        "'/api/refresh/', {'refresh_token': '0b1e6bb3-58a5-4a39-8f43-0e7e41b1fd5c'}, "
        "content_type='application/json'); print(r.status_code, r['Retry-After'])",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        DATABASE_URL=f"sqlite:///{tmp_path / 'missing-folder' / 'auth.sqlite3'}",
    )

    assert result.stdout.split() == ["503", "5"], result.stderr


PRINT_A_HASH = "from django.contrib.auth.hashers import make_password; print(make_password('pw'))"


def test_passwords_are_hashed_with_argon2id_at_owasps_cost_by_default():
    result = run_django(PRINT_A_HASH, SECRET_KEY=SECRET_KEY, **JWT_KEYS)

    assert result.stdout.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$"), result.stderr


def test_the_argon2_cost_comes_from_the_environment():
    result = run_django(
        PRINT_A_HASH,
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        ARGON2_MEMORY_KIB="32768",
        ARGON2_TIME_COST="3",
        ARGON2_PARALLELISM="2",
    )

    assert result.stdout.startswith("argon2$argon2id$v=19$m=32768,t=3,p=2$"), result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ARGON2_TIME_COST", "0", "ARGON2_TIME_COST and ARGON2_PARALLELISM must be at least 1."),
        ("ARGON2_PARALLELISM", "0", "ARGON2_TIME_COST and ARGON2_PARALLELISM must be at least 1."),
        ("ARGON2_MEMORY_KIB", "15", "ARGON2_MEMORY_KIB must be at least 8 x ARGON2_PARALLELISM."),
    ],
)
def test_an_argon2_cost_that_argon2_cannot_run_stops_the_start(name, value, message):
    result = run_django(
        "", SECRET_KEY=SECRET_KEY, **JWT_KEYS, **{"ARGON2_PARALLELISM": "2", name: value}
    )

    assert f"ImproperlyConfigured: {message}" in result.stderr


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    return run_python(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **{"SECRET_KEY": SECRET_KEY, **JWT_KEYS, **env},
    )


def test_deploy_check_is_clean_with_https_settings():
    result = deploy_check(
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
        SECURE_COOKIES="1",
    )

    assert result.returncode == 0, result.stderr


def test_deploy_check_over_plain_http_warns_only_about_the_https_switches():
    result = deploy_check()

    assert set(re.findall(r"\((security\.W\d+)\)", result.stderr)) == {
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    }


# --- mail and mailed links ----------------------------------------------------------------------


def test_mail_goes_to_the_console_by_default():
    result = run_django(
        "from django.conf import settings as s; print(s.EMAIL_BACKEND)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
    )

    assert result.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


def test_compose_default_mail_goes_to_files_in_an_absolute_folder():
    # docker-compose.yml's default EMAIL_URL: with three slashes the folder would be relative
    # to the service's folder, which its user cannot write to in the image.
    result = run_django(
        "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_FILE_PATH)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        EMAIL_URL="filemail:////tmp/mail",
    )

    assert result.stdout.split() == [
        "django.core.mail.backends.filebased.EmailBackend",
        "/tmp/mail",  # noqa: S108  (the container's own /tmp)
    ]


def test_email_url_configures_an_smtp_server_with_starttls():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, "
        "s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        EMAIL_URL="smtp+tls://mailer:p%40ss@mail.example.com:587",
    )

    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "587",
        "mailer",
        "p@ss",
        "True",
        "False",
    ]


def test_unknown_email_url_scheme_is_refused():
    result = run_django("", SECRET_KEY=SECRET_KEY, **JWT_KEYS, EMAIL_URL="pigeon://x")

    assert "EMAIL_URL: Invalid email schema pigeon" in result.stderr


def test_reset_link_template_without_token_is_refused():
    result = run_django(
        "",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        PASSWORD_RESET_URL="https://app.example.com/reset/{uid}",
    )

    assert "PASSWORD_RESET_URL must contain {uid} and {token}" in result.stderr


def test_email_verification_is_off_by_default():
    result = run_django(
        "from django.conf import settings as s; print(s.REQUIRE_EMAIL_VERIFICATION)",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
    )

    assert result.stdout.strip() == "False"

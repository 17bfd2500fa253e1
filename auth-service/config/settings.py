"""Settings of the auth service, read from the environment only (`.env.example` lists them).

Secure by default: DEBUG is off, and without DEBUG a missing, example (`change-me...`) or too
short secret stops the start. A missing, malformed, mismatched or example signing key always does.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.logs import logging_config
from accounts.token_contract import (
    ACCESS_TOKEN_LIFETIME_MAX,
    TokenKeyError,
    private_key_parse,
    public_keys_parse,
)
from accounts.tokens import signing_key_published

BASE_DIR = Path(__file__).resolve().parent.parent

# What every secret and key of .env.example starts with until `make env` replaces it (the
# score service's settings and devstack/envfile.py, which share no code with this one, have
# their own copy).
PLACEHOLDER_PREFIX = "change-me"
KEYS_HINT = "`make env` writes a fresh pair; docs/tokens.md: Access-token keys"
Key = TypeVar("Key")

JWT_LEEWAY_MAX = 10
# The HMAC algorithms (besides EdDSA) and the shortest secret each accepts: RFC 7518 3.2 asks
# for a key at least as long as the hash output (so at least 32 bytes).
JWT_HMAC_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}


class Env(environ.Env):
    """django-environ, stricter: an empty variable is unset (the `NAME=` lines of .env), values
    are opaque, and a boolean or integer that is not one stops the start."""

    BOOLEAN_TRUE_STRINGS = ("1", "true", "yes", "on")
    BOOLEAN_WORDS = (*BOOLEAN_TRUE_STRINGS, "0", "false", "no", "off")

    def __init__(self) -> None:
        super().__init__()
        # django-environ reads a value starting with $ as the name of another variable; the
        # escaped $ is restored as it is read (escape_proxy).
        self.escape_proxy = True
        self.ENVIRON = {
            name: value.strip().replace("$", r"\$")
            for name, value in os.environ.items()
            if value.strip()
        }

    def bool(self, var: str, default: bool = False) -> bool:
        # django-environ takes any unknown word for False: a typo would turn DEBUG off silently.
        word = self.str(var, default="").lower()
        if word and word not in self.BOOLEAN_WORDS:
            raise ImproperlyConfigured(f"{var} must be 1 or 0 (got {word!r}).")
        return super().bool(var, default=default)

    def int(self, var: str, default: int) -> int:
        try:
            return super().int(var, default=default)
        except ValueError:
            raise ImproperlyConfigured(
                f"{var} must be an integer (got {self.str(var)!r})."
            ) from None

    def secret(self, var: str, *, debug: bool, min_bytes: int = 0) -> str:
        """Return the secret `var`; refuse a missing or example one unless DEBUG is on."""
        value = self.str(var, default="")
        if not value:
            if not debug:
                raise ImproperlyConfigured(
                    f"{var} is required when DEBUG is off. Set it to a long random value, e.g. "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
            value = f"insecure-development-only-{var.lower()}-".ljust(64, "x")
        elif value.startswith(PLACEHOLDER_PREFIX) and not debug:
            raise ImproperlyConfigured(
                f"{var} still holds the example value from .env.example ({PLACEHOLDER_PREFIX}...). "
                "Set a real secret (`make env` writes one), or DEBUG=1 for development."
            )
        if len(value.encode()) < min_bytes:
            raise ImproperlyConfigured(f"{var} must be at least {min_bytes} bytes long.")
        return value

    def key(self, var: str, parse: Callable[[str], Key]) -> Key:
        """Return `parse` (a key parser of the token contract) of the key setting `var`;
        refuse a missing, example or unusable key, DEBUG or not."""
        value = self.str(var, default="")
        if not value:
            raise ImproperlyConfigured(f"{var} is required with JWT_ALGORITHM=EdDSA ({KEYS_HINT})")
        if value.startswith(PLACEHOLDER_PREFIX):
            raise ImproperlyConfigured(
                f"{var} still holds the example value ({PLACEHOLDER_PREFIX}...) ({KEYS_HINT})"
            )
        try:
            return parse(value)
        except TokenKeyError as e:
            raise ImproperlyConfigured(f"{var}: {e}") from None

    def link_template(self, var: str, default: str) -> str:
        """Return the link template `var`; refuse one without both {uid} and {token}."""
        value = self.str(var, default=default)
        if "{uid}" not in value or "{token}" not in value:
            raise ImproperlyConfigured(f"{var} must contain {{uid}} and {{token}} (got {value!r}).")
        return value


env = Env()

DEBUG = env.bool("DEBUG")

SECRET_KEY = env.secret("SECRET_KEY", debug=DEBUG)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", str.strip, default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", str.strip, default=[])

# Browser apps on other origins (django-cors-headers), each `scheme://host[:port]`; empty: no
# cross-origin access. Tokens travel in the Authorization header, never in cookies, so no
# credentials mode, and the admin (cookie sessions) is left out. docs/auth-service.md: CORS.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", str.strip, default=[])
CORS_URLS_REGEX = r"^/(api/|\.well-known/jwks\.json$)"
# Headers a script may read besides the CORS-safelisted ones: the 401's challenge (RFC 6750),
# the 429's and 503's wait, and the gateway's request ID.
CORS_EXPOSE_HEADERS = ["WWW-Authenticate", "Retry-After", "X-Request-ID"]

# Behind the gateway: nginx terminates the client connection and forwards these headers; gunicorn
# only accepts X-Forwarded-* from FORWARDED_ALLOW_IPS.
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = True
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", str.strip, default=["127.0.0.1"])

# HTTPS-only switches, off by default because the local stack and compose serve plain HTTP on
# localhost; turn them on where the gateway is reached over TLS (docs/security.md: check --deploy).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES")
# /api/health/ must answer plain HTTP probes from the container itself.
SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]

INSTALLED_APPS = [
    # First: an app's management command overrides those of the apps after it, and accounts
    # has its own createsuperuser.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "constance",
    "corsheaders",
]

MIDDLEWARE = [
    # First, so that it times and counts every request, whoever answers it.
    "config.observability.ObservabilityMiddleware",
    # Then: a preflight is answered before any other middleware can refuse or redirect it.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.CommonMiddleware",
    "config.middleware.ServiceUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database and cache ---------------------------------------------------------------------
# SQLite as an embedded database for concurrent requests, with Django's SQLite options
# (https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-transaction-behavior): WAL
# lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN, so
# transactions queue for it during the busy timeout, where a deferred one that read first
# fails at once with "database is locked" (SQLite cannot let it wait without risking a
# deadlock). Registrations and password changes hash (Argon2) inside their transaction, so
# the timeout is generous, yet under the gateway's 30 s proxy_read_timeout: a lock held longer
# is an outage, answered with the service's JSON 503 (config/middleware.py), not a 504.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if "DATABASE_URL" in env:
    # Persistent connections, checked before each request's first query: after PostgreSQL
    # restarts, a worker reconnects instead of failing on its dead connection. A short connect
    # timeout bounds what a request waits while PostgreSQL is down (it gets a 503 then, see
    # config/middleware.py).
    DATABASES = {"default": {**env.db_url(), "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}}
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    }
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 3
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Every Redis client fails fast, so a dead Redis costs a request at most this timeout (and
# accounts/redis_outage.py then skips it for a while): redis-py would otherwise retry each
# command 10 times with backoff.
REDIS_TIMEOUT = 0.5
REDIS_CLIENT_OPTIONS = {
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
    "retry": Retry(NoBackoff(), retries=0),
}
if REDIS_URL:
    # Shared by every gunicorn worker, so throttle counters hold across workers. JSON, never
    # django-redis's default pickle: whoever can write to Redis would run code here
    # (accounts/redis_values.py). A password goes in the URL: redis://:password@host:6379/0.
    # https://github.com/jazzband/django-redis#pluggable-serializer
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "auth",
            "OPTIONS": {
                "CLIENT_CLASS": "accounts.redis_values.CacheClient",
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT,
                "CONNECTION_POOL_KWARGS": {"retry": REDIS_CLIENT_OPTIONS["retry"]},
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Users and passwords --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Email uniqueness is enforced by a UniqueConstraint on Lower("email"), stronger than
# `unique=True`; Django's check only recognises constraints on plain fields.
SILENCED_SYSTEM_CHECKS = ["auth.E003"]

# Argon2id first: memory-hard, the winner of the Password Hashing Competition and Django's
# recommendation (https://docs.djangoproject.com/en/5.2/topics/auth/passwords/#using-argon2).
# The others stay so that existing hashes still verify and get upgraded at the next login.
PASSWORD_HASHERS = [
    "accounts.hashers.ConfiguredArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Its cost. The defaults are OWASP's first Argon2id configuration (m=19 MiB, t=2, p=1,
# https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id);
# a stored hash made at another cost is rehashed at its owner's next login (docs/security.md:
# Password hashing).
ARGON2_MEMORY_KIB = env.int("ARGON2_MEMORY_KIB", 19 * 1024)
ARGON2_TIME_COST = env.int("ARGON2_TIME_COST", 2)
ARGON2_PARALLELISM = env.int("ARGON2_PARALLELISM", 1)
if ARGON2_TIME_COST < 1 or ARGON2_PARALLELISM < 1:
    raise ImproperlyConfigured("ARGON2_TIME_COST and ARGON2_PARALLELISM must be at least 1.")
if ARGON2_MEMORY_KIB < 8 * ARGON2_PARALLELISM:
    # Argon2's own floor (RFC 9106 3.1): 8 KiB per lane.
    raise ImproperlyConfigured("ARGON2_MEMORY_KIB must be at least 8 x ARGON2_PARALLELISM.")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Access tokens (accounts/tokens.py) ----------------------------------------------------
# EdDSA (default): this service signs with the private JWK JWT_PRIVATE_KEY; both services verify
# with the public keys of JWT_PUBLIC_KEYS (a JWKS), chosen by the token's kid. HS*: one shared
# JWT_SECRET signs and verifies. docs/tokens.md: Access-token keys.
JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="EdDSA")
if JWT_ALGORITHM != "EdDSA" and JWT_ALGORITHM not in JWT_HMAC_KEY_BYTES:
    raise ImproperlyConfigured(
        f"JWT_ALGORITHM must be one of EdDSA, {', '.join(JWT_HMAC_KEY_BYTES)} "
        f"(got {JWT_ALGORITHM!r})."
    )
# Only the keys of the chosen algorithm are read, so a value left in an unused one (the
# example JWT_PUBLIC_KEYS with HS256, say) stops no start; the score service does the same.
if JWT_ALGORITHM == "EdDSA":
    JWT_SIGNING_KEY = env.key("JWT_PRIVATE_KEY", private_key_parse)
    JWT_VERIFYING_KEYS = env.key("JWT_PUBLIC_KEYS", public_keys_parse)
    try:
        signing_key_published(JWT_VERIFYING_KEYS, signing_key=JWT_SIGNING_KEY)
    except TokenKeyError as e:
        raise ImproperlyConfigured(str(e)) from None
    JWT_SECRET = ""
else:
    JWT_SIGNING_KEY = None
    JWT_VERIFYING_KEYS = {}
    JWT_SECRET = env.secret("JWT_SECRET", debug=DEBUG, min_bytes=JWT_HMAC_KEY_BYTES[JWT_ALGORITHM])
JWT_ISSUER = env.str("JWT_ISSUER", default="auth-service")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="game-platform")
JWT_LEEWAY = env.int("JWT_LEEWAY", 5)
if not 0 <= JWT_LEEWAY <= JWT_LEEWAY_MAX:
    raise ImproperlyConfigured(f"JWT_LEEWAY must be between 0 and {JWT_LEEWAY_MAX} seconds.")

# --- Token lifetimes: django-constance -------------------------------------------------------
# The plain Redis backend reads Redis on every access, so an admin change applies to the next
# token in every worker; the caching backend would keep stale values per process.
# During a Redis outage it answers the last values it read (accounts/redis_outage.py).
if REDIS_URL:
    CONSTANCE_BACKEND = "accounts.redis_outage.LastKnownRedisBackend"
    CONSTANCE_REDIS_PREFIX = "constance:auth:"
else:
    CONSTANCE_BACKEND = "constance.backends.database.DatabaseBackend"
CONSTANCE_ADDITIONAL_FIELDS = {
    "access_token_lifetime": [
        "django.forms.IntegerField",
        {"min_value": 1, "max_value": ACCESS_TOKEN_LIFETIME_MAX},
    ],
    "refresh_token_lifetime": [
        "django.forms.IntegerField",
        {"min_value": 60, "max_value": 365 * 24 * 60 * 60},
    ],
    "refresh_token_reuse_grace": ["django.forms.IntegerField", {"min_value": 0, "max_value": 60}],
    "reauthentication_window": [
        "django.forms.IntegerField",
        {"min_value": 0, "max_value": 24 * 60 * 60},
    ],
}
CONSTANCE_CONFIG = {
    "ACCESS_TOKEN_LIFETIME": (
        30,
        "Lifetime of a new access token (JWT), in seconds: 1 to 86400. A token stays valid "
        "until it expires, so keep this short. Applies to tokens issued from now on.",
        "access_token_lifetime",
    ),
    "REFRESH_TOKEN_LIFETIME": (
        30 * 24 * 60 * 60,
        "Lifetime of a new refresh token, in seconds: 60 to 31536000 (one year). Default 30 "
        "days. Applies to tokens issued from now on.",
        "refresh_token_lifetime",
    ),
    # As Ory Hydra's rotation_grace_period and Okta's grace period: a double submit or a
    # retry after a timeout must not log the client out.
    "REFRESH_TOKEN_REUSE_GRACE": (
        0,
        "Seconds, 0 to 60, during which a refresh token just rotated can be exchanged once "
        "more for a pair in the same family (a double submit, a retry after a timeout). 0: "
        "never; any reuse revokes the family. Applies to tokens rotated from now on.",
        "refresh_token_reuse_grace",
    ),
    # GitHub's "sudo mode", OpenID Connect's auth_time/max_age: a sensitive change right after
    # a sign-in needs no password again, so the brief's PUT /api/me/ {"email"} works as shown.
    "REAUTHENTICATION_WINDOW": (
        300,
        "Seconds, 0 to 86400, after a session's last sign-in (login or password change; a "
        "refresh does not renew it) during which its access token alone may change the "
        "email. Later, the change needs current_password. 0: always needs it.",
        "reauthentication_window",
    ),
}
CONSTANCE_CONFIG_FIELDSETS = {
    "Token lifetimes": (
        "ACCESS_TOKEN_LIFETIME",
        "REFRESH_TOKEN_LIFETIME",
        "REFRESH_TOKEN_REUSE_GRACE",
    ),
    "Sensitive changes": ("REAUTHENTICATION_WINDOW",),
}

# --- Mail and the account lifecycle (password reset, email verification) ----------------------
# One URL names the backend and the server, parsed by django-environ: consolemail:// (each
# message in the log), smtp://user:password@host:25, smtp+tls://...:587 (STARTTLS),
# smtp+ssl://...:465, dummymail:// (discard). Percent-encode special characters of the password.
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-email-url
try:
    _email = env.email_url(default="consolemail://")
except ImproperlyConfigured as e:
    raise ImproperlyConfigured(f"EMAIL_URL: {e}") from None
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
if _email["EMAIL_FILE_PATH"]:
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]  # filemail:////abs/folder, filemail:///relative
# Mail is sent off the request thread (accounts/mail.py); this bounds how long a dead SMTP
# server keeps a sending thread busy.
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Game platform <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The links mailed for a reset and a verification. The defaults open the API's own endpoints
# in the browsable API, a form that asks only for what is missing; a deployment with a
# frontend points them at its pages, which POST uid and token to the same endpoints.
PASSWORD_RESET_URL = env.link_template(
    "PASSWORD_RESET_URL",
    "http://localhost:8000/api/password/reset/confirm/?uid={uid}&token={token}",
)
EMAIL_VERIFICATION_URL = env.link_template(
    "EMAIL_VERIFICATION_URL", "http://localhost:8000/api/verify-email/?uid={uid}&token={token}"
)
# Lifetime of both kinds of link, in seconds: Django's own setting, which its
# PasswordResetTokenGenerator reads (Django's default is 3 days; an hour is plenty for a reset).
# https://docs.djangoproject.com/en/5.2/ref/settings/#password-reset-timeout
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", 60 * 60)
if PASSWORD_RESET_TIMEOUT < 60:
    raise ImproperlyConfigured("PASSWORD_RESET_TIMEOUT must be at least 60 seconds.")
# Off by default, so that the seed's walkthrough (register, then log in) works as it is.
REQUIRE_EMAIL_VERIFICATION = env.bool("REQUIRE_EMAIL_VERIFICATION")
# Days a security event is kept (accounts/services/events.py); the purge job enforces it.
SECURITY_EVENT_RETENTION_DAYS = env.int("SECURITY_EVENT_RETENTION_DAYS", 90)
if SECURITY_EVENT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("SECURITY_EVENT_RETENTION_DAYS must be at least 1.")

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.AccessTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "accounts.parsers.JSONObjectParser",
        "accounts.parsers.FormOrJSONMistakeParser",
        # What the browsable API's HTML forms post.
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env.str("THROTTLE_RATE_LOGIN_IP", default="20/min"),
        # Failed logins only (accounts/throttles.py, login_attempt).
        "login_account_ip": env.str("THROTTLE_RATE_LOGIN_ACCOUNT_IP", default="5/min"),
        "login_account": env.str("THROTTLE_RATE_LOGIN_ACCOUNT", default="20/min"),
        "register": env.str("THROTTLE_RATE_REGISTER", default="10/hour"),
        "refresh": env.str("THROTTLE_RATE_REFRESH", default="30/min"),
        # Account lifecycle (accounts/throttles.py, the classes at the end).
        "current_password": env.str("THROTTLE_RATE_CURRENT_PASSWORD", default="5/min"),
        "mail_ip": env.str("THROTTLE_RATE_MAIL_IP", default="10/hour"),
        "mail_account": env.str("THROTTLE_RATE_MAIL_ACCOUNT", default="3/hour"),
        "link_ip": env.str("THROTTLE_RATE_LINK_IP", default="30/hour"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Auth service",
    "DESCRIPTION": (
        "Registration, login, rotating refresh tokens, logout and the current user. Access "
        "tokens are short-lived JWTs sent as `Authorization: Bearer <token>`; refresh tokens "
        "are opaque UUIDs, rotated on every use.\n\n"
        "To call an endpoint that needs an access token from this page: run `login` (Try it "
        "out), copy `access_token` from the answer, then **Authorize** and paste it. The "
        "browsable API (any `/api/...` URL in a browser) cannot send a token: there, only the "
        "endpoints without one work."
    ),
    "VERSION": "1.0.0",
    # In the order of a user's flow; accounts/schema.py tags each operation with one of them,
    # and the operations keep the order of accounts/urls.py.
    "TAGS": [
        {
            "name": "account",
            "description": "Create an account, verify its email; read, change or delete it.",
        },
        {
            "name": "tokens",
            "description": "Log in for an access token and a refresh token, rotate the "
            "refresh token, and the public keys that verify access tokens.",
        },
        {
            "name": "password",
            "description": "Change the password, or reset a forgotten one with a mailed link. "
            "Either ends every session.",
        },
        {
            "name": "sessions",
            "description": "End one session, or all of a user's sessions.",
        },
        {"name": "service", "description": "Health, for load balancers and monitors."},
    ],
    "SORT_OPERATIONS": False,
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are public: no authentication runs, so a stale Bearer header that a
    # client sends everywhere does not turn them into a 401.
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc assets from drf-spectacular-sidecar, served by whitenoise: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Static files, i18n, logging --------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# docs/observability.md: LOG_FORMAT json (the images' default) or text; one line per request
# (LOG_REQUESTS); metrics served on their own port by gunicorn's master (gunicorn.conf.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="") or "text"
try:
    LOGGING = logging_config(LOG_FORMAT)
except ValueError as e:
    raise ImproperlyConfigured(str(e)) from None
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=True)
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)

"""`make bench-http`'s auth peer: the auth service's own settings (database, cache,
middleware), with djangorestframework-simplejwt's JWTAuthentication verifying the same
tokens and a plain RetrieveAPIView for /api/me/."""

from datetime import timedelta

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from config.settings import *  # noqa: F403
from config.settings import (
    INSTALLED_APPS,
    JWT_ALGORITHM,
    JWT_AUDIENCE,
    JWT_ISSUER,
    JWT_LEEWAY,
    JWT_SECRET,
    JWT_SIGNING_KEY,
    REST_FRAMEWORK,
)

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_simplejwt"]
ROOT_URLCONF = "bench_peers.simplejwt_urls"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
}
SIMPLE_JWT = {
    "ALGORITHM": JWT_ALGORITHM,
    "SIGNING_KEY": JWT_SECRET,
    # EdDSA: simplejwt verifies with one public key, PEM (it has no kid lookup without a JWKS URL).
    "VERIFYING_KEY": JWT_SIGNING_KEY.key.public_key()
    .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    .decode()
    if JWT_SIGNING_KEY
    else "",
    "AUDIENCE": JWT_AUDIENCE,
    "ISSUER": JWT_ISSUER,
    "LEEWAY": timedelta(seconds=JWT_LEEWAY),
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

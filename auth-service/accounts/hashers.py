"""Django's Argon2 hasher, with each verification timed (auth_password_verify_duration_seconds)."""

import time

from django.contrib.auth import hashers

from accounts import metrics


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    """The same algorithm name and parameters as Django's, so every stored hash still
    verifies; only `verify` is timed, the one call on every login."""

    def verify(self, password: str, encoded: str) -> bool:
        start = time.perf_counter()
        try:
            return super().verify(password, encoded)
        finally:
            metrics.PASSWORD_VERIFY_DURATION.observe(time.perf_counter() - start)

"""The password hasher: Django's Argon2id, with its cost read from the settings and each
verification timed (auth_password_verify_duration_seconds, docs/observability.md).

Django's own Argon2PasswordHasher fixes the cost in the class (time cost 2, 100 MiB,
parallelism 8). This one reads ARGON2_TIME_COST, ARGON2_MEMORY_KIB and ARGON2_PARALLELISM
at every hash, and Django's must_update compares a stored hash's parameters with them, so
raising them upgrades each stored hash at its owner's next login (docs/security.md: Password
hashing). The algorithm name stays "argon2": hashes made with Django's defaults still verify.
"""

import time

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

from accounts import metrics


class ConfiguredArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at the cost of the ARGON2_* settings."""

    @property
    def time_cost(self) -> int:
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:
        return settings.ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:
        return settings.ARGON2_PARALLELISM

    def verify(self, password: str, encoded: str) -> bool:
        """Django's verify, the one call on every login, timed."""
        start = time.perf_counter()
        try:
            return super().verify(password, encoded)
        finally:
            metrics.PASSWORD_VERIFY_DURATION.observe(time.perf_counter() - start)

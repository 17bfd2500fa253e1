"""Users (the email is the login) and the stored side of refresh tokens."""

import unicodedata

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.clients import IP_MAX_LENGTH, USER_AGENT_MAX_LENGTH
from accounts.errors import EMAIL_TAKEN


def email_normalize(email: str) -> str:
    """Return the one form of `email` that the throttles, lookups, constraint and storage see.

    Unicode's NFKC_Casefold (UAX #31, 5.1): compatibility forms folded (fullwidth letters, the
    Kelvin sign, NFD sequences), then full case folding ("ß" and "ẞ" are "ss"; "İ" is "i̇",
    never "i"). Done once in Python so that no two layers can disagree, as Python's lower()
    and PostgreSQL's LOWER() did.
    """
    folded = unicodedata.normalize("NFKC", email.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        return email_normalize(email or "")

    def get_by_natural_key(self, email: str) -> "User":
        """Return the user with this email, normalised (login, admin, commands).

        Filters on Lower("email") so that the query uses the unique index of the constraint;
        stored emails are normalised, so Lower() changes nothing in them.
        """
        email = self.normalize_email(email)
        return self.alias(email_lower=Lower("email")).get(email_lower=Lower(Value(email)))

    def email_taken(self, email: str, *, exclude_pk: int | None = None) -> bool:
        """Return whether another user already has `email`, once normalised."""
        email = self.normalize_email(email)
        users = self.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email)))
        if exclude_pk is not None:
            users = users.exclude(pk=exclude_pk)
        return users.exists()

    def _create(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not (extra_fields["is_staff"] and extra_fields["is_superuser"]):
            raise ValueError("A superuser needs is_staff=True and is_superuser=True.")
        return self._create(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address and a password."""

    email = models.EmailField("email address", max_length=254)
    username = models.CharField(
        "display name", max_length=150, blank=True, default="", help_text="Optional, not unique."
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Inactive users can neither log in nor refresh."
    )
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="Can log into the admin site."
    )
    date_joined = models.DateTimeField("date joined", default=timezone.now)
    email_verified_at = models.DateTimeField(
        "email verified at",
        null=True,
        blank=True,
        help_text="When the owner followed the verification or reset link sent to this email; "
        "cleared when the email changes. Required to log in with REQUIRE_EMAIL_VERIFICATION.",
    )

    # Bumped whenever every session of the user ends (services.sessions.sessions_end): a login
    # that read the user before then may not start one after (services.sessions.session_start).
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message=EMAIL_TAKEN,
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @classmethod
    def normalize_username(cls, username: str) -> str:
        # Django's clean() (model forms, the admin) normalises USERNAME_FIELD with this.
        return email_normalize(username)

    def save(self, *args, **kwargs) -> None:
        self.email = email_normalize(self.email)
        super().save(*args, **kwargs)


def user_lock(*, user_id: int) -> int | None:
    """Lock the user's row until the transaction ends (SELECT ... FOR UPDATE); return its
    session generation, None if there is no such user.

    Every path that ends or creates a session locks the user before its tokens, always in that
    order, so that they serialise and cannot deadlock.
    """
    locked = User.objects.select_for_update().filter(pk=user_id)
    return locked.values_list("session_generation", flat=True).first()


def rows_delete_in_batches(rows: models.QuerySet, *, batch_size: int) -> int:
    """Delete `rows` in batches of `batch_size`, each its own transaction, so that no long lock
    is held (the purge job); return how many were deleted."""
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not batch:
                return deleted
            deleted += rows.model.objects.filter(pk__in=batch).delete()[0]


class RefreshToken(models.Model):
    """One issued refresh token. The token itself is never stored, only its SHA-256 digest.

    Tokens issued by rotating one another share a `family`, which starts at login; presenting
    a revoked token revokes its whole family (RFC 9700, 4.14.2).
    """

    # Every lookup by token goes through this unique index.
    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    family = models.UUIDField(db_index=True)
    issued_at = models.DateTimeField()
    # Indexed for the clean-up command.
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set when a rotation revokes the token with REFRESH_TOKEN_REUSE_GRACE on; until then it
    # can be exchanged once more. Cleared by that exchange, by the next rotation in the family
    # and by every other revocation.
    reusable_until = models.DateTimeField(null=True, blank=True)
    # When the session (the family) last proved the password: set at login and password
    # change, kept by rotation (migration 0005 gave older tokens 1970: long ago).
    authenticated_at = models.DateTimeField()
    # The session's login, copied into each token of the family by the rotation that inserts
    # it (no extra query), so the session list reads one row per session.
    session_started_at = models.DateTimeField()
    login_ip = models.CharField(max_length=IP_MAX_LENGTH, blank=True, default="")
    login_user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True, default="")
    # The client that was issued this token: at login, or at the refresh that rotated to it
    # (so the newest token of a family tells where and when the session was last used).
    ip = models.CharField(max_length=IP_MAX_LENGTH, blank=True, default="")
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True, default="")
    # Set on the tokens that an ending from elsewhere revokes (another session, a password or
    # email change, a replay; not a plain logout): the auth service then refuses the access
    # tokens of the family at once (accounts/authentication.py).
    session_ended = models.BooleanField(default=False)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            # What every Bearer request asks (accounts/authentication.py): only the few ended
            # rows are in it, so the answer costs the same however long the family is.
            models.Index(
                fields=["family"],
                condition=models.Q(session_ended=True),
                name="accounts_rt_ended_family",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.digest_prefix} ({self.user_id})"

    @property
    def digest_prefix(self) -> str:
        """The first characters of the digest: enough to tell tokens apart, never the whole."""
        return f"{self.digest[:8]}…"


class Session(RefreshToken):
    """A session as the admin lists it: the newest live refresh token of a family
    (services.sessions.session_list); no table of its own."""

    class Meta:
        proxy = True
        ordering = ["-issued_at"]


class ThrottleWindow(models.Model):
    """The hits one throttle counted in its sliding window, when throttles count in the
    database (accounts/throttle_store.py): without Redis, and while it is unreachable."""

    key = models.CharField(primary_key=True, max_length=255)
    # [[time, id], ...]: each hit's time.time(), and the id it is given back by.
    hits = models.JSONField(default=list)
    # When the newest hit leaves the window; indexed for the purge of ended windows.
    expires_at = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return self.key


class SecurityEvent(models.Model):
    """One security event of an account (accounts/services/events.py records them): kept
    SECURITY_EVENT_RETENTION_DAYS, shown to the user at /api/me/activity/ and in the admin."""

    class Kind(models.TextChoices):
        REGISTERED = "registered"
        LOGIN = "login"
        PASSWORD_CHANGED = "password_changed"  # noqa: S105
        PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105
        PASSWORD_RESET_COMPLETED = "password_reset_completed"  # noqa: S105
        EMAIL_VERIFICATION_REQUESTED = "email_verification_requested"
        EMAIL_CHANGED = "email_changed"
        SESSION_ENDED = "session_ended"
        REFRESH_REPLAYED = "refresh_replayed"
        ACCOUNT_DELETED = "account_deleted"

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"

    # Null when no account is known (a failed login or a reset request for an unknown email),
    # and once the account is deleted: its events stay, unlinked, until the retention ends.
    # Not indexed alone: the index on (user, -occurred_at) below serves every lookup by user.
    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
        db_index=False,
    )
    # Indexed for the purge; the activity list reads by user, newest first.
    occurred_at = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=32, choices=Kind.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.CharField(max_length=32, blank=True, default="")
    session_id = models.UUIDField(null=True, blank=True)
    ip = models.CharField(max_length=IP_MAX_LENGTH, blank=True, default="")
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True, default="")

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["user", "-occurred_at"], name="accounts_event_user_time")]

    def __str__(self) -> str:
        return f"{self.event} {self.outcome} ({self.user_id})"

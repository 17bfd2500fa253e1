"""Admin: users keyed on email; read-only views of refresh tokens (with a revoke action), of
live sessions (with an end action) and of security events."""

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    UserChangeForm,
)
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from rest_framework.exceptions import Throttled

from accounts.clients import Client
from accounts.models import RefreshToken, SecurityEvent, Session, User
from accounts.services import sessions, users
from accounts.services.events import Reason
from accounts.throttles import login_attempt

ADMIN_LOGIN_THROTTLED = "Too many failed logins for this account. Try again in %(seconds)d seconds."


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login, under the API login's failed-login limits (per account and client
    address, and per account): the gateway's per-address rate alone let one address guess
    about 36,000 passwords an hour."""

    def clean(self) -> dict:
        try:
            with login_attempt(email=self.data.get("username"), request=self.request) as attempt:
                try:
                    return super().clean()
                except ValidationError as e:
                    if e.code == "invalid_login":
                        attempt.failed()
                    raise
        except Throttled as e:
            raise ValidationError(
                ADMIN_LOGIN_THROTTLED, code="throttled", params={"seconds": e.wait or 1}
            ) from e


admin.site.login_form = AdminLoginForm


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class PasswordChangeAdminForm(AdminPasswordChangeForm):
    """The admin's password form: a new (or unusable) password ends every session, as in the
    API (sessions.sessions_end)."""

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=commit)
        if commit:
            users.user_password_set_by_admin(user=user)
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = PasswordChangeAdminForm
    ordering = ("email",)
    list_display = ("email", "username", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "username")
    readonly_fields = ("date_joined", "last_login", "sessions_and_activity")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("username",)}),
        ("Sessions", {"fields": ("sessions_and_activity",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.display(description="sessions and activity")
    def sessions_and_activity(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}?user={}">Live sessions</a> · <a href="{}?user={}">Security events</a>',
            reverse("admin:accounts_session_changelist"),
            obj.pk,
            reverse("admin:accounts_securityevent_changelist"),
            obj.pk,
        )

    def save_model(self, request, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data:
            # The API's rule for a new email: unverified, and every session ends.
            users.user_email_set(user=obj, email=obj.email, reason=Reason.ADMIN)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the API only: the admin views them, never adds, edits or deletes."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    """Read-only: tokens are issued by the API. Shows a digest prefix, never a whole digest."""

    list_display = ("digest_prefix", "user", "issued_at", "expires_at", "revoked_at", "family")
    fields = list_display
    readonly_fields = list_display
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__email", "family")
    list_select_related = ("user",)
    date_hierarchy = "issued_at"
    actions = ["revoke"]

    @admin.display(description="token")
    def digest_prefix(self, obj: RefreshToken) -> str:
        return obj.digest_prefix

    @admin.action(description="Revoke selected refresh tokens", permissions=["revoke"])
    def revoke(self, request, queryset) -> None:
        revoked = sessions.refresh_tokens_revoke(
            token_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(request, f"Revoked {revoked} refresh token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_refreshtoken")


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    """Live sessions (one row per refresh-token family), of one user with ?user=<id> (the
    link on the user's page); the action ends them as DELETE /api/sessions/{id}/ does."""

    list_display = (
        "family",
        "user",
        "session_started_at",
        "issued_at",
        "expires_at",
        "login_ip",
        "ip",
        "user_agent",
    )
    fields = (*list_display, "login_user_agent")
    readonly_fields = fields
    search_fields = ("user__email", "family")
    list_select_related = ("user",)
    actions = ["end"]

    def get_queryset(self, request):
        live = sessions.session_list().values("pk")
        return Session.objects.filter(pk__in=live).select_related("user")

    @admin.action(description="End selected sessions", permissions=["end"])
    def end(self, request, queryset) -> None:
        client = Client.of(request)
        ended = sum(
            sessions.session_end(
                user_id=session.user_id,
                session_id=session.family,
                client=client,
                reason=Reason.ADMIN,
            )
            for session in queryset
        )
        self.message_user(request, f"Ended {ended} session(s).", messages.SUCCESS)

    def has_end_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_refreshtoken")


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """Security events, of one user with ?user=<id> (the link on the user's page)."""

    list_display = ("occurred_at", "event", "outcome", "reason", "user", "ip", "user_agent")
    fields = (*list_display, "session_id")
    readonly_fields = fields
    list_filter = ("event", "outcome")
    search_fields = ("user__email", "ip")
    list_select_related = ("user",)
    date_hierarchy = "occurred_at"

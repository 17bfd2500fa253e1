"""Input and output shapes of the API. Validation of fields lives here; writes in services."""

import re
from collections.abc import Mapping
from typing import Literal

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.utils import html

from accounts.errors import ACCESS_TOKEN_AS_REFRESH_TOKEN, EMAIL_TAKEN, UNKNOWN_FIELD
from accounts.models import RefreshToken, SecurityEvent, User

EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length
USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length
# A JWS in compact form (RFC 7515 7.1): three base64url parts, the header a JSON object.
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
TOKEN_TYPE = "Bearer"  # noqa: S105 (RFC 6750's token type, not a secret)


class NormalizedEmailField(serializers.EmailField):
    """An email, normalised (accounts.models.email_normalize) before it is validated, so
    the validators, the lookups and the database all see the same string."""

    def to_internal_value(self, data) -> str:
        return User.objects.normalize_email(super().to_internal_value(data))


class RefreshTokenField(serializers.UUIDField):
    """A refresh token: a UUID written as a string (DRF's UUIDField also takes integers).

    An access token in its place, the commonest mix-up, is named as such, not answered
    "Must be a valid UUID.".
    """

    default_error_messages = {
        **serializers.UUIDField.default_error_messages,
        "access_token": ACCESS_TOKEN_AS_REFRESH_TOKEN,
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        if JWT_SHAPE.fullmatch(data):
            self.fail("access_token")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text given as a string: DRF's CharField also takes a JSON number and stores its digits."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A boolean: `true` or `false` in JSON (DRF's BooleanField also takes 1, "yes", "on"...).

    A form body has only text, so there DRF's spellings ("true", "false", "1", "on"...) stay.
    """

    def to_internal_value(self, data):
        if not isinstance(data, bool) and not html.is_html_input(self.root.initial_data):
            self.fail("invalid")
        return super().to_internal_value(data)


class OptionalEmailField(NormalizedEmailField):
    """An email that may be absent, but when given must be valid, in a form body too.

    For form bodies DRF treats an optional field sent blank (`email=`) as absent, so PUT
    /api/me/ with `email=` answered 200 and changed nothing, where the same JSON is a 400.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class InputSerializer(serializers.Serializer):
    """A request body: a field the endpoint does not take is refused by name, with the fields
    it does take, never silently ignored (`{"user_name": ...}` or `{"is_staff": true}` on
    /api/me/ answered 200 and changed nothing)."""

    # The browsable API's HTML forms add Django's CSRF token to every body.
    FORM_EXTRAS = frozenset({"csrfmiddlewaretoken"})

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            accepted = ", ".join(self.fields)
            unknown = {
                name: [UNKNOWN_FIELD.format(accepted=accepted)]
                for name in data
                if name not in self.fields and name not in self.FORM_EXTRAS
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as e:
            raise serializers.ValidationError({**unknown, **e.detail}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class RegisterInputSerializer(InputSerializer):
    email = NormalizedEmailField(max_length=EMAIL_MAX_LENGTH)
    password = StrictCharField(
        write_only=True, trim_whitespace=False, max_length=4096, style={"input_type": "password"}
    )

    def validate_email(self, value: str) -> str:
        if User.objects.email_taken(value):
            raise serializers.ValidationError(EMAIL_TAKEN)
        return value

    def validate_password(self, value: str) -> str:
        # A field check, not validate(): DRF runs that only once every field passed, so a
        # taken email hid a weak password. The similarity check reads the email as sent.
        email = self.initial_data.get("email")
        user = User(email=User.objects.normalize_email(email if isinstance(email, str) else ""))
        try:
            password_validation.validate_password(value, user=user)
        except DjangoValidationError as e:
            raise serializers.ValidationError(list(e.messages)) from e
        return value


class RegisterOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email"]


class LoginInputSerializer(InputSerializer):
    # Any string: a malformed email is just another wrong login (401), not a hint.
    email = StrictCharField(max_length=EMAIL_MAX_LENGTH)
    password = StrictCharField(
        write_only=True, trim_whitespace=False, max_length=4096, style={"input_type": "password"}
    )


class TokenPairSerializer(serializers.Serializer):
    """The brief's two tokens, then those of an OAuth 2.0 token response (RFC 6749 5.1)."""

    access_token = serializers.CharField(help_text="JWT for `Authorization: Bearer ...`.")
    refresh_token = serializers.UUIDField(
        help_text="Opaque refresh token, shown only once; rotated on every refresh."
    )
    token_type = serializers.SerializerMethodField(help_text="Always `Bearer` (RFC 6750).")
    expires_in = serializers.IntegerField(
        min_value=1,
        help_text="Seconds the access token is valid from now: constance's "
        "`ACCESS_TOKEN_LIFETIME` when it was signed (its `exp - iat`).",
    )

    def get_token_type(self, pair) -> Literal["Bearer"]:
        return TOKEN_TYPE


class RefreshInputSerializer(InputSerializer):
    refresh_token = RefreshTokenField()


class LogoutInputSerializer(InputSerializer):
    refresh_token = RefreshTokenField()
    all = StrictBooleanField(
        default=False, help_text="Also revoke every other session of this user."
    )


class LogoutOutputSerializer(serializers.Serializer):
    success = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email"]
        read_only_fields = fields


class UserUpdateInputSerializer(InputSerializer):
    """The writable fields of /api/me/. Absent fields stay unchanged, for PUT as for PATCH."""

    username = StrictCharField(max_length=USERNAME_MAX_LENGTH, required=False, allow_blank=True)
    email = OptionalEmailField(max_length=EMAIL_MAX_LENGTH)
    current_password = StrictCharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=4096,
        style={"input_type": "password"},
        help_text="Required to change `email` outside REAUTHENTICATION_WINDOW of the sign-in.",
    )


# --- Account lifecycle -----------------------------------------------------------------------


def password_field(**kwargs) -> StrictCharField:
    return StrictCharField(
        write_only=True,
        trim_whitespace=False,
        max_length=4096,
        style={"input_type": "password"},
        **kwargs,
    )


class PasswordChangeInputSerializer(InputSerializer):
    current_password = password_field()
    new_password = password_field(help_text="Checked by the password validators.")


class MailRequestInputSerializer(InputSerializer):
    email = NormalizedEmailField(max_length=EMAIL_MAX_LENGTH)


class LinkInputSerializer(InputSerializer):
    """The two parts of a mailed link. In the browsable API's form they come from the link's
    query string, as hidden fields."""

    uid = StrictCharField(
        max_length=64,
        help_text="The `{uid}` part of the mailed link.",
        style={"input_type": "hidden", "hide_label": True},
    )
    token = StrictCharField(
        max_length=128,
        help_text="The `{token}` part of the mailed link.",
        style={"input_type": "hidden", "hide_label": True},
    )


class PasswordResetConfirmInputSerializer(LinkInputSerializer):
    new_password = password_field(help_text="Checked by the password validators.")


class UserDeleteInputSerializer(InputSerializer):
    current_password = password_field()


class SessionSerializer(serializers.ModelSerializer):
    """A live session, from the newest refresh token of its family (services.sessions.
    session_list). Nothing in it is a token: the id only names the session."""

    id = serializers.UUIDField(
        source="family",
        help_text="The session's id (the `sid` of its access tokens); not usable as a token.",
    )
    created_at = serializers.DateTimeField(source="session_started_at", help_text="The login.")
    last_used_at = serializers.DateTimeField(
        source="issued_at", help_text="The last refresh (the login when there was none)."
    )
    expires_at = serializers.DateTimeField(
        help_text="When the session ends unless it is refreshed before."
    )
    login_ip = serializers.CharField(help_text="The client's address at the login.")
    login_user_agent = serializers.CharField(help_text="Its User-Agent at the login.")
    last_ip = serializers.CharField(source="ip", help_text="The address at the last refresh.")
    last_user_agent = serializers.CharField(
        source="user_agent", help_text="The User-Agent at the last refresh."
    )
    current = serializers.SerializerMethodField(
        help_text="Whether this is the session of the access token that asked."
    )

    class Meta:
        model = RefreshToken
        fields = [
            "id",
            "created_at",
            "last_used_at",
            "expires_at",
            "login_ip",
            "login_user_agent",
            "last_ip",
            "last_user_agent",
            "current",
        ]
        read_only_fields = fields

    def get_current(self, token: RefreshToken) -> bool:
        return str(token.family) == self.context["current_session"]


class SecurityEventSerializer(serializers.ModelSerializer):
    """One security event of the user's account (accounts/services/events.py)."""

    class Meta:
        model = SecurityEvent
        fields = ["occurred_at", "event", "outcome", "reason", "ip", "user_agent", "session_id"]
        read_only_fields = fields
        extra_kwargs = {
            "reason": {"help_text": "Why a login failed, or how a session ended; may be empty."},
            "session_id": {"help_text": "The session it happened in, when there is one."},
        }


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    database = serializers.CharField(help_text="`ok` or `unavailable`.")
    cache = serializers.CharField(help_text="`ok` or `unavailable` (Redis when configured).")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class JWKSerializer(serializers.Serializer):
    """One public key of the JWKS (RFC 7517 4, RFC 8037 2): never a private part."""

    kty = serializers.CharField(help_text="`OKP`")
    crv = serializers.CharField(help_text="`Ed25519`")
    x = serializers.CharField(help_text="The public key, base64url.")
    kid = serializers.CharField(help_text="The key id that access tokens name in their header.")
    use = serializers.CharField(help_text="`sig`")
    alg = serializers.CharField(help_text="`EdDSA`")


class JWKSetSerializer(serializers.Serializer):
    keys = JWKSerializer(many=True)

"""OpenAPI schema and the documentation pages (drf-spectacular)."""

import re
from io import StringIO

import pytest
import yaml
from django.contrib.auth import password_validation
from django.core.management import call_command

from accounts import schema as openapi, serializers
from accounts.models import User
from accounts.parsers import NOT_AN_OBJECT

pytestmark = pytest.mark.django_db


def test_schema_generates_valid_and_without_warnings(tmp_path):
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yml"),
        stderr=StringIO(),
    )


def test_schema_describes_every_endpoint(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    assert set(schema["paths"]) >= {
        "/api/register/",
        "/api/login/",
        "/api/refresh/",
        "/api/logout/",
        "/api/me/",
        "/api/health/",
        "/.well-known/jwks.json",
        "/api/password/change/",
        "/api/password/reset/",
        "/api/password/reset/confirm/",
        "/api/verify-email/",
        "/api/verify-email/resend/",
        "/api/sessions/",
        "/api/sessions/{session_id}/",
        "/api/sessions/end-others/",
        "/api/me/activity/",
    }


def test_schema_declares_the_bearer_jwt_scheme_on_me(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    scheme = schema["components"]["securitySchemes"]["BearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert schema["paths"]["/api/me/"]["get"]["security"] == [{"BearerAuth": []}]


def test_schema_documents_the_errors_of_refresh(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    assert set(schema["paths"]["/api/refresh/"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "415",
        "429",
    }


def test_schema_documents_the_detail_body_of_every_400(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    bad_requests = [
        operation["responses"]["400"]["content"]["application/json"]["examples"]
        for path in schema["paths"].values()
        for operation in path.values()
        if "400" in operation["responses"]
    ]
    # register, login, refresh, logout, PUT, PATCH and DELETE me, password change, reset,
    # reset confirm, verify-email, resend
    assert len(bad_requests) == 12
    assert all(
        examples["NotAJSONObject"]["value"] == {"detail": NOT_AN_OBJECT}
        for examples in bad_requests
    )


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_documentation_pages_use_local_assets_only(api_client, url):
    response = api_client.get(url)

    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in response.content
    assert re.findall(rb'(?:src|href)="(?:https?:)?//[^"]*"', response.content) == []


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_documentation_ignores_a_stale_authorization_header(api_client, url):
    response = api_client.get(url, HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    assert response.status_code == 200


def test_schema_documents_the_body_of_delete_me(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    delete = schema["paths"]["/api/me/"]["delete"]
    body = delete["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/UserDeleteInputRequest"
    assert set(delete["responses"]) == {"204", "400", "401", "415", "429"}


# --- what the docs say about each operation --------------------------------------------------


@pytest.fixture
def schema(api_client) -> dict:
    return yaml.safe_load(api_client.get("/api/schema/").content)


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    """(path, method, operation) of every operation, in the schema's order."""
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_tags_follow_a_users_flow_each_with_a_description(schema):
    tags = [tag["name"] for tag in schema["tags"]]

    assert tags == ["account", "tokens", "password", "sessions", "service"]
    assert all(tag["description"] for tag in schema["tags"])


def test_docs_list_the_operations_of_each_tag_in_the_order_of_a_users_flow(schema):
    by_tag = {tag["name"]: [] for tag in schema["tags"]}
    for _, _, operation in operations(schema):
        (tag,) = operation["tags"]
        by_tag[tag].append(operation["operationId"])

    assert by_tag == {
        "account": [
            "register",
            "email_verify",
            "email_verification_resend",
            "me_retrieve",
            "me_update",
            "me_partial_update",
            "me_destroy",
            "me_activity_list",
        ],
        "tokens": ["login", "refresh", "jwks"],
        "password": ["password_change", "password_reset", "password_reset_confirm"],
        "sessions": ["sessions_list", "sessions_end_others", "sessions_destroy", "logout"],
        "service": ["health"],
    }


def test_every_operation_says_what_authentication_it_needs(schema):
    for path, method, operation in operations(schema):
        needs_token = {"BearerAuth": []} in operation.get("security", [])
        expected = openapi.BEARER if needs_token else openapi.PUBLIC

        assert operation["summary"], (path, method)
        assert expected in operation["description"], (path, method)


def test_every_error_response_is_described_with_an_example(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert response["description"], (path, method, status)
                assert response["content"]["application/json"]["examples"], (path, status)


def test_register_and_every_new_password_state_the_password_rules_of_the_settings(schema):
    rules = password_validation.password_validators_help_texts()
    described = {
        operation["operationId"]: operation["description"] for _, _, operation in operations(schema)
    }

    for operation_id in ("register", "password_change", "password_reset_confirm"):
        assert all(f"- {rule}" in described[operation_id] for rule in rules), operation_id


def test_the_password_rules_in_the_docs_follow_the_settings(api_client, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 21},
        }
    ]

    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    register = schema["paths"]["/api/register/"]["post"]["description"]
    assert "at least 21 characters" in register
    assert "commonly used" not in register


def test_login_documents_a_login_error_as_its_400(schema):
    examples = schema["paths"]["/api/login/"]["post"]["responses"]["400"]["content"][
        "application/json"
    ]["examples"]

    assert examples["FieldErrors"]["value"] == {"password": ["This field is required."]}


def test_every_operation_with_a_body_has_an_example_of_it(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            examples = operation["requestBody"]["content"]["application/json"]["examples"]
            assert len(examples) == 1, (path, method)


def request_examples(schema: dict) -> list[tuple[str, serializers.InputSerializer, dict]]:
    """(operationId, its input serializer fed the example, example body) of every request
    example; PATCH's serializer is partial, as DRF's components name it."""
    found = []
    for _, _, operation in operations(schema):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            # e.g. RegisterInputRequest, PatchedUserUpdateInputRequest
            component = body["schema"]["$ref"].rsplit("/", 1)[-1].removesuffix("Request")
            partial = component.startswith("Patched")
            serializer_class = getattr(
                serializers, component.removeprefix("Patched") + "Serializer"
            )
            found += [
                (
                    operation["operationId"],
                    serializer_class(data=example["value"], partial=partial),
                    example["value"],
                )
                for example in body["examples"].values()
            ]
    return found


def test_every_request_example_is_accepted_by_its_serializer(schema):
    examples = request_examples(schema)

    assert len(examples) == 12
    for operation_id, serializer, _ in examples:
        assert serializer.is_valid(), (operation_id, serializer.errors)


def test_every_example_password_passes_the_password_validators(schema):
    for _, _, value in request_examples(schema):
        for name in ("password", "new_password"):
            if name in value:
                user = User(email=value.get("email", openapi.EMAIL))
                password_validation.validate_password(value[name], user=user)


def test_register_example_registers_and_logs_in_as_swaggers_try_it_out_sends_it(api_client, schema):
    examples = {operation_id: value for operation_id, _, value in request_examples(schema)}

    registered = api_client.post("/api/register/", examples["register"], format="json")
    logged_in = api_client.post("/api/login/", examples["login"], format="json")

    assert registered.status_code == 201
    assert logged_in.status_code == 200


def test_a_body_of_another_type_gets_the_documented_415(api_client, schema):
    documented = schema["paths"]["/api/login/"]["post"]["responses"]["415"]["content"][
        "application/json"
    ]["examples"]

    response = api_client.post("/api/login/", "email=x", content_type="text/plain")

    assert response.status_code == 415
    assert [example["value"] for example in documented.values()] == [response.json()]


def test_schema_shows_the_session_list_paginated_and_the_end_of_others(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    listed = schema["paths"]["/api/sessions/"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedSessionList"
    }
    assert set(schema["paths"]["/api/sessions/end-others/"]["post"]["responses"]) == {
        "204",
        "401",
    }
    assert set(schema["paths"]["/api/sessions/{session_id}/"]["delete"]["responses"]) == {
        "204",
        "401",
        "404",
    }

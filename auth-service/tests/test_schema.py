"""OpenAPI schema and the documentation pages (drf-spectacular)."""

import re
from io import StringIO

import pytest
import yaml
from django.core.management import call_command

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
    assert set(delete["responses"]) == {"204", "400", "401", "429"}


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

"""What a person sees in a browser: the browsable API's forms, the index at /api/, and the
bare host leading to the docs."""

import re

import pytest
import yaml

from accounts import serializers
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# The write endpoints a browser can use: those that need no access token.
FORMS = {
    "/api/register/": serializers.RegisterInputSerializer,
    "/api/login/": serializers.LoginInputSerializer,
    "/api/refresh/": serializers.RefreshInputSerializer,
    "/api/logout/": serializers.LogoutInputSerializer,
    "/api/password/reset/": serializers.MailRequestInputSerializer,
    "/api/verify-email/resend/": serializers.MailRequestInputSerializer,
}


def form_fields(page: str) -> set[str]:
    """The names of the HTML form's fields (DRF's HTML form, not its raw-content box)."""
    (form,) = re.findall(r'<form action="[^"]*" method="POST" enctype=.*?</form>', page, re.S)
    return set(re.findall(r'<(?:input|select|textarea)\b[^>]*\bname="(\w+)"', form)) - {
        "csrfmiddlewaretoken"
    }


@pytest.mark.parametrize("url", FORMS)
def test_browsable_api_shows_a_form_of_the_endpoints_fields(api_client, url):
    response = api_client.get(url, HTTP_ACCEPT="text/html")

    assert response["Content-Type"].startswith("text/html")
    assert form_fields(response.content.decode()) == set(FORMS[url]().fields)


def test_login_form_asks_for_the_password_in_a_password_field(api_client):
    page = api_client.get("/api/login/", HTTP_ACCEPT="text/html").content.decode()

    assert re.search(r'<input name="password"[^>]* type="password"', page)


def test_browsable_raw_content_box_starts_with_the_endpoints_fields(api_client):
    page = api_client.get("/api/login/", HTTP_ACCEPT="text/html").content.decode()

    (content,) = re.findall(r'<textarea name="_content"[^>]*>(.*?)</textarea>', page, re.S)
    assert set(re.findall(r"&quot;(\w+)&quot;:", content)) == {"email", "password"}


def test_login_form_logs_in(api_client, user):
    # multipart/form-data, as the page's form sends it
    response = api_client.post(
        "/api/login/", {"email": user.email, "password": PASSWORD}, HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 200
    assert b"refresh_token" in response.content


def test_api_root_links_the_docs_and_every_endpoint_of_the_schema(api_client):
    links = api_client.get("/api/").json()
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    linked = {url.removeprefix("http://testserver") for url in links.values()}
    assert set(schema["paths"]) | {"/api/docs/", "/api/redoc/", "/api/schema/"} == linked


def test_api_root_names_each_link_by_its_url_name(api_client):
    links = api_client.get("/api/").json()

    assert links["swagger-ui"] == "http://testserver/api/docs/"
    assert links["login"] == "http://testserver/api/login/"


def test_api_root_is_a_page_in_a_browser(api_client):
    response = api_client.get("/api/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b'href="http://testserver/api/docs/"' in response.content


def test_bare_host_leads_to_the_api_docs(api_client):
    response = api_client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/api/docs/")


def test_admins_view_site_link_leads_to_the_api_docs(admin_client):
    page = admin_client.get("/admin/").content.decode()
    (view_site,) = re.findall(r'<a href="([^"]*)">View site</a>', page)

    assert admin_client.get(view_site, follow=True).redirect_chain == [("/api/docs/", 302)]

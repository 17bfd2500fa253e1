"""Every docs page and the browsable API in a real browser, through the gateway: Debian's
Chromium driven by Playwright (never `playwright install`: no browser download). Each page is
drawn in full, requests nothing from another host, and logs no console error."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright

# Debian's Chromium; CHROMIUM names another build of it.
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# (path, its status, what shows that the page was drawn in full). The docs render with
# JavaScript after fetching the schema, so each waits for its operations. A browsable API page
# of an endpoint without GET is DRF's 405 page with the endpoint's HTML form under it.
PAGES = [
    ("/", 200, ".opblock"),  # redirected to the auth service's Swagger UI
    ("/api/docs/", 200, ".opblock"),
    ("/api/redoc/", 200, "text=API docs by Redocly"),
    ("/score/docs", 200, ".opblock"),
    ("/api/", 200, "a[href$='/api/login/']"),
    ("/api/register/", 405, "form input[name=password]"),
    ("/api/login/", 405, "form input[name=password]"),
    ("/api/refresh/", 405, "form input[name=refresh_token]"),
    ("/api/logout/", 405, "form input[name=refresh_token]"),
    ("/api/password/reset/", 405, "form input[name=email]"),
    ("/api/password/reset/confirm/?uid=MQ&token=t", 200, "form input[name=new_password]"),
    ("/api/verify-email/?uid=MQ&token=t", 200, "form button"),
    ("/api/verify-email/resend/", 405, "form input[name=email]"),
    ("/api/health/", 200, "text=database"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        # A failure under REQUIRE_FULL_STACK=1 (devstack.full_stack).
        pytest.skip("Chromium is not installed (apt-get install chromium): browser test not run")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
        )
        yield browser
        browser.close()


@dataclass
class Logged:
    text: str
    url: str


class Visit:
    """A page of its own, recording every request it makes and every error it logs."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.errors: list[Logged] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.errors.append(Logged(str(error), page.url)))

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(Logged(message.text, message.location.get("url", "")))

    def open(self, path: str, drawn: str) -> Response:
        """Load `path`, wait until `drawn` is in the page and the network is idle again."""
        response = self.page.goto(path, wait_until="networkidle")
        self.page.wait_for_selector(drawn, state="attached")
        self.page.wait_for_load_state("networkidle")
        return response

    def errors_but_the_status_of(self, response: Response) -> list[Logged]:
        """The errors logged, less Chromium's line about the page's own status (a 405 page),
        which the test checks itself."""
        own_status = (
            f"Failed to load resource: the server responded with a status of {response.status} "
        )
        return [
            error
            for error in self.errors
            if not (error.url == response.url and error.text.startswith(own_status))
        ]


def foreign(urls: list[str], origin: str) -> list[str]:
    """The URLs that name another host than `origin` (a blob: URL carries its origin)."""
    netloc = urlsplit(origin).netloc
    return [
        url
        for url in urls
        if not url.startswith("data:") and urlsplit(url.removeprefix("blob:")).netloc != netloc
    ]


@pytest.fixture
def visit(browser: Browser, stack) -> Iterator[Visit]:
    context = browser.new_context(base_url=stack.url)
    try:
        yield Visit(context.new_page())
    finally:
        context.close()


@pytest.mark.parametrize(("path", "status", "drawn"), PAGES, ids=[path for path, *_ in PAGES])
def test_page_requests_nothing_from_another_host_and_logs_no_error(
    visit, stack, path, status, drawn
):
    response = visit.open(path, drawn)

    assert response.status == status
    assert foreign(visit.requests, stack.url) == []
    assert visit.errors_but_the_status_of(response) == []


def test_redoc_bundle_still_names_its_cdn_logo_that_the_page_keeps_out(visit):
    # Why redoc.html's script is there: without it, the test above sees this request. When a
    # ReDoc release stops naming it, the script can go.
    visit.open("/api/redoc/", "text=API docs by Redocly")

    bundle = next(url for url in visit.requests if "redoc.standalone" in url)
    assert "https://cdn.redoc.ly/redoc/logo-mini.svg" in visit.page.request.get(bundle).text()


def example_body(schema: dict, path: str) -> dict:
    """The request example an operation's docs show (and Swagger UI's Try it out sends)."""
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    (example,) = content["examples"].values()
    return example["value"]


@pytest.fixture
def example_user(gateway) -> Iterator[dict]:
    """The login of the docs' examples; the account, once made, is deleted afterwards (the
    walkthrough registers the same email)."""
    schema = gateway.get("/api/schema/", params={"format": "json"}).json()
    login = example_body(schema, "/api/login/")
    yield login
    tokens = gateway.post("/api/login/", json=login)
    if tokens.status_code == 200:
        deleted = gateway.request(
            "DELETE",
            "/api/me/",
            json={"current_password": login["password"]},
            headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        )
        assert deleted.status_code == 204


def test_swaggers_try_it_out_registers_and_logs_in_with_the_example_bodies(
    visit, stack, example_user
):
    visit.open("/api/docs/", ".opblock")

    for block_id, status in (
        ("operations-account-register", "201"),
        ("operations-tokens-login", "200"),
    ):
        block = visit.page.locator(f"#{block_id}")
        block.locator(".opblock-summary").click()
        block.get_by_role("button", name="Try it out").click()
        block.get_by_role("button", name="Execute").click()
        expect(
            block.locator(".live-responses-table tr.response td.response-col_status")
        ).to_have_text(status)

    assert foreign(visit.requests, stack.url) == []
    assert visit.errors == []

"""Browser tests: Debian's Chromium, driven by Playwright, against a real server (`processcafe
serve` on a free port, tests/system/server.py). Playwright never downloads a browser here; the
tests use /usr/bin/chromium (`.ci/run` installs it when it is missing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import requests

from tests.conftest import DIAGRAMS, ROOT
from tests.system.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
# the README's screenshots are rewritten only on request, so a test run leaves the checkout as it was
SCREENSHOTS = (ROOT / "docs" / "screenshots" if os.environ.get("PROCESSCAFE_SCREENSHOTS") == "update"
               else Path(tempfile.gettempdir()) / "processcafe-screenshots")
WEB_DIAGRAMS = DIAGRAMS / "web"
CLERK, CLERK_PASSWORD = "carol", "carol-web-password"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


class LiveCafe:
    """The running server, with an admin API session to prepare data."""

    def __init__(self, server: ServerProcess):
        self.server = server
        self.url = server.url
        self.api: requests.Session = server.session()

    def start(self, key: str, business_key: str | None = None, variables: dict | None = None) -> dict:
        body = {"definition_key": key, "business_key": business_key, "variables": variables or {}}
        response = self.api.post(self.url + "/api/v1/process-instances", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def instance(self, instance_id: str) -> dict:
        return self.api.get(f"{self.url}/api/v1/process-instances/{instance_id}").json()


@pytest.fixture(scope="package")
def live(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("web") / "data").start()
    try:
        live = LiveCafe(server)
        created = live.api.post(server.url + "/api/v1/users", json={
            "username": CLERK, "password": CLERK_PASSWORD, "groups": ["clerks"], "display_name": "Carol"})
        assert created.status_code == 201, created.text
        with open(WEB_DIAGRAMS / "registration.bpmn", "rb") as f:
            deployed = live.api.post(server.url + "/api/v1/deployments", files={"file": ("registration.bpmn", f)})
        assert deployed.status_code == 201, deployed.text
        yield live
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _page(browser, viewport: dict):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "Failed to load" not in msg.text
            else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.method == "GET"
            and r.request.resource_type != "document" else None)
    page.js_errors = errors
    return context, page


@pytest.fixture
def page(browser):
    context, page = _page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context, page = _page(browser, PHONE)
    yield page
    context.close()


def sign_in(page, live: LiveCafe, username: str = CLERK, password: str = CLERK_PASSWORD, path: str = "/") -> None:
    page.goto(live.url + path)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page, name: str, full_page: bool = True) -> None:
    """Saved under docs/screenshots/ (committed; the README shows them) when
    PROCESSCAFE_SCREENSHOTS=update, else in the temporary folder: taken either way."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def no_horizontal_scroll(page) -> None:
    width, client = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width <= client, f"{page.url} scrolls sideways at {client} px: content is {width} px wide"

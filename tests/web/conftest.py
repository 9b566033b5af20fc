"""Web pages through Flask's test client: a signed-in browser session with its CSRF token."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.conftest import make_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebClient:
    """A browser-like client: keeps the session cookie and sends the page's CSRF token."""

    def __init__(self, client):
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kw):
        response = self.client.get(path, **kw)
        match = CSRF.search(response.get_data(as_text=True))
        if match:
            self.csrf = match.group(1)
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=data, **kw)

    def sign_in(self, username: str, password: str | None = None):
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password or f"password-{username}"})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.get("/")
        return response

    def deploy(self, *paths: Path, expect: int = 201):
        self.get("/deploy")
        files = [(io.BytesIO(p.read_bytes()), p.name) for p in paths]
        response = self.post("/deploy", {"files": files}, content_type="multipart/form-data")
        assert response.status_code == expect, response.get_data(as_text=True)
        return response


@pytest.fixture
def web(app, cafe):
    """Factory: web('carol', groups=['clerks']) gives a signed-in client for a new user."""

    def factory(username: str, groups=(), admin: bool = False, sign_in: bool = True) -> WebClient:
        make_user(cafe, username, admin=admin, groups=groups)
        client = WebClient(app.test_client())
        if sign_in:
            client.sign_in(username)
        return client

    return factory


def text_of(response) -> str:
    return response.get_data(as_text=True)

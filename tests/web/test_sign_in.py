"""Signing in to the web pages: the session cookie, rate-limited wrong passwords, CSRF on every
form, and an API that does not accept the browser's session cookie."""

from __future__ import annotations

import re

import pytest

from server.auth import forget_cached_logins
from server.services import identity
from tests.web.conftest import CSRF, WebClient, text_of


def test_wrong_passwords_are_rate_limited(app, web):
    web("carol", sign_in=False)
    client = WebClient(app.test_client())
    client.get("/login")
    for _ in range(5):
        response = client.post("/login", {"username": "carol", "password": "not-her-password"})
        assert response.status_code == 401
        assert "Wrong user name or password." in text_of(response)
    blocked = client.post("/login", {"username": "carol", "password": "password-carol"})
    assert blocked.status_code == 429, "the right password must wait too once the limit is reached"
    assert "Too many failed sign-in attempts" in text_of(blocked)
    assert blocked.headers["Retry-After"]
    assert "processcafe_session" not in blocked.headers.get("Set-Cookie", "")

    web("dave", sign_in=False)  # another account from the same address is limited separately
    other = WebClient(app.test_client())
    other.get("/login")
    assert other.post("/login", {"username": "dave", "password": "password-dave"}).status_code == 302


def test_successful_sign_ins_are_not_counted(app, web):
    web("erin", sign_in=False)
    for _ in range(8):
        client = WebClient(app.test_client())
        client.sign_in("erin")


def test_sign_in_sets_a_strict_session_cookie_and_signs_out(app, web):
    web("carol", sign_in=False)
    client = WebClient(app.test_client())
    client.get("/login")
    response = client.post("/login", {"username": "carol", "password": "password-carol", "next": "/instances"})
    assert response.status_code == 302 and response.headers["Location"] == "/instances"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200

    assert client.post("/logout").status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")


def test_the_cookie_is_secure_over_https(app, web):
    web("carol", sign_in=False)
    client = app.test_client()
    page = client.get("/login", base_url="https://cafe.example")
    token = CSRF.search(text_of(page)).group(1)
    response = client.post("/login", base_url="https://cafe.example", headers={"Referer": "https://cafe.example/login"},
                           data={"username": "carol", "password": "password-carol", "csrf_token": token})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_wrong_password_message_and_no_open_redirect(app, web):
    web("carol", sign_in=False)
    client = WebClient(app.test_client())
    client.get("/login")
    response = client.post("/login", {"username": "carol", "password": "wrong-password"})
    assert response.status_code == 401
    assert 'role="alert"' in text_of(response) and "Wrong user name or password." in text_of(response)
    page = text_of(response)  # the name is kept, so the password field takes the focus
    assert re.search(r'<input id="password"[^>]*autofocus', page)
    assert not re.search(r'<input id="username"[^>]*autofocus', page)
    response = client.post("/login", {"username": "carol", "password": "password-carol",
                                      "next": "//evil.example/steal"})
    assert response.headers["Location"] == "/tasks"


def test_pages_need_a_session(app):
    client = app.test_client()
    response = client.get("/instances?status=running")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/instances?status%3Drunning"
    assert client.get("/tasks/updates.json").status_code == 401


def test_the_api_ignores_the_session_cookie(web):
    client = web("carol", groups=["clerks"])
    assert client.get("/").status_code == 200
    assert client.client.get("/api/v1/me").status_code == 401
    assert client.client.get("/api/v1/tasks").status_code == 401


@pytest.mark.parametrize("path", ["/login", "/logout", "/deploy", "/tasks/some-task/claim"])
def test_forms_without_the_csrf_token_are_refused(web, path):
    client = web("admin2", admin=True, groups=["admins"])
    response = client.post(path, {"username": "admin2", "password": "password-admin2"}, csrf=False)
    assert response.status_code == 400
    assert "security token" in text_of(response)
    assert client.get("/").status_code == 200, "still signed in: the refused form changed nothing"


def test_a_changed_password_ends_the_session(web, cafe):
    client = web("carol")
    assert client.get("/").status_code == 200
    with cafe.db.transaction() as session:
        identity.get_user(session, "carol").password_hash = identity.hash_password("a-new-password")
    forget_cached_logins()
    assert client.get("/").status_code == 302

"""Authentication comes first and cannot be guessed around: every native API operation answers an
anonymous or wrongly authenticated caller 401 before it reads any input, and HTTP Basic (on the
API and on /engine-rest) is limited like the web's sign-in form, so it is no way to guess
passwords without end (server/auth.py)."""

from __future__ import annotations

import base64
import re

import pytest

from server.services import identity

PUBLIC = {"/api/v1/openapi.json", "/feeds/{stream}.atom"}
# values that fail the path checks (server/api/limits.py) or name nothing
BAD_IDS = {"instance_id": "not-a-uuid", "task_id": "x", "review_id": "1", "deployment_id": "y",
           "media_id": "z", "item_id": "99999999999999999999", "definition_id": "nope:1", "name": "nope",
           "stream": "nonsense", "username": "nobody", "token_id": "x", "group": "nogroup"}


def operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete") and path not in PUBLIC:
                yield method.upper(), re.sub(r"\{(\w+)\}", lambda m: BAD_IDS[m.group(1)], path)


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer pc_not-a-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Token abc"},
    {"Authorization": "Basic !!!not-base64"},
], ids=["anonymous", "unknown-token", "empty-token", "other-scheme", "broken-basic"])
def test_every_operation_answers_401_before_looking_at_its_input(app, headers):
    client = app.test_client()
    seen = 0
    for method, path in operations(client):
        # an empty JSON body misses required fields (422 once authenticated) and the ids are malformed (404)
        response = client.open(path, method=method, json={}, headers=headers)
        assert response.status_code == 401, (method, path, response.get_json())
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "Bearer" in response.headers["WWW-Authenticate"]
        seen += 1
    assert seen > 40


def test_a_token_of_a_deactivated_user_is_refused(app, cafe, user_api):
    uma = user_api("uma")
    assert uma.get("/api/v1/me").status_code == 200
    with cafe.db.transaction() as session:
        identity.get_user(session, "uma").active = False
    from server.auth import forget_cached_logins
    forget_cached_logins()  # what another process sees after its half minute
    assert uma.get("/api/v1/me").status_code == 401
    assert uma.post("/api/v1/process-instances", json={}).status_code == 401


def test_failed_basic_logins_are_limited_like_the_sign_in_form(app, cafe, user_api):
    user_api("uma")  # password "password-uma"
    client = app.test_client()
    for n in range(5):  # the default limit: 5 failures a minute per user name and address
        assert client.get("/api/v1/me", headers=basic("uma", f"guess-{n}")).status_code == 401
    blocked = client.get("/api/v1/me", headers=basic("uma", "guess-5"))
    assert blocked.status_code == 429, blocked.get_json()
    assert blocked.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # the right password does not get through while the name is blocked, on either API
    assert client.get("/api/v1/me", headers=basic("uma", "password-uma")).status_code == 429
    assert client.get("/engine-rest/task", headers=basic("uma", "password-uma")).status_code == 429
    # the name's case does not make a fresh counter
    assert client.get("/api/v1/me", headers=basic("UMA", "guess-6")).status_code == 429
    # another account from the same address still signs in, and tokens are not affected
    user_api("ivo")
    assert client.get("/api/v1/me", headers=basic("ivo", "password-ivo")).status_code == 200
    assert user_api("uma").get("/api/v1/me").status_code == 200


def test_failed_basic_logins_are_limited_per_address_across_user_names(app, settings):
    client = app.test_client()
    statuses = [client.get("/engine-rest/task", headers=basic(f"nobody{n}", "x")).status_code
                for n in range(61)]  # the default: 60 failures an hour per address
    assert statuses[:60] == [401] * 60
    assert statuses[60] == 429
    other = app.test_client()
    answer = other.get("/api/v1/me", headers=basic("nobody99", "x"),
                       environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    assert answer.status_code == 401  # counted per address


def test_a_remembered_basic_login_keeps_working_while_guessers_are_blocked(app, user_api):
    user_api("uma")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=basic("uma", "password-uma")).status_code == 200
    for n in range(6):
        client.get("/api/v1/me", headers=basic("uma", f"guess-{n}"))
    assert client.get("/api/v1/me", headers=basic("uma", "guess-9")).status_code == 429
    # the owner's client, which signed in before, goes on (its credentials are remembered)
    assert client.get("/api/v1/me", headers=basic("uma", "password-uma")).status_code == 200

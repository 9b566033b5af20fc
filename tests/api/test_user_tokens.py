"""API tokens: created with a lifetime (the server's default and maximum, or the caller's choice),
listed without their secret, and revoked so that they stop working at once in the server process
that revoked them, although it remembers tokens for half a minute (server/auth.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from server.app import create_app
from server.auth import forget_logins_of
from server.config import Settings
from server.models import ApiToken
from server.services import identity
from tests.api.engine_support import problem
from tests.conftest import Api

TOKENS = "/api/v1/tokens"


def days_from_now(text: str) -> float:
    return (datetime.fromisoformat(text) - datetime.now(timezone.utc)) / timedelta(days=1)


def bearer(app, token: str) -> Api:
    return Api(app.test_client(), token)


def test_a_new_token_expires_after_the_default_lifetime_or_the_days_asked(app, user_api):
    uma = user_api("uma")
    default = uma.post(TOKENS, json={"name": "laptop"})
    assert default.status_code == 201, default.get_json()
    made = default.get_json()
    assert made["token"].startswith("pc_") and made["username"] == "uma" and made["expired"] is False
    assert 89.9 < days_from_now(made["expires_at"]) <= 90  # PROCESSCAFE_TOKEN_DAYS
    assert bearer(app, made["token"]).get("/api/v1/me").status_code == 200

    week = uma.post(TOKENS, json={"name": "ci", "expires_in_days": 7}).get_json()
    assert 6.9 < days_from_now(week["expires_at"]) <= 7
    forever = uma.post(TOKENS, json={"name": "kiosk", "expires_in_days": None}).get_json()
    assert forever["expires_at"] is None  # no maximum is set on this server
    for days in (0, -1, 36_501, "soon"):
        assert "expires_in_days" in problem(uma.post(TOKENS, json={"expires_in_days": days}), 422)["detail"]


def test_the_server_maximum_bounds_every_token(settings, tmp_path):
    app = create_app(replace(settings, token_days=0, token_max_days=30).resolved())
    try:
        cafe = app.extensions["processcafe"]
        with cafe.db.transaction() as session:
            token = identity.create_token(session, identity.create_user(session, "uma", "password-uma"))
        uma = bearer(app, token)
        # "never" as the default becomes the maximum
        assert 29.9 < days_from_now(uma.post(TOKENS, json={}).get_json()["expires_at"]) <= 30
        assert uma.post(TOKENS, json={"expires_in_days": 30}).status_code == 201
        for days in (31, None):
            refused = problem(uma.post(TOKENS, json={"expires_in_days": days}), 422)
            assert "30 days" in refused["detail"] and "PROCESSCAFE_TOKEN_MAX_DAYS" in refused["detail"]
    finally:
        app.extensions["processcafe"].runner.stop()
        app.extensions["processcafe"].db.dispose()


def test_token_lifetimes_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROCESSCAFE_DATA", str(tmp_path))
    monkeypatch.setenv("PROCESSCAFE_TOKEN_DAYS", "400")
    monkeypatch.setenv("PROCESSCAFE_TOKEN_MAX_DAYS", "365")
    settings = Settings.from_env()
    assert (settings.token_days, settings.token_max_days) == (365, 365)  # the default within the maximum
    monkeypatch.setenv("PROCESSCAFE_TOKEN_MAX_DAYS", "-1")
    with pytest.raises(ValueError, match="PROCESSCAFE_TOKEN_MAX_DAYS"):
        Settings.from_env()


def test_an_expired_token_is_refused(app, cafe, user_api):
    uma = user_api("uma")
    made = uma.post(TOKENS, json={"name": "short", "expires_in_days": 1}).get_json()
    with cafe.db.transaction() as session:
        session.get(ApiToken, made["id"]).expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert bearer(app, made["token"]).get("/api/v1/me").status_code == 401
    [listed] = [t for t in uma.get("/api/v1/users/uma/tokens").get_json()["items"] if t["id"] == made["id"]]
    assert listed["expired"] is True


def test_tokens_are_listed_without_their_secret(user_api, admin_api):
    uma = user_api("uma")  # and her token "test"
    made = uma.post(TOKENS, json={"name": "laptop", "expires_in_days": 5}).get_json()
    listed = uma.get("/api/v1/users/uma/tokens").get_json()["items"]
    assert [t["name"] for t in listed] == ["laptop", "test"]  # newest first
    assert set(listed[0]) == {"id", "name", "created_at", "expires_at", "expired"}
    assert listed[0]["id"] == made["id"] and listed[0]["expires_at"] == made["expires_at"]
    assert admin_api.get("/api/v1/users/uma/tokens").get_json() == {"items": listed}
    assert "'ghost'" in problem(admin_api.get("/api/v1/users/ghost/tokens"), 404)["detail"]


def test_a_revoked_token_stops_working_at_once(app, user_api, admin_api):
    uma = user_api("uma")
    made = uma.post(TOKENS, json={"name": "leaked"}).get_json()
    leaked = bearer(app, made["token"])
    assert leaked.get("/api/v1/me").status_code == 200  # remembered by this process from now on

    assert uma.delete(f"/api/v1/users/uma/tokens/{made['id']}").status_code == 204
    assert leaked.get("/api/v1/me").status_code == 401
    assert uma.get("/api/v1/me").status_code == 200, "her other tokens go on"
    assert made["id"] not in [t["id"] for t in uma.get("/api/v1/users/uma/tokens").get_json()["items"]]
    gone = problem(uma.delete(f"/api/v1/users/uma/tokens/{made['id']}"), 404)
    assert f"no token '{made['id']}'" in gone["detail"]

    # an admin revokes anyone's
    second = bearer(app, uma.post(TOKENS, json={"name": "second"}).get_json()["token"])
    second_id = uma.get("/api/v1/users/uma/tokens").get_json()["items"][0]["id"]
    assert second.get("/api/v1/me").status_code == 200
    assert admin_api.delete(f"/api/v1/users/uma/tokens/{second_id}").status_code == 204
    assert second.get("/api/v1/me").status_code == 401


def test_a_token_is_revoked_only_under_its_own_user(user_api, admin_api):
    uma, ivo = user_api("uma"), user_api("ivo")
    made = uma.post(TOKENS, json={"name": "mine"}).get_json()
    assert "other users" in problem(ivo.delete(f"/api/v1/users/uma/tokens/{made['id']}"), 403)["detail"]
    # ivo's path with uma's token id: not his token, whoever asks
    problem(ivo.delete(f"/api/v1/users/ivo/tokens/{made['id']}"), 404)
    problem(admin_api.delete(f"/api/v1/users/ivo/tokens/{made['id']}"), 404)
    for not_an_id in ("not-a-number", "99999999999", "1" * 30, "-1"):
        problem(admin_api.delete(f"/api/v1/users/uma/tokens/{not_an_id}"), 404)
    assert "'ghost'" in problem(admin_api.delete(f"/api/v1/users/ghost/tokens/{made['id']}"), 404)["detail"]
    assert bearer(uma.client.application, made["token"]).get("/api/v1/me").status_code == 200


def test_a_lookup_under_way_while_its_token_is_revoked_is_not_remembered(app, cafe, user_api):
    """The token is read as valid, then revoked (committed, logins forgotten) before the request
    that read it remembers it: that stale answer must not be kept for half a minute."""
    uma = user_api("uma")
    made = uma.post(TOKENS, json={"name": "racing"}).get_json()
    revoked = []

    def revoke_meanwhile(conn, cursor, statement, *args):
        if "api_tokens" in statement and not revoked:
            revoked.append(True)
            with cafe.db.transaction() as session:
                identity.revoke_token(session, made["id"])
            forget_logins_of("uma")  # what the revoking view does after its commit

    event.listen(cafe.db.read_engine, "after_cursor_execute", revoke_meanwhile)
    try:
        racing = bearer(app, made["token"])
        assert racing.get("/api/v1/me").status_code in (200, 401)  # read before or after: either is fair
    finally:
        event.remove(cafe.db.read_engine, "after_cursor_execute", revoke_meanwhile)
    assert revoked
    assert racing.get("/api/v1/me").status_code == 401

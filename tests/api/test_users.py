"""Managing users through the API: reading accounts, locking people out and letting them back in,
passwords and group membership. A change that takes access away holds from the next request on in
the server process that made it, although that process remembers logins for up to a minute
(server/auth.py), for tokens, Basic logins and browser sessions alike."""

from __future__ import annotations

import base64

import pytest

from tests.api.engine_support import diagram, problem
from tests.web.conftest import WebClient

USERS = "/api/v1/users"


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def me(app, headers: dict) -> int:
    return app.test_client().get("/api/v1/me", headers=headers).status_code


def test_admins_list_and_read_users_and_a_user_reads_only_themselves(admin_api, user_api):
    uma = user_api("uma", groups=["clerks"])
    user_api("ivo")
    listed = admin_api.get(USERS).get_json()["items"]
    assert [u["username"] for u in listed] == ["admin", "ivo", "uma"]
    own = uma.get(f"{USERS}/uma").get_json()
    assert own["groups"] == ["clerks"] and own["active"] is True and own["created_at"]
    assert "password" not in own and "password_hash" not in own
    refused = problem(uma.get(f"{USERS}/ivo"), 403)
    assert "other users" in refused["detail"]
    # a plain user's 403 does not depend on whether the name exists
    assert problem(uma.get(f"{USERS}/nobody"), 403)["detail"] == refused["detail"]
    assert "'nobody'" in problem(admin_api.get(f"{USERS}/nobody"), 404)["detail"]


def test_deactivating_locks_a_user_out_at_once_and_activating_lets_them_back(app, admin_api, user_api):
    uma = user_api("uma")
    client = WebClient(app.test_client())
    client.sign_in("uma")
    # remembered by this process: the token, the Basic login and the browser session
    assert uma.get("/api/v1/me").status_code == 200
    assert me(app, basic("uma", "password-uma")) == 200
    assert client.get("/").status_code == 200

    locked = admin_api.post(f"{USERS}/uma/deactivate")
    assert locked.status_code == 200 and locked.get_json()["active"] is False
    assert uma.get("/api/v1/me").status_code == 401
    assert me(app, basic("uma", "password-uma")) == 401
    assert client.get("/").status_code == 302  # back to the sign-in page
    assert admin_api.get(f"{USERS}/uma").get_json()["active"] is False
    # deactivating twice changes nothing and is no error
    assert admin_api.post(f"{USERS}/uma/deactivate", json={}).status_code == 200

    assert admin_api.post(f"{USERS}/uma/activate").get_json()["active"] is True
    assert uma.get("/api/v1/me").status_code == 200  # the same token works again
    assert me(app, basic("uma", "password-uma")) == 200


def test_an_admin_cannot_lock_themselves_out_and_unknown_users_are_named(admin_api, user_api):
    refused = problem(admin_api.post(f"{USERS}/admin/deactivate"), 409)
    assert "themselves" in refused["detail"]
    assert admin_api.get("/api/v1/me").get_json()["active"] is True
    assert "'ghost'" in problem(admin_api.post(f"{USERS}/ghost/deactivate"), 404)["detail"]
    assert "'ghost'" in problem(admin_api.post(f"{USERS}/ghost/activate"), 404)["detail"]
    problem(admin_api.post(f"{USERS}/admin/deactivate", json={"active": False}), 422)  # no body fields
    # another admin can be deactivated by an admin
    user_api("root2", admin=True, groups=["admins"])
    assert admin_api.post(f"{USERS}/root2/deactivate").get_json()["active"] is False


def test_changing_ones_own_password_needs_the_current_one(app, user_api):
    uma = user_api("uma")
    url = f"{USERS}/uma/password"
    assert me(app, basic("uma", "password-uma")) == 200  # remembered from now on
    missing = problem(uma.put(url, json={"password": "a-new-secret"}), 422)
    assert "current_password" in missing["detail"]
    wrong = problem(uma.put(url, json={"password": "a-new-secret", "current_password": "guess"}), 403)
    assert "current_password" in wrong["detail"]
    assert me(app, basic("uma", "password-uma")) == 200, "refused changes change nothing"

    changed = uma.put(url, json={"password": "a-new-secret", "current_password": "password-uma"})
    assert changed.status_code == 204, changed.get_json()
    assert me(app, basic("uma", "password-uma")) == 401  # the remembered old login is forgotten
    assert me(app, basic("uma", "a-new-secret")) == 200
    assert uma.get("/api/v1/me").status_code == 200  # tokens are not passwords: they stay


@pytest.mark.parametrize(("password", "rule"), [
    ("", "at least 8 characters"),
    ("short", "at least 8 characters"),
    ("UmaUmaUma", "not be the user name"),
])
def test_a_weak_password_is_refused_with_the_rule(app, admin_api, user_api, password, rule):
    user_api("umaumauma")
    refused = problem(admin_api.put(f"{USERS}/umaumauma/password", json={"password": password}), 422)
    assert rule in refused["detail"]
    assert me(app, basic("umaumauma", "password-umaumauma")) == 200


def test_an_admin_sets_anyones_password_without_the_current_one(app, admin_api, user_api):
    user_api("uma")
    client = WebClient(app.test_client())
    client.sign_in("uma")
    assert admin_api.put(f"{USERS}/uma/password", json={"password": "reset-by-admin"}).status_code == 204
    assert me(app, basic("uma", "reset-by-admin")) == 200
    assert client.get("/").status_code == 302, "the new password ends the user's browser sessions"
    # a current password the admin does give is checked
    problem(admin_api.put(f"{USERS}/uma/password", json={"password": "x" * 12, "current_password": "no"}), 403)
    assert "'ghost'" in problem(admin_api.put(f"{USERS}/ghost/password", json={"password": "x" * 12}), 404)["detail"]
    # admins change their own with the current one, as everybody does
    problem(admin_api.put(f"{USERS}/admin/password", json={"password": "x" * 12}), 422)


def test_guessing_the_current_password_counts_against_the_sign_in_limits(user_api):
    uma = user_api("uma")
    url = f"{USERS}/uma/password"
    for n in range(5):  # the default limit: 5 failures a minute per user name and address
        problem(uma.put(url, json={"password": "a-new-secret", "current_password": f"guess-{n}"}), 403)
    blocked = problem(uma.put(url, json={"password": "a-new-secret", "current_password": "password-uma"}), 429)
    assert "too many" in blocked["detail"]


def test_group_membership_changes_what_a_user_sees_at_once(app, admin_api, user_api):
    admin_api.deploy(diagram("claims.bpmn"))
    [task] = admin_api.start("claims")["tasks"]  # a task for the group "clerks"
    uma = user_api("uma")
    assert uma.get(f"/api/v1/tasks/{task['id']}").status_code == 404  # uma's groups are now remembered

    added = admin_api.put("/api/v1/groups/clerks/members/uma")
    assert added.status_code == 200 and added.get_json()["groups"] == ["clerks"]
    assert uma.get(f"/api/v1/tasks/{task['id']}").status_code == 200
    groups = admin_api.get("/api/v1/groups").get_json()["items"]
    assert {"name": "clerks", "members": ["uma"]} in groups
    assert admin_api.put("/api/v1/groups/clerks/members/uma").get_json()["groups"] == ["clerks"]  # once

    assert admin_api.delete("/api/v1/groups/clerks/members/uma").status_code == 204
    assert uma.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert admin_api.delete("/api/v1/groups/clerks/members/uma").status_code == 204  # not a member: no-op


def test_group_membership_names_what_is_wrong(admin_api, user_api):
    user_api("uma")
    assert "'ghost'" in problem(admin_api.put("/api/v1/groups/clerks/members/ghost"), 404)["detail"]
    assert "'nogroup'" in problem(admin_api.delete("/api/v1/groups/nogroup/members/uma"), 404)["detail"]
    assert "group name" in problem(admin_api.put("/api/v1/groups/bad%20name/members/uma"), 400)["detail"]
    assert admin_api.get(f"{USERS}/uma").get_json()["groups"] == []

"""`processcafe user ...` and `processcafe token ...`: what an operator does from a shell (or a
script) to lock someone out, reset a password or stop a leaked token, checked against the API of
an app on the same database."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from server.auth import forget_cached_logins
from server.cli import main
from tests.conftest import Api, make_user


@pytest.fixture
def cli(monkeypatch, settings):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROCESSCAFE_DATA", str(settings.data_dir))
    monkeypatch.setenv("PROCESSCAFE_JOB_RUNNER", "none")
    monkeypatch.delenv("PROCESSCAFE_NEW_PASSWORD", raising=False)

    def run(*args: str, stdin: str | None = None, env: dict | None = None):
        return CliRunner().invoke(main, list(args), input=stdin, env=env)

    return run


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def error(result) -> str:
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    return result.output


def signs_in(app, username: str, password: str) -> bool:
    """What another server process sees once its remembered logins have expired."""
    forget_cached_logins()
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Basic {auth}"}).status_code == 200


def test_list_deactivate_and_activate_users(cli, app, cafe):
    make_user(cafe, "admin", admin=True, groups=["admins"])
    token = make_user(cafe, "uma", groups=["clerks"])
    assert ok(cli("user", "list")).splitlines() == ["admin\tactive\tadmin\tadmins", "uma\tactive\tuser\tclerks"]
    assert "user uma deactivated" in ok(cli("user", "deactivate", "uma"))
    assert "uma\tdeactivated\tuser\tclerks" in ok(cli("user", "list"))
    forget_cached_logins()
    assert Api(app.test_client(), token).get("/api/v1/me").status_code == 401
    assert not signs_in(app, "uma", "password-uma")
    ok(cli("user", "activate", "uma"))
    assert Api(app.test_client(), token).get("/api/v1/me").status_code == 200
    assert "Error: no user 'ghost'" in error(cli("user", "deactivate", "ghost"))


def test_the_last_active_admin_cannot_be_deactivated(cli, cafe):
    make_user(cafe, "admin", admin=True, groups=["admins"])
    assert "last active administrator" in error(cli("user", "deactivate", "admin"))
    make_user(cafe, "root", admin=True)
    ok(cli("user", "deactivate", "admin"))
    assert "last active administrator" in error(cli("user", "deactivate", "root"))
    assert "root\tactive\tadmin" in ok(cli("user", "list"))


def test_set_a_password_by_prompt_standard_input_or_environment(cli, app, cafe):
    make_user(cafe, "uma")
    ok(cli("user", "password", "uma", stdin="prompted-pw\nprompted-pw\n"))
    assert signs_in(app, "uma", "prompted-pw") and not signs_in(app, "uma", "password-uma")
    assert "password of uma changed" in ok(cli("user", "password", "uma", "--stdin", stdin="from-stdin-pw\n"))
    assert signs_in(app, "uma", "from-stdin-pw")
    ok(cli("user", "password", "uma", env={"PROCESSCAFE_NEW_PASSWORD": "from-env-pw"}))
    assert signs_in(app, "uma", "from-env-pw")
    assert "at least 8 characters" in error(cli("user", "password", "uma", "--stdin", stdin="short\n"))
    assert signs_in(app, "uma", "from-env-pw"), "a refused password changes nothing"


def test_create_list_and_revoke_tokens(cli, app, cafe):
    make_user(cafe, "uma")
    created = CliRunner().invoke(main, ["token", "create", "uma", "--name", "ci", "--expires-in-days", "7"])
    token = ok(created).splitlines()[0]
    assert token.startswith("pc_")
    assert Api(app.test_client(), token).get("/api/v1/me").status_code == 200
    rows = [line.split("\t") for line in ok(cli("token", "list", "uma")).splitlines()]
    [ci] = [row for row in rows if row[1] == "ci"]
    expires = datetime.strptime(ci[3], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    assert timedelta(days=6, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=7)
    assert token not in ok(cli("token", "list", "uma"))

    assert f"token {ci[0]} (ci) of uma revoked" in ok(cli("token", "revoke", ci[0]))
    forget_cached_logins()
    assert Api(app.test_client(), token).get("/api/v1/me").status_code == 401
    assert f"Error: no token '{ci[0]}'" in error(cli("token", "revoke", ci[0]))


def test_token_lifetimes_follow_the_server_settings(cli, cafe):
    make_user(cafe, "uma")
    ok(cli("token", "create", "uma", "--name", "default"))
    ok(cli("token", "create", "uma", "--name", "forever", "--never-expires"))
    lines = {row.split("\t")[1]: row.split("\t")[3] for row in ok(cli("token", "list", "uma")).splitlines()}
    assert lines["forever"] == "never" and lines["default"] != "never"
    capped = {"PROCESSCAFE_TOKEN_MAX_DAYS": "30"}
    assert "PROCESSCAFE_TOKEN_MAX_DAYS" in error(cli("token", "create", "uma", "--never-expires", env=capped))
    assert "30 days" in error(cli("token", "create", "uma", "--expires-in-days", "31", env=capped))
    both = cli("token", "create", "uma", "--expires-in-days", "3", "--never-expires")
    assert both.exit_code == 2 and "not both" in both.output

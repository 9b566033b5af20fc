"""The README's curl blocks (the walk-through, users, groups and tokens) work verbatim against a
freshly started server."""

import json
import re
import subprocess

import pytest
import requests

from tests.conftest import ROOT
from tests.system.server import ADMIN_PASSWORD, ServerProcess


def readme_block(marker: str) -> str:
    """The bash block that follows `<!-- marker -->` in the README."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)```", readme, re.S)
    assert match, f"the README lost its {marker} block"
    return match.group(1)


def walkthrough_script() -> str:
    return readme_block("walkthrough")


def run_in_bash(script: str, server: ServerProcess) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "CAFE": server.url, "PC_PASSWORD": ADMIN_PASSWORD},
    )


@pytest.mark.slow
def test_readme_walkthrough(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url, PROCESSCAFE_EXAMPLES="true").start()
    try:
        result = run_in_bash(walkthrough_script(), server)
        assert result.returncode == 0, result.stderr + result.stdout
        lines = result.stdout.splitlines()
        assert "completed" in lines
        assert "Order 17 confirmed" in lines
        assert "task_completed Task_review admin" in lines
        assert lines[-1].strip() == "ended"
    finally:
        server.stop()


@pytest.mark.slow
def test_readme_users_groups_and_tokens(tmp_path, database_url):
    """The users block runs in the walk-through's terminal, as the README says, and each call
    answers what its comment promises (bob had to exist before his deactivation, once)."""
    server = ServerProcess(tmp_path / "data", database_url, PROCESSCAFE_EXAMPLES="true").start()
    try:
        marker = "=== users block ==="
        result = run_in_bash(f"{walkthrough_script()}\necho '{marker}'\n{readme_block('users')}", server)
        assert result.returncode == 0, result.stderr + result.stdout
        out = result.stdout.split(marker, 1)[1].strip()
        assert '"detail"' not in out, out  # no problem document anywhere (an unknown bob, a short password...)
        created, deactivated, activated, token, listed, groups_after_put, groups = map(
            json.loads, re.findall(r"^\{.*\}$", out, re.M))
        assert (created["username"], created["active"]) == ("bob", True)
        assert (deactivated["active"], activated["active"]) == (False, True)
        assert (token["username"], token["token"] != "") == ("bob", True)
        assert [t["name"] for t in listed["items"]] == ["ci"] and "token" not in listed["items"][0]
        assert groups_after_put["groups"] == ["clerks"]
        assert {"name": "clerks", "members": []} in groups["items"]
        session = server.session()
        assert session.get(f"{server.url}/api/v1/users/bob/tokens", timeout=10).json()["items"] == []
        assert requests.get(f"{server.url}/api/v1/me", auth=("bob", "a-long-new-one"), timeout=10).ok
    finally:
        server.stop()

"""The README's curl walk-through works verbatim against a freshly started server."""

import re
import subprocess

import pytest

from tests.conftest import ROOT
from tests.system.server import ADMIN_PASSWORD, ServerProcess


def walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- walkthrough -->\s*```bash\n(.*?)```", readme, re.S)
    assert match, "the README lost its walk-through block"
    return match.group(1)


@pytest.mark.slow
def test_readme_walkthrough(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url, PROCESSCAFE_EXAMPLES="true").start()
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough_script()],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin:/usr/local/bin", "CAFE": server.url, "PC_PASSWORD": ADMIN_PASSWORD},
        )
        assert result.returncode == 0, result.stderr + result.stdout
        lines = result.stdout.splitlines()
        assert "completed" in lines
        assert "Order 17 confirmed" in lines
        assert "task_completed Task_review admin" in lines
        assert lines[-1].strip() == "ended"
    finally:
        server.stop()

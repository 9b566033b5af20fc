"""Dates in scripts: datetime's C code imports modules through the script's builtins."""

from __future__ import annotations

import pytest

from bpmn.sandbox import SandboxEnvironment, ScriptLimitExceeded, ScriptRejected


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment(time_limit=0.5)


def test_dates_format_and_parse_in_scripts(env):
    """strftime and strptime import modules from C code, through the script's builtins."""
    data = {"due": "2026-03-01 14:30"}
    env.execute(
        """
shown = datetime.strptime(due, "%Y-%m-%d %H:%M").strftime("%d.%m.%Y at %H:%M")
weekday = date(2026, 3, 2).strftime("%A")
month = datetime.strptime("Jan 2026", "%b %Y").date().isoformat()
""",
        data,
    )
    assert data["shown"] == "01.03.2026 at 14:30" and data["weekday"] == "Monday"
    assert data["month"] == "2026-01-01"


@pytest.mark.parametrize("script", ["m = __import__('time')", "m = getattr(date, '__import__')",
                                    "m = __builtins__['__import__']('os')"])
def test_the_import_for_library_code_is_out_of_scripts_reach(env, script):
    with pytest.raises((ScriptRejected, ScriptLimitExceeded, AttributeError)):
        env.execute(script, {})

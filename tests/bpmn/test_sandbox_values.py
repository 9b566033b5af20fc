"""What a script may leave in the task data: instance variables are JSON (bpmn/sandbox.py)."""

from __future__ import annotations

import pytest

from bpmn.sandbox import SandboxEnvironment


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment(time_limit=0.5)


@pytest.mark.parametrize(("script", "kind"), [
    ("due = datetime(2024, 1, 31)", "datetime"), ("money = Decimal('0.1')", "Decimal"), ("seen = {1, 2}", "set"),
    ("ratio = float('nan')", "Out of range float"), ("raw = b'x'", "bytes"), ("wait = timedelta(days=1)", "timedelta"),
    ("order['lines'].append(set())", "set"),
])
def test_a_script_that_leaves_a_value_json_cannot_hold_fails_naming_it(env, script, kind):
    """Instance variables are JSON: such a value would fail every later save of the instance."""
    data = {"order": {"lines": []}, "kept": 1}
    with pytest.raises(ValueError, match=kind) as raised:
        env.execute(script + "\nlater = 2", data)
    assert repr(script.split(" =")[0].split("[")[0]) in str(raised.value)
    assert "later" not in data and data["kept"] == 1  # names bound by the script are undone


def test_values_json_cannot_hold_may_live_inside_a_script(env):
    data = {}
    env.execute("when = datetime(2024, 1, 31)\nwhen = when.isoformat()\nseen = sorted({3, 1})", data)
    assert data == {"when": "2024-01-31T00:00:00", "seen": [1, 3]}

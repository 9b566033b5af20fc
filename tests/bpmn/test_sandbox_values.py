"""What a script may leave in the task data: instance variables are JSON (bpmn/sandbox.py)."""

from __future__ import annotations

import json

import pytest

from bpmn.json_values import depth_exceeds
from bpmn.sandbox import MAX_STORED_DEPTH, SandboxEnvironment


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment(time_limit=0.5)


@pytest.mark.parametrize(("script", "kind"), [
    ("due = datetime(2024, 1, 31)", "datetime"), ("money = Decimal('0.1')", "Decimal"), ("seen = {1, 2}", "set"),
    ("ratio = float('nan')", "Out of range float"), ("raw = b'x'", "bytes"), ("wait = timedelta(days=1)", "timedelta"),
    ("order['lines'].append(set())", "set"),
    ("nested = []\nfor i in range(100):\n    nested = [nested]", "deeper than 64 levels"),
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


@pytest.mark.parametrize("script", [
    "order['lines'].append({1, 2})",  # fails the storable check
    "order['lines'].append({1, 2})\n1 / 0",  # fails on its own, after the change in place
    "order['lines'].append(order['lines'])",  # a cycle
    "order['lines'].append(float('inf'))",
])
def test_a_failed_script_leaves_data_json_can_hold_even_after_changes_in_place(env, script):
    """The undo covers names only: what the script put into an existing list stays, as text where
    JSON cannot hold it, so the instance's error state can be saved."""
    data = {"order": {"lines": ["first"]}, "kept": 1}
    with pytest.raises((ValueError, ZeroDivisionError)):
        env.execute(script, data)
    stored = json.loads(json.dumps(data, allow_nan=False))
    assert stored["kept"] == 1 and stored["order"]["lines"][0] == "first"
    assert len(stored["order"]["lines"]) == 2 and isinstance(stored["order"]["lines"][1], str)


def test_mended_values_keep_what_json_can_hold_and_name_the_rest(env):
    data = {"order": {"lines": []}}
    with pytest.raises(ValueError):
        env.execute("order['lines'].append({(1, 2): {3}, 'n': 4, 'when': date(2024, 1, 31)})", data)
    assert data == {"order": {"lines": [{"(1, 2)": "{3}", "n": 4, "when": "datetime.date(2024, 1, 31)"}]}}


def test_a_failed_script_that_nested_an_existing_list_too_deep_leaves_it_cut_at_the_limit(env):
    """A state nested a few hundred levels deep fails to load: the instance could not be touched again."""
    data = {"order": {"lines": []}}
    with pytest.raises(ValueError, match="deeper than"):
        env.execute("y = []\nfor i in range(500):\n    y = [y]\norder['lines'].append(y)", data)
    assert not depth_exceeds(data, MAX_STORED_DEPTH + 1)

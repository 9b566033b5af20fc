"""An instance starts through one start event (bpmn/catch_events._OneStartEvent)."""

from __future__ import annotations

import pytest

from bpmn.catch_events import start_through, start_through_event
from bpmn.definitions import parse_deployment
from bpmn.engine import CafeScriptEngine
from bpmn.runtime import ProcessRun
from bpmn.serializer import serializer_for
from tests.api.test_timer_schedules import two_starts

MESSAGE = '<bpmn:messageEventDefinition messageRef="m_go"/>'


def _new(xml: bytes) -> ProcessRun:
    [process] = parse_deployment([("p.bpmn", xml)]).processes
    specs = serializer_for(process.dialect).load_specs(process.specs_json)
    return ProcessRun.start(specs, process.dialect, CafeScriptEngine(process.dialect), {})


def test_by_hand_the_plain_start_event_only():
    run = _new(two_starts("p", MESSAGE))
    outcome = run.advance()
    assert [t.bpmn_id for t in outcome.user_tasks] == ["work"] and outcome.messages == []


@pytest.mark.parametrize("choose", [lambda wf: start_through(wf, "other"), lambda wf: start_through_event(wf, "go")])
def test_through_a_message_start_event_beside_a_plain_one(choose):
    """What a start by message needs (the server's message start does not choose yet)."""
    run = _new(two_starts("p", MESSAGE, first="plain"))
    assert choose(run.workflow)
    outcome = run.advance()
    assert outcome.user_tasks == [] and [m.name for m in outcome.messages] == ["go"]
    run.deliver_message("go", {"x": 1})
    outcome = run.advance()
    assert outcome.status == "completed" and run.variables() == {"x": 1, "other_ran": True}

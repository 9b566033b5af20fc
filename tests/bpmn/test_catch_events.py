"""Catch-event rules at the engine level (bpmn/catch_events.py): what the API tests cannot reach."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bpmn.definitions import parse_deployment
from bpmn.engine import CafeScriptEngine
from bpmn.runtime import ProcessRun
from bpmn.serializer import serializer_for

ENGINE = Path(__file__).resolve().parent.parent / "diagrams" / "engine"


def _started(name: str, variables: dict) -> tuple[ProcessRun, Callable[[ProcessRun], ProcessRun]]:
    path = ENGINE / name
    [process] = parse_deployment([(path.name, path.read_bytes())]).processes
    specs = serializer_for(process.dialect).load_specs(process.specs_json)
    run = ProcessRun.start(specs, process.dialect, CafeScriptEngine(process.dialect), variables)
    run.advance()

    def reload(current: ProcessRun) -> ProcessRun:
        return ProcessRun.load(current.dump(), specs, process.dialect, CafeScriptEngine(process.dialect))

    return reload(run), reload


def test_a_caught_message_survives_a_save_before_the_gateway_runs():
    """The gateway keeps the caught Camunda message in its state: it must serialize and match again."""
    run, reload = _started("event_gateway_race.bpmn", {"patience": "PT1H"})
    assert run.deliver_message("m_answer", {"x": 1}, {"x": 1}) == "answered"
    run = reload(run)  # saved between the catch and the step that runs the gateway
    outcome = run.advance()
    assert [t.bpmn_id for t in outcome.user_tasks] == ["by_message"]
    assert run.variables()["x"] == 1 and "answered_Response" not in run.variables()


def test_a_message_caught_before_the_change_keeps_its_response_variable():
    """State written by the old catch names `<id>_Response` itself: that instance still gets it."""
    run, _ = _started("event_gateway_race.bpmn", {"patience": "PT1H"})
    run.deliver_message("m_answer", {"x": 1})
    [gateway] = [t for t in run.workflow.get_tasks() if t.task_spec.bpmn_id == "gw"]
    for event in gateway.internal_data["seen_events"]:  # the old catch wrote its default into the event
        event.payload["result_var"] = "answered_Response"
    run.advance()
    assert run.variables()["answered_Response"] == {"x": 1}

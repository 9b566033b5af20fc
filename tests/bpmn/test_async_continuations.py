"""Transaction boundaries in the engine step (bpmn/async_continuations.py): which diagrams have
them, that a held task stays held across save and load until a continuation passes it, and the
ways a task completes from outside (an external task's answer)."""

from __future__ import annotations

from bpmn.definitions import parse_deployment
from bpmn.dialect import Dialect
from bpmn.engine import CafeScriptEngine
from bpmn.runtime import ProcessRun
from bpmn.serializer import SpecBundle, serializer_for
from tests.api.test_async_continuations import SLOW_STEP, camunda_diagram, flows, script

SPIFF_WITH_CAMUNDA_ATTRIBUTE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_s"
                  targetNamespace="http://processcafe.test/async">
  <bpmn:process id="s" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="slow" camunda:asyncBefore="true">
      <bpmn:extensionElements><spiffworkflow:postScript>after = 1</spiffworkflow:postScript></bpmn:extensionElements>
      <bpmn:script>slow_runs = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="slow"/>
    <bpmn:sequenceFlow id="f2" sourceRef="slow" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _specs(xml: bytes) -> tuple[SpecBundle, Dialect]:
    [process] = parse_deployment([("p.bpmn", xml)]).processes
    return serializer_for(process.dialect).load_specs(process.specs_json), process.dialect


def _start(xml: bytes, variables: dict) -> ProcessRun:
    specs, dialect = _specs(xml)
    return ProcessRun.start(specs, dialect, CafeScriptEngine(dialect), variables)


def _reload(run: ProcessRun, xml: bytes) -> ProcessRun:
    specs, dialect = _specs(xml)
    return ProcessRun.load(run.dump(), specs, dialect, CafeScriptEngine(dialect))


def test_only_camunda_diagrams_with_a_true_attribute_have_boundaries():
    assert _specs(camunda_diagram("p", SLOW_STEP))[0].has_async_boundaries
    off = SLOW_STEP.replace('camunda:asyncBefore="true"', 'camunda:asyncBefore="false"')
    assert not _specs(camunda_diagram("p", off))[0].has_async_boundaries
    specs, dialect = _specs(SPIFF_WITH_CAMUNDA_ATTRIBUTE)
    assert dialect is Dialect.SPIFF and not specs.has_async_boundaries


def test_a_spiff_diagram_runs_through_a_camunda_attribute_it_does_not_read():
    run = _start(SPIFF_WITH_CAMUNDA_ATTRIBUTE, {})
    outcome = run.advance()
    assert outcome.status == "completed" and run.variables()["slow_runs"] == 1


def test_a_held_task_stays_held_after_save_and_load_until_a_continuation():
    xml = camunda_diagram("p", SLOW_STEP)
    run = _start(xml, {"slow_runs": 0})
    assert run.advance().status == "running"
    run = _reload(run, xml)
    assert run.advance().status == "running"  # not the job: still held
    assert run.variables()["slow_runs"] == 0
    run = _reload(run, xml)
    outcome = run.advance(continuation=True)
    assert outcome.status == "completed" and run.variables()["slow_runs"] == 1
    assert [step.bpmn_id for step in outcome.steps] == ["slow", "end"]


def test_an_external_task_with_async_after_holds_what_follows_its_answer():
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            '<bpmn:serviceTask id="call" camunda:type="external" camunda:topic="work" camunda:asyncAfter="true"/>\n'
            + script("book", "booked = True") + flows(("start", "call"), ("call", "book"), ("book", "end")))
    xml = camunda_diagram("p", body)
    run = _start(xml, {})
    [parked] = run.advance().parked
    run = _reload(run, xml)
    run.finish_service_task(parked.task_id, {"answer": 42})
    outcome = run.advance()
    assert outcome.status == "running" and "booked" not in run.variables()
    run = _reload(run, xml)
    outcome = run.advance(continuation=True)
    assert outcome.status == "completed" and run.variables()["booked"] is True


def test_a_multi_instance_activity_has_its_boundaries_at_each_instance():
    """SpiffWorkflow keeps the attributes on the inner activity, so each instance is a boundary:
    Camunda's `multiInstanceLoopCharacteristics camunda:asyncBefore`."""
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            '<bpmn:scriptTask id="shout" scriptFormat="python" camunda:asyncBefore="true">'
            '<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="lines" '
            'camunda:elementVariable="line"/><bpmn:script>line = line.upper()</bpmn:script></bpmn:scriptTask>\n'
            + flows(("start", "shout"), ("shout", "end")))
    xml = camunda_diagram("p", body)
    run = _start(xml, {"lines": ["a", "b"]})
    assert run.advance().status == "running"
    seen = []
    for _ in range(5):
        run = _reload(run, xml)
        outcome = run.advance(continuation=True)
        seen.append(run.variables()["lines"])
        if outcome.status != "running":
            break
    assert outcome.status == "completed"
    assert seen == [["A", "b"], ["A", "B"]]


def test_attributes_on_the_loop_characteristics_put_a_boundary_at_each_instance():
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            '<bpmn:scriptTask id="shout" scriptFormat="python">'
            '<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="lines" '
            'camunda:elementVariable="line" camunda:asyncAfter="true"/>'
            '<bpmn:script>line = line.upper()</bpmn:script></bpmn:scriptTask>\n'
            + flows(("start", "shout"), ("shout", "end")))
    xml = camunda_diagram("p", body)
    run = _start(xml, {"lines": ["a", "b"]})
    assert run.advance().status == "running" and run.variables()["lines"] == ["A", "b"]
    run = _reload(run, xml)
    assert run.advance(continuation=True).status == "running" and run.variables()["lines"] == ["A", "B"]

"""A Camunda multi-instance activity carries on after its spec is restored anew (a continue job on
another worker, a server restart): SpiffWorkflow sets the spec's input collection only when the
activity starts (bpmn/camunda.settle_multi_instance_inputs)."""

from __future__ import annotations

from tests.api.test_async_continuations import camunda_diagram, flows
from tests.bpmn.test_async_continuations import _reload, _start

SEQUENTIAL_REVIEW = camunda_diagram("p", (
    '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
    '<bpmn:userTask id="review"><bpmn:multiInstanceLoopCharacteristics isSequential="true" '
    'camunda:collection="${lines}" camunda:elementVariable="line"/></bpmn:userTask>\n'
    + flows(("start", "review"), ("review", "end"))))


def test_a_sequential_review_over_a_collection_asks_for_every_item_across_restores():
    run = _start(SEQUENTIAL_REVIEW, {"lines": ["a", "b", "c"]})
    run.advance()
    asked = []
    for _ in range(5):
        run = _reload(run, SEQUENTIAL_REVIEW)  # fresh spec objects, as in another process
        [task] = run.advance().user_tasks
        line = run.find_task(task.id).data["line"]
        asked.append(line)
        run.complete_user_task(task.id, {"line": line.upper()})
        if run.advance().status == "completed":
            break
    assert asked == ["a", "b", "c"]
    assert run.variables()["lines"] == ["A", "B", "C"]

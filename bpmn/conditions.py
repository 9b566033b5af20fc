"""Conditional events: checked again whenever an instance advances.

SpiffWorkflow evaluates a waiting conditional event only when the task is updated, and its
`refresh_timers()` updates timers only, so a condition that became true (an admin changed a
variable, a parallel branch wrote one) was never noticed. `refresh_conditions` updates every
waiting conditional catch event, boundary event and event-based gateway member.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


def _is_conditional(definition) -> bool:
    members = getattr(definition, "event_definitions", None) or [definition]
    return any(isinstance(member, ConditionalEventDefinition) for member in members)


def waits_for_condition(workflow: BpmnWorkflow) -> bool:
    return any(_is_conditional(t.task_spec.event_definition) for t in workflow.event_manager.tasks.values())


def refresh_conditions(workflow: BpmnWorkflow) -> None:
    for task in list(workflow.event_manager.tasks.values()):
        if _is_conditional(task.task_spec.event_definition):
            task.task_spec._update(task)

"""What an instance waits for: timers with their due time, messages and signals by name.

The server stores these as rows (jobs for timers, waits for messages and signals) so that a
timer fires and a message is correlated without loading every waiting instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from .event_subprocesses import trigger_messages


@dataclass(frozen=True)
class TimerWait:
    task_id: str
    bpmn_id: str
    due: datetime


@dataclass(frozen=True)
class MessageWait:
    """A catch event waiting for a named message, or (kind "signal") for a named signal."""

    task_id: str
    bpmn_id: str
    name: str
    kind: str = "message"


def waits_of(workflow: BpmnWorkflow) -> tuple[list[TimerWait], list[MessageWait]]:
    timers, messages = [], []
    for task, definition in waiting_definitions(workflow):
        bpmn_id = task.task_spec.bpmn_id
        if isinstance(definition, TimerEventDefinition):
            due = _timer_due(task, definition)
            if due is not None:
                timers.append(TimerWait(str(task.id), bpmn_id, due))
        elif isinstance(definition, MessageEventDefinition):
            messages.append(MessageWait(str(task.id), bpmn_id, definition.name))
        elif isinstance(definition, SignalEventDefinition):
            messages.append(MessageWait(str(task.id), bpmn_id, definition.name, "signal"))
    messages.extend(MessageWait(*trigger) for trigger in trigger_messages(workflow))
    return timers, messages


def waiting_definitions(workflow: BpmnWorkflow) -> Iterator[tuple[Any, Any]]:
    """(task, event definition) for every waiting catch event; an event-based gateway (or a
    multiple event) waits for each of its member events, so those are listed one by one."""
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        for member in getattr(definition, "event_definitions", None) or [definition]:
            yield task, member


def _timer_due(task, definition: TimerEventDefinition) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(definition, CycleTimerEventDefinition) and isinstance(value, dict):
        value = value.get("next")
    if isinstance(value, str):
        try:
            due = TimerEventDefinition.get_datetime(value)
        except ValueError:  # SpiffWorkflow's own check reports it when the timer is refreshed
            return None
        return due if due.tzinfo else due.replace(tzinfo=timezone.utc)
    return None

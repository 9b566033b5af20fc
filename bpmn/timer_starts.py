"""Timer start events: when a deployed process starts by itself.

SpiffWorkflow evaluates a timer when an instance reaches it, but a timer start event has to fire
without any instance: the server schedules a job per timer start event of the latest version of
a process and starts an instance when it is due. This module computes those due times (pure) and
makes a new instance start through a given timer start event.

The expression is evaluated without process variables (there are none before the start): a
Camunda `R3/PT1H` or a Spiff/plain `"R3/PT1H"` works, an expression reading variables does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


@dataclass(frozen=True)
class TimerStart:
    """The next firing of one timer start event; `remaining` further firings after it (-1: forever)."""

    bpmn_id: str
    due: datetime
    interval: float | None = None  # seconds between cycle firings
    remaining: int = 0

    def following(self) -> TimerStart | None:
        """The firing after this one, for a cycle that has firings left."""
        if self.interval is None or self.remaining == 0:
            return None
        return TimerStart(self.bpmn_id, self.due + timedelta(seconds=self.interval), self.interval,
                          self.remaining - 1 if self.remaining > 0 else -1)


class TimerStartError(ValueError):
    """A timer start event whose time cannot be computed at deploy time."""

    def __init__(self, bpmn_id: str, reason: str):
        super().__init__(reason)
        self.bpmn_id = bpmn_id


def timer_start_events(spec: BpmnProcessSpec) -> list:
    """The process's own start event specs with a timer (event sub-processes hang off the start
    too, but carry no event definition themselves)."""
    starts = []
    for output in spec.start.outputs:
        starts.extend(output.outputs if output.name == "StartEventSplit" else [output])
    return [s for s in starts if isinstance(getattr(s, "event_definition", None), TimerEventDefinition)]


def schedule(spec: BpmnProcessSpec, evaluate: Callable[[str], Any], now: datetime | None = None) -> list[TimerStart]:
    """First firing of every timer start event of `spec`; `evaluate(expression)` evaluates in the
    diagram's dialect without variables. Raises TimerStartError naming the event."""
    now = now or datetime.now(timezone.utc)
    return [_first(event, evaluate, now) for event in timer_start_events(spec)]


def _first(event, evaluate, now: datetime) -> TimerStart:
    definition = event.event_definition
    try:
        value = evaluate(definition.expression)
        if not isinstance(value, str):
            raise ValueError(f"it gives {value!r}, not an ISO 8601 text")
        if isinstance(definition, CycleTimerEventDefinition):
            cycles, start, interval = TimerEventDefinition.parse_iso_recurring_interval(value)
            if cycles == 0:
                raise ValueError("a cycle of zero repetitions never fires")
            return TimerStart(event.bpmn_id, _aware(start), interval.total_seconds(),
                              cycles - 1 if cycles > 0 else -1)
        if isinstance(definition, DurationTimerEventDefinition):
            duration = TimerEventDefinition.parse_iso_duration(value)
            return TimerStart(event.bpmn_id, now + TimerEventDefinition.get_timedelta_from_start(duration, now))
        if isinstance(definition, TimeDateEventDefinition):
            return TimerStart(event.bpmn_id, _aware(TimerEventDefinition.get_datetime(value)))
    except Exception as err:  # noqa: BLE001 - any failure is a fact about the diagram
        raise TimerStartError(event.bpmn_id, f"the timer of this start event cannot be scheduled: "
                                             f"{type(err).__name__}: {err}") from err
    raise TimerStartError(event.bpmn_id, "unknown kind of timer")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def fire_start_event(workflow: BpmnWorkflow, bpmn_id: str) -> None:
    """Make a new instance start through the timer start event `bpmn_id`: its timer counts as fired."""
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        if getattr(task.task_spec, "bpmn_id", None) == bpmn_id:
            task._set_internal_data(event_fired=True)
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                # a cycle timer adds its successors per firing and predicts none; this firing is ours
                task._sync_children(task.task_spec.outputs, TaskState.FUTURE)
                for child in task.children:
                    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)

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
from datetime import datetime, timezone
from typing import Any
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .timer_values import TimerValueError, check_value, kind_of


@dataclass(frozen=True)
class TimerStart:
    """The next firing of one timer start event; `remaining` further firings after it (-1: forever)."""

    bpmn_id: str
    due: datetime
    interval: float | None = None  # seconds between cycle firings
    remaining: int = 0


class TimerStartError(ValueError):
    """A timer start event whose time cannot be computed at deploy time."""

    def __init__(self, bpmn_id: str, reason: str):
        super().__init__(reason)
        self.bpmn_id = bpmn_id


def start_events(spec: BpmnProcessSpec) -> list:
    """The start event specs of a process itself (one, or those behind its StartEventSplit)."""
    starts = []
    for output in spec.start.outputs:
        starts.extend(output.outputs if output.name == "StartEventSplit" else [output])
    return starts


def timer_start_events(spec: BpmnProcessSpec) -> list:
    """The process's own start event specs with a timer (event sub-processes hang off the start
    too, but carry no event definition themselves)."""
    return [s for s in start_events(spec) if isinstance(getattr(s, "event_definition", None), TimerEventDefinition)]


def start_by_hand(spec: BpmnProcessSpec) -> str | None:
    """The timer start event an instance started by hand (through the API) goes through at once,
    for a process whose only start events are timers; None for any other process.

    Otherwise the new instance waited on its own timer start event and then ran its body once per
    cycle (for ever with R/PT5S). Camunda, too, starts such a process at its start event at once.
    Remembered per spec object (specs are cached and shared), so a start pays a dictionary lookup."""
    try:
        return _BY_HAND[spec]
    except KeyError:
        pass
    starts = start_events(spec)
    timers_only = starts and all(isinstance(getattr(s, "event_definition", None), TimerEventDefinition)
                                 for s in starts)
    found = _BY_HAND[spec] = starts[0].bpmn_id if timers_only else None
    return found


_BY_HAND: WeakKeyDictionary = WeakKeyDictionary()


def schedule(spec: BpmnProcessSpec, evaluate: Callable[[str], Any], now: datetime | None = None) -> list[TimerStart]:
    """First firing of every timer start event of `spec`; `evaluate(expression)` evaluates in the
    diagram's dialect without variables. Raises TimerStartError naming the event."""
    now = now or datetime.now(timezone.utc)
    return [_first(event, evaluate, now) for event in timer_start_events(spec)]


def _first(event, evaluate, now: datetime) -> TimerStart:
    definition = event.event_definition
    try:
        value = check_value(kind_of(definition), evaluate(definition.expression), now)
    except TimerValueError as err:
        raise TimerStartError(event.bpmn_id, err.about("the timer value")) from err
    try:
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
                # (a start event beside others is still predicted: its children must be too)
                definite = task.has_state(TaskState.DEFINITE_MASK)
                task._sync_children(task.task_spec.outputs, TaskState.FUTURE if definite else task.state)
                for child in task.children:
                    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)

"""How catch events behave where SpiffWorkflow 3.2 differs from BPMN (and Camunda).

- **An event-based gateway takes one event.** SpiffWorkflow collects every event it sees before
  the gateway runs, and when a message is caught it also checks the gateway's timers: a timer that
  is already due is added, and the gateway then started *both* branches. Here the gateway follows
  only the first event it saw: the one delivered, ahead of timers found due while it was caught.
- **Interrupting boundary events of one activity exclude each other.** A message caught while a
  timer on the same activity was overdue but not yet fired made both READY in one step, and both
  paths ran. An interrupting boundary event (or a non-interrupting one) that fires while an
  interrupting sibling has fired and not yet run stays waiting, and is cancelled with the activity.

  In both races the event that is processed first wins, and a delivered message is processed
  before the waiting timers are checked again. That is Camunda's rule (a due timer job that has not
  run yet does not stop a correlation, whose success removes the job) and the one a client can
  rely on: the message was accepted because the instance was still listed as waiting for it, so
  its 200 must mean it took effect. Letting the timer win instead would make the answer depend on
  how late the job runner is, and refuse a message the instance visibly waited for.
- **A non-interrupting message or signal boundary event stays armed** while its activity is
  active, as timer cycles already do in SpiffWorkflow: each event starts one more run of the
  outgoing path (with the event's data) and the boundary event keeps waiting, instead of
  completing after the first.
- **An interrupting boundary timer with a cycle fires once.** SpiffWorkflow ran the outgoing path
  at every repetition and interrupted only after the last; the first due time now interrupts. An
  intermediate catch event with a cycle fires once too (SpiffWorkflow ran the path after it once
  per repetition); Camunda repeats cycles only on start and non-interrupting boundary events.
- **Cycles keep to their schedule** (`_CycleSchedule`): slots of a cycle that passed before it was
  armed, or while its firing was late, are skipped instead of fired in a burst (a start date in
  the past fired once per refresh until caught up); one whose slots are all past fires once.
- **An instance starts through one start event** (`_OneStartEvent`): started by hand, the plain
  start event; started by a timer job, that timer's start event. SpiffWorkflow armed them all.
- **The data of a path that ends on its own is kept** (`keep_finished_path`, `shown_variables`):
  a non-interrupting path's variables are the instance's, while it runs and when it completes.

The task specs of restored definitions get same-named subclasses with these rules (`apply`); like
the capped multi-instance specs (`multi_instance`), a spec is never serialized again after it was
restored, and instance state names specs, never their classes, so stored instances load unchanged
and follow the rules from their next step on.

- **Camunda message catches no longer invent `<element id>_Response`.** SpiffWorkflow's Camunda
  message definition stores a caught message's payload in `camunda:resultVariable`, and without
  one in a variable named after the catching element. Camunda has no such variable: a
  correlation's `processVariables` become process variables. Restored Camunda message definitions
  (`CamundaMessage`, registered with the Camunda serializer) keep an explicit result variable,
  merge an object payload into the data otherwise, and keep the old variable only for a payload
  without names (a bare value thrown by another instance), which would otherwise be lost. A
  message caught before this change still carries its stored variable name and lands there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from functools import cache

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import StartEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    EventBasedGateway,
    IntermediateCatchEvent,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as _CamundaMessageBase
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.util.task import TaskState

from .timer_values import armed_cycle, skip_missed_slots

# -- task specs ------------------------------------------------------------------------------------


class _FirstEventGateway:
    """An event-based gateway follows only the first event it saw (see the module docstring)."""

    def _run_hook(self, my_task):
        seen = my_task.internal_data.get("seen_events") or []
        if len(seen) > 1 and not self.event_definition.parallel:
            my_task.internal_data["seen_events"] = seen[:1]
        return super()._run_hook(my_task)


def _interrupting_sibling_fired(my_task) -> bool:
    """Has another interrupting boundary event of the same activity fired and not yet run?
    Siblings are the children of the boundary-event split: the activity and its boundary events."""
    parent = my_task.parent
    return parent is not None and any(
        sibling is not my_task and sibling.state == TaskState.READY and isinstance(sibling.task_spec, BoundaryEvent)
        and sibling.task_spec.cancel_activity
        for sibling in parent.children)


class _CycleSchedule:
    """Cycle timers keep to their schedule: slots already past when the timer is armed are
    skipped (all of them past: one firing at once), and a late firing stands for the slots it
    missed (`timer_values.armed_cycle`, `skip_missed_slots`). SpiffWorkflow fired once per
    refresh until it had caught up: `R/2020-01-01T00:00:00Z/PT10S` ran its path some 200 times
    per step, for ever. `_fires_once` cycles take their first due slot and complete."""

    def _fires_once(self) -> bool:
        return False

    def _update_hook(self, my_task):
        cycle = self.event_definition
        if not isinstance(cycle, CycleTimerEventDefinition) or my_task.has_state(TaskState.FINISHED_MASK):
            return super()._update_hook(my_task)
        now = datetime.now(timezone.utc)
        if my_task._get_internal_data("event_value") is None and not cycle.has_fired(my_task):
            if my_task.parent is not None:
                my_task._inherit_data()  # the expression may read variables (SpiffWorkflow inherits later)
            value = my_task.workflow.script_engine.evaluate(my_task, cycle.expression)  # checked there
            my_task._set_internal_data(event_value=armed_cycle(
                *TimerEventDefinition.parse_iso_recurring_interval(value), now))
        if self._fires_once() and not cycle.has_fired(my_task) and cycle.cycle_complete(my_task):
            my_task._set_internal_data(event_fired=True)  # the first due slot; no further repetitions
        ready = super()._update_hook(my_task)
        value = my_task._get_internal_data("event_value")
        if value is not None:
            my_task._set_internal_data(event_value=skip_missed_slots(value, now))
        return ready

    def _predict_hook(self, my_task):
        if self._fires_once() and isinstance(self.event_definition, CycleTimerEventDefinition):
            TaskSpec._predict_hook(self, my_task)  # fires once: its path is predicted like any other
        else:
            super()._predict_hook(my_task)


class _OnceCycleCatch(_CycleSchedule):
    """An intermediate catch event with a cycle fires once, at its first due slot, as in Camunda
    (which repeats cycles only on start and non-interrupting boundary events). SpiffWorkflow ran
    the path after it once per repetition, each copy going on to the end."""

    def _fires_once(self) -> bool:
        return True


class _ExclusiveBoundary(_CycleSchedule):
    """Boundary events: interrupting siblings exclude each other, non-interrupting message and
    signal events stay armed, an interrupting cycle timer fires once."""

    def _fires_once(self) -> bool:
        return self.cancel_activity  # the first repetition interrupts

    def _update_hook(self, my_task):
        ready = super()._update_hook(my_task)
        if ready and my_task.state == TaskState.WAITING and _interrupting_sibling_fired(my_task):
            return False  # lost the race; cancelled with the activity when the winner runs
        return ready

    def catch(self, my_task, event):
        if self.cancel_activity or not isinstance(self.event_definition, (MessageEventDefinition,
                                                                         SignalEventDefinition)):
            super().catch(my_task, event)
            return
        # Non-interrupting: run the path once more with the event's data and stay waiting, as a
        # timer cycle does (CycleTimerEventDefinition.update_task).
        definition = self.event_definition
        definition.catch(my_task, event)
        definition.update_task_data(my_task)
        definition.reset(my_task)
        for output in self.outputs:
            child = my_task._add_child(output, TaskState.FUTURE)
            child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
            child.task_spec._update(child)


class _OneStartEvent:
    """A process with several start events starts each instance through one of them.

    SpiffWorkflow armed every start event of a new instance: started by hand, a process with a
    plain start event and a timer (or message) start event also waited on, or at once ran, the
    timer's path (a start date in the past ran it in the same request, a cycle once per
    repetition). As in Camunda, a start by hand takes the plain start event only; the timer start
    events belong to the definition's schedule (`timer_starts`), not to an instance. An instance
    started through a given start event (`fire_start_event`, `start_through`) takes that one only.
    Without a plain start event and a choice, every start event waits, as before."""

    def _run_hook(self, my_task):
        starts = [child for child in my_task.children if isinstance(child.task_spec, StartEvent)]
        chosen = next((c for c in starts if c._get_internal_data("event_fired")
                       or c._get_internal_data(START_THROUGH)), None)
        if chosen is None:
            chosen = next((c for c in starts if isinstance(c.task_spec.event_definition, NoneEventDefinition)), None)
        if chosen is not None:
            for child in starts:
                if child is not chosen and not child.has_state(TaskState.FINISHED_MASK):
                    child.cancel()
        return super()._run_hook(my_task)


START_THROUGH = "start_through"


def start_through(workflow, bpmn_id: str) -> bool:
    """Make a new instance (before its first advance) start through start event `bpmn_id` only,
    e.g. a message start event beside a plain one when the instance is started by that message:
    it then waits for the message, which the caller delivers. False if there is no such event."""
    found = False
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        if isinstance(task.task_spec, StartEvent) and getattr(task.task_spec, "bpmn_id", None) == bpmn_id:
            task._set_internal_data(**{START_THROUGH: True})
            found = True
    return found


def start_through_event(workflow, name: str) -> bool:
    """`start_through` the start events that catch the message or signal `name` (an instance
    started by that message or signal); False if none does."""
    found = False
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(task.task_spec, StartEvent) and isinstance(
                definition, (MessageEventDefinition, SignalEventDefinition)) and definition.name == name:
            task._set_internal_data(**{START_THROUGH: True})
            found = True
    return found


def _rules_for(task_spec) -> type | None:
    """The rules a spec gets; only the specs that need them, as a spec of a class of our own is
    left out of SpiffWorkflow's spec comparison (the serializer registry knows its classes only)."""
    cls = type(task_spec)
    if issubclass(cls, (_FirstEventGateway, _CycleSchedule, _OneStartEvent)):
        return None  # already given
    if issubclass(cls, EventBasedGateway):
        return _FirstEventGateway
    if issubclass(cls, BoundaryEvent):
        return _ExclusiveBoundary
    cycle = isinstance(getattr(task_spec, "event_definition", None), CycleTimerEventDefinition)
    if cycle and issubclass(cls, IntermediateCatchEvent):
        return _OnceCycleCatch
    if cycle and issubclass(cls, StartEvent):
        return _CycleSchedule
    if issubclass(cls, StartEventSplit):  # only processes with several start events have one
        return _OneStartEvent
    return None


@cache
def _with_rules(cls: type, rules: type) -> type:
    return type(cls.__name__, (rules, cls), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})


def apply(specs: Iterable[BpmnProcessSpec]) -> None:
    """Give the event-based gateways, catch events and start-event splits in `specs` the rules
    above (restored specs only, as with `multi_instance.cap_collections`)."""
    for process in specs:
        for task_spec in process.task_specs.values():
            rules = _rules_for(task_spec)
            if rules is not None:
                task_spec.__class__ = _with_rules(type(task_spec), rules)


# -- data of finished paths ------------------------------------------------------------------------

ENDED_PATHS = "__ended_paths__"
"""Key in the top workflow's data under which `keep_finished_path` keeps the data of ended paths."""


def keep_finished_path(task) -> None:
    """Keep the data of a path of the instance that has just ended (`task`, a completed end event
    or event sub-process of the top-level process), in the order paths end.

    SpiffWorkflow keeps data per path, and the path of a non-interrupting boundary event or event
    sub-process ends on its own: its variables were neither shown while the instance ran nor part
    of its final variables (cancelling the activity dropped the path's waiting end join, which
    would have merged them). In Camunda they are process variables. `shown_variables` shows them.
    Called for every completed task; costs a few attribute lookups for the others."""
    workflow = task.workflow
    if workflow is not workflow.top_workflow:
        return
    end = workflow.spec.end.name
    if any(output.name == end for output in task.task_spec.outputs):
        workflow.data.setdefault(ENDED_PATHS, {}).update(task.data)


def shown_variables(workflow, open_tasks: list) -> dict:
    """An instance's variables: while it runs, the data of the paths that ended with the data of
    each open task over it; once completed, its final data with the ended paths' over it.

    Conflicts: a variable an open task holds shows the open task's value; among ended paths the
    one that ended last wins. The final variables follow the same order: the main path usually
    ends last (its data is then over the others'), and what SpiffWorkflow's end join merged from
    stale copies of earlier paths loses to the paths' own data. So what is shown while the
    instance runs is what it ends with. One dictionary copy on top of what was done before."""
    data = workflow.data
    ended = data.get(ENDED_PATHS) or {}
    if workflow.completed:
        shown = {name: value for name, value in data.items() if name != ENDED_PATHS}
        shown.update(ended)
        return shown
    shown = dict(ended)
    for task in open_tasks:
        shown.update(task.data)
    return shown


def catching_element(task, definition) -> str:
    """The id of the element that catches `definition` at waiting `task`: the task's own, or for
    an event-based gateway the id of the catch event behind it (the gateway holds the members'
    definitions, in the order of its outgoing flows)."""
    spec = task.task_spec
    members = getattr(spec.event_definition, "event_definitions", None)
    if isinstance(spec, EventBasedGateway) and members:
        index = next((i for i, member in enumerate(members) if member is definition), None)
        if index is not None and index < len(spec.outputs):
            return spec.outputs[index].bpmn_id
    return spec.bpmn_id


# -- Camunda message data ----------------------------------------------------------------------------


class CamundaMessage(_CamundaMessageBase):
    """A Camunda message catch that sets the message's variables, not `<element id>_Response`."""

    def update_internal_data(self, my_task, event):
        body = event.payload if isinstance(event.payload, dict) else {"payload": event.payload}
        my_task.internal_data[self.name] = {"payload": body.get("payload"),
                                            "result_var": body.get("result_var") or self.result_var}

    def update_task_data(self, my_task):
        caught = my_task.internal_data.get(self.name)
        if caught is None:
            return
        payload, result_var = caught.get("payload"), caught.get("result_var")
        if result_var:  # named in the diagram (or stored by a catch before this change)
            my_task.data[result_var] = payload
        elif isinstance(payload, dict):
            my_task.data.update(payload)
        elif payload is not None:  # a bare value has no name of its own: keep it where it was
            my_task.data[f"{my_task.task_spec.name}_Response"] = payload

    def __eq__(self, other):
        # Definitions parsed but never restored (and events stored before) are the base class.
        return isinstance(other, _CamundaMessageBase) and self.name == other.name


CamundaMessage.__name__ = CamundaMessage.__qualname__ = _CamundaMessageBase.__name__  # the same typename

CAMUNDA_CONVERTERS: dict[type, type] = {CamundaMessage: MessageEventDefinitionConverter}
"""Registered after SpiffWorkflow's own entry, so restored Camunda message definitions are ours."""

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
  at every repetition and interrupted only after the last; the first due time now interrupts.

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
from functools import cache

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, EventBasedGateway
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as _CamundaMessageBase
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.util.task import TaskState

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


class _ExclusiveBoundary:
    """Boundary events: interrupting siblings exclude each other, non-interrupting message and
    signal events stay armed, an interrupting cycle timer fires once."""

    def _update_hook(self, my_task):
        definition = self.event_definition
        if (self.cancel_activity and isinstance(definition, CycleTimerEventDefinition)
                and my_task.state == TaskState.WAITING and not definition.has_fired(my_task)
                and definition.cycle_complete(my_task)):
            my_task._set_internal_data(event_fired=True)  # the first repetition interrupts
        ready = super()._update_hook(my_task)
        if ready and my_task.state == TaskState.WAITING and _interrupting_sibling_fired(my_task):
            return False  # lost the race; cancelled with the activity when the winner runs
        return ready

    def _predict_hook(self, my_task):
        if self.cancel_activity and isinstance(self.event_definition, CycleTimerEventDefinition):
            TaskSpec._predict_hook(self, my_task)  # fires once: its path is predicted like any other
        else:
            super()._predict_hook(my_task)

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


@cache
def _with_rules(cls: type) -> type:
    rules = _FirstEventGateway if issubclass(cls, EventBasedGateway) else _ExclusiveBoundary
    return type(cls.__name__, (rules, cls), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})


def apply(specs: Iterable[BpmnProcessSpec]) -> None:
    """Give every event-based gateway and boundary event in `specs` the rules above (restored
    specs only, as with `multi_instance.cap_collections`)."""
    for process in specs:
        for task_spec in process.task_specs.values():
            cls = type(task_spec)
            if issubclass(cls, (EventBasedGateway, BoundaryEvent)) \
                    and not issubclass(cls, (_FirstEventGateway, _ExclusiveBoundary)):
                task_spec.__class__ = _with_rules(cls)


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

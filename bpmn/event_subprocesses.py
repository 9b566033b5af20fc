"""Event sub-processes: what SpiffWorkflow 3.2 leaves out of them.

SpiffWorkflow starts a top-level event sub-process when an event its start event catches is
thrown or delivered (a "trigger"), but:

- its start event parser reads no error or escalation definition, so an error- or
  escalation-started event sub-process became a plain one that ran as soon as the instance started;
- it never interrupts: `isInterrupting` is ignored (its own check for `triggeredByEvent` looks for
  a namespaced attribute that documents never carry), so the main flow kept running;
- nothing outside the engine can see that an instance waits for a trigger message, so the server
  could not correlate one to it.

Here start events inside event sub-processes read every event definition, an interrupting start
event cancels the rest of the process it belongs to when it fires, and `trigger_messages` lists the
messages an instance can be triggered by. Only top-level event sub-processes are triggered by
SpiffWorkflow (not those inside an embedded sub-process); timer-started ones always were supported.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from uuid import NAMESPACE_URL, uuid5

from lxml import etree
from SpiffWorkflow.bpmn.parser import event_parsers as ep
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

_START_DEFINITIONS = [ep.MESSAGE_EVENT_XPATH, ep.SIGNAL_EVENT_XPATH, ep.TIMER_EVENT_XPATH,
                      ep.CONDITIONAL_EVENT_XPATH, ep.ERROR_EVENT_XPATH, ep.ESCALATION_EVENT_XPATH]


def _event_subprocess_start(node: etree._Element) -> bool:
    parent = node.getparent()
    return (parent is not None and parent.tag == full_tag("subProcess")
            and parent.get("triggeredByEvent") == "true")


class InterruptingStart:
    """Mixin for the start event of an interrupting event sub-process: when it fires, everything
    else still open in the process around the sub-process is cancelled."""

    def _on_complete_hook(self, my_task):
        super()._on_complete_hook(my_task)
        _interrupt(my_task)


def _interrupt(start_task) -> None:
    workflow = start_task.workflow
    parent = getattr(workflow, "parent_workflow", None)
    if parent is None:
        return
    own = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
    spared = {own.id}
    ancestor = own.parent
    while ancestor is not None:
        spared.add(ancestor.id)
        ancestor = ancestor.parent
    for task in list(parent.tasks.values()):
        if task.id not in spared and task.has_state(TaskState.NOT_FINISHED_MASK) and not _below(task, own):
            task.cancel()
    # A triggered sub-process task gets no successors predicted; the process must end through it
    own.task_spec._predict(own, mask=TaskState.NOT_FINISHED_MASK)


def _below(task, ancestor) -> bool:
    parent = task.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False


@cache
def interrupting_class(base: type) -> type:
    return type(f"Interrupting{base.__name__}", (InterruptingStart, base), {})


class EventSubprocessStartParser:
    """Mixin for a dialect's start event parser (see `start_event_parser`)."""

    def create_task(self):
        if not _event_subprocess_start(self.node):
            return super().create_task()
        event_definition = self.get_event_definition(_START_DEFINITIONS)
        base = self.spec_class
        if self.node.get("isInterrupting", "true") == "true":
            self.spec_class = interrupting_class(base)
        try:
            task = self._create_task(event_definition)
        finally:
            self.spec_class = base
        self.spec.start.connect(task)
        return task


def start_event_parser(parser_classes: dict) -> dict:
    """The `startEvent` entry of a parser's OVERRIDE_PARSER_CLASSES, with the mixin above."""
    parser, spec = parser_classes[full_tag("startEvent")]
    mixed = type(f"Cafe{parser.__name__}", (EventSubprocessStartParser, parser), {})
    return {full_tag("startEvent"): (mixed, spec)}


def converters(config: dict, parser_classes: dict) -> dict:
    """Serializer converters for the interrupting start event class of a dialect."""
    _, spec = parser_classes[full_tag("startEvent")]
    converter = next(config[c] for c in spec.__mro__ if c in config)
    return {interrupting_class(spec): converter}


# -- messages that start an event sub-process ------------------------------------------------------

def _trigger_starts(workflow: BpmnWorkflow) -> Iterator:
    for name in workflow.spec.start.trigger_specs:
        spec = workflow.subprocess_specs.get(name)
        yield from spec.bpmn_start_events if spec is not None else []


def trigger_messages(workflow: BpmnWorkflow) -> list[tuple[str, str, str]]:
    """(stable wait id, start event id, message name) for each message that would start an event
    sub-process of this instance; the id is derived from the start event, as no task exists yet."""
    return [
        (str(uuid5(NAMESPACE_URL, f"trigger/{workflow.spec.name}/{start.name}")), start.bpmn_id,
         start.event_definition.name)
        for start in _trigger_starts(workflow) if isinstance(start.event_definition, MessageEventDefinition)
    ]


def trigger_definition(workflow: BpmnWorkflow, name: str) -> MessageEventDefinition | None:
    """The message definition of a trigger start event for message `name`, if there is one."""
    for start in _trigger_starts(workflow):
        definition = start.event_definition
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition
    return None


def trigger_element(workflow: BpmnWorkflow, name: str) -> str | None:
    """The id of the trigger start event for message `name` (history names the element that caught)."""
    return next((bpmn_id for _, bpmn_id, message in trigger_messages(workflow) if message == name), None)

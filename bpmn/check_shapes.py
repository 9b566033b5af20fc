"""Deploy-time checks of what would fail only once an instance runs: sizes the database stores and
shapes SpiffWorkflow cannot execute.

Each was found by deploying mutated diagrams: they deployed, and then a start or a completion
failed with a database or engine error instead of a problem naming the element.

- Ids, names and event names are stored in columns of 255 characters (user and group names 120);
  a longer one failed the write of the history or of the open tasks.
- A literal `camunda:priority` (or an external task's `camunda:taskPriority`) is stored as a 32-bit integer.
- A sequence flow from an element back to itself sent SpiffWorkflow into endless recursion when
  it built the instance; an exclusive, inclusive or event-based gateway without outgoing flows
  failed the completion that reached it.
- A message or signal without a name cannot be waited for (the wait is stored by name).
- A process id is an XML name (NCName, as the BPMN schema says): one with a space deployed, and
  then its live feed stream could not be named.
"""

from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag

from .camunda import CAMUNDA_MODEL_NS
from .checks import problem_at
from .errors import DiagramProblem
from .tasks import MAX_PARTY, PRIORITY_RANGE

MAX_NAME = 255  # element ids, names, message and signal names: the columns that store them
_NCNAME = re.compile(r"[^\W\d][\w.\-]*")  # XML's NCName, near enough: a letter or _, then also digits, . and -
_CHOOSING_GATEWAYS = {full_tag(t) for t in ("exclusiveGateway", "inclusiveGateway", "eventBasedGateway")}
_EVENT_REFERENCES = {full_tag("messageEventDefinition"): ("messageRef", full_tag("message"), "message"),
                     full_tag("signalEventDefinition"): ("signalRef", full_tag("signal"), "signal")}



def check_shapes(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """Sizes, flows that loop onto their own element, gateways with no way out, nameless events.
    (Timer values: `timer_values.check_timer_literals`.)"""
    problems = _check_sizes(process, filename)
    problems += _check_flows_out(process, filename)
    problems += _check_event_names(process, filename)
    return problems


def _check_sizes(process: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    for element in process.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ("id", "name"):
            value = element.get(attribute) or ""
            if len(value) > MAX_NAME:
                problems.append(problem_at(element, filename, f"the {attribute} is longer than {MAX_NAME} characters"))
        for attribute in ("assignee", "candidateUsers", "candidateGroups"):
            value = element.get(f"{{{CAMUNDA_MODEL_NS}}}{attribute}") or ""
            if "{" not in value and any(len(part.strip()) > MAX_PARTY for part in value.split(",")):
                problems.append(problem_at(element, filename,
                                         f"camunda:{attribute} names someone longer than {MAX_PARTY} characters"))
        for attribute in ("priority", "taskPriority"):
            priority = (element.get(f"{{{CAMUNDA_MODEL_NS}}}{attribute}") or "").strip()
            if priority and "{" not in priority and not _in_range(priority):
                problems.append(problem_at(element, filename, f"camunda:{attribute} {priority[:40]!r} is not a whole "
                                           f"number from {PRIORITY_RANGE[0]} to {PRIORITY_RANGE[1]}"))
    return problems


def _in_range(text: str) -> bool:
    try:
        return PRIORITY_RANGE[0] <= int(text) <= PRIORITY_RANGE[1]
    except ValueError:
        return False


def _check_flows_out(process: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    sources = set()
    for flow in process.iter(full_tag("sequenceFlow")):
        sources.add(flow.get("sourceRef"))
        source = flow.get("sourceRef")
        if source and source == flow.get("targetRef"):
            problems.append(problem_at(flow, filename, f"the sequence flow leads from {source!r} back to itself; "
                                                       "loop through a gateway instead"))
    for gateway in process.iter(*_CHOOSING_GATEWAYS):  # a parallel one without any simply ends its branch
        if gateway.get("id") not in sources:
            problems.append(problem_at(gateway, filename, "the gateway has no outgoing sequence flow to choose"))
    return problems


def _check_event_names(process: etree._Element, filename: str) -> list[DiagramProblem]:
    root = process.getroottree().getroot()
    problems = []
    for tag, (attribute, target_tag, kind) in _EVENT_REFERENCES.items():
        named = {e.get("id"): (e.get("name") or "").strip() for e in root.iter(target_tag)}
        for definition in process.iter(tag):
            ref = definition.get(attribute)
            if ref is None:
                continue  # no reference at all: SpiffWorkflow's own checks and the parser handle that
            name = named.get(ref, ref)
            if not ref.strip() or not name:
                problems.append(problem_at(definition, filename, f"the {kind} this event refers to ({ref!r}) "
                                                               "has no name to wait for"))
    return problems


def is_xml_name(value: str) -> bool:
    """`value` is an NCName: what the BPMN schema allows as an element or process id."""
    return _NCNAME.fullmatch(value) is not None

"""Constructs SpiffWorkflow 3.2 cannot run, refused before parsing with what and where.

Left to the library, some of these fail with a Python exception naming no construct (a
compensation boundary event gives `NotImplementedError('Unsupported Catch Event: ...')`), and
others are accepted and then run wrongly: a condition on a sequence flow leaving an activity is
ignored, so every such flow is taken. Each problem names the element and its line, in the terms
of the modeler.
"""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag

from .errors import DiagramProblem

_REFUSED = {
    full_tag("compensateEventDefinition"):
        "compensation events are not supported (SpiffWorkflow 3.2 has no compensation)",
    full_tag("complexGateway"):
        "complex gateways are not supported; use an inclusive or an exclusive gateway",
}
_TIMES = {full_tag(t) for t in ("timeDate", "timeDuration", "timeCycle")}
_ACTIVITIES = {full_tag(t) for t in ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask",
                                     "receiveTask", "businessRuleTask", "subProcess", "callActivity",
                                     "transaction", "adHocSubProcess")}


def _owner(element: etree._Element) -> etree._Element:
    node = element
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node if node is not None else element


def _problem(element: etree._Element, filename: str, reason: str) -> DiagramProblem:
    owner = _owner(element)
    return DiagramProblem(reason, file=filename, element_id=owner.get("id"), line=owner.sourceline)


def check_unsupported(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """Every construct of `process` that cannot run here."""
    problems = [_problem(e, filename, reason) for tag, reason in _REFUSED.items() for e in process.iter(tag)]
    problems += [
        _problem(e, filename, "compensation handlers (isForCompensation) are not supported")
        for e in process.iter(etree.Element) if e.get("isForCompensation") == "true"
    ]
    for timer in process.iter(full_tag("timerEventDefinition")):
        if not any(child.tag in _TIMES for child in timer):
            problems.append(_problem(timer, filename, "the timer event has no timeDate, timeDuration or timeCycle"))
    for event in process.iter(full_tag("boundaryEvent")):
        if not any(etree.QName(c).localname.endswith("EventDefinition") for c in event.iter(etree.Element)):
            problems.append(_problem(event, filename, "the boundary event has no event definition"))
    problems += _conditions_out_of_activities(process, filename)
    problems += _dangling_references(process, filename)
    return problems


_REFERENCES = (("messageRef", "message"), ("signalRef", "signal"), ("errorRef", "error"),
               ("escalationRef", "escalation"))


def _dangling_references(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """Event definitions naming a message, signal, error or escalation the file does not define
    (SpiffWorkflow fails on them with a TypeError of its own), and data associations that name
    neither a data object nor a data store reference."""
    root = process.getroottree().getroot()
    defined = {e.get("id"): etree.QName(e).localname for e in root.iter(etree.Element) if e.get("id")}
    problems = []
    for element in process.iter(etree.Element):
        for attribute, kind in _REFERENCES:
            ref = element.get(attribute)
            if ref and defined.get(ref) != kind:
                problems.append(_problem(element, filename, f"{attribute} {ref!r} names no {kind} of this file"))
    for tag, end in (("dataInputAssociation", "sourceRef"), ("dataOutputAssociation", "targetRef")):
        for association in process.iter(full_tag(tag)):
            for ref in association.iterfind(full_tag(end)):
                target = (ref.text or "").strip()
                kind = defined.get(target)
                if not target or kind in ("dataObjectReference", "dataObject"):
                    continue
                reason = (f"the {tag} uses the data store {target!r}: data stores are not supported (SpiffWorkflow "
                          "needs an implementation registered in code for each)" if kind == "dataStoreReference"
                          else f"the {tag} {end} {target!r} is not a data object reference; only data objects "
                          "can be read or written")
                problems.append(_problem(association, filename, reason))
    return problems


def _conditions_out_of_activities(process: etree._Element, filename: str) -> list[DiagramProblem]:
    nodes = {e.get("id"): e for e in process.iter(etree.Element) if e.get("id")}
    problems = []
    for flow in process.iter(full_tag("sequenceFlow")):
        source = nodes.get(flow.get("sourceRef"))
        if flow.find(full_tag("conditionExpression")) is not None and source is not None \
                and source.tag in _ACTIVITIES:
            problems.append(_problem(
                flow, filename,
                f"conditional sequence flow out of {etree.QName(source).localname} {source.get('id')!r}: "
                "conditions are only evaluated on gateways; put an exclusive or inclusive gateway there"))
    return problems

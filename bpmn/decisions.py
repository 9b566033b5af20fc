"""DMN files of a deployment: parsed at deploy time, so a broken table is refused, not stored.

SpiffWorkflow only reads a decision table when a business rule task first uses it; a broken table
would otherwise be stored and fail weeks later in an instance. Every input entry is read as a FEEL
unary test here too (`decision_tables.read_settings`).

A business rule task names a decision by id, as Camunda's `decisionRef`; the decision may come
with the diagram or from an earlier deployment (Camunda Modeler deploys one file at a time).
`decision_refs` lists what the diagrams of an upload need; the server looks up the latest stored
DMN file of each id missing from the upload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from .decision_engine import DecisionEngine
from .decision_tables import read_settings
from .errors import DiagramProblem, DiagramRejected
from .spiff_errors import spiff_call
from .xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ResolveDecision = Callable[[str], "tuple[str, bytes] | None"]


def check_decisions(dmn_roots: dict[str, etree._Element]) -> list[DiagramProblem]:
    """Parse every DMN file now: SpiffWorkflow only reads a decision table when a business rule
    task first uses it, so a broken table would otherwise be stored and fail later."""
    problems: list[DiagramProblem] = []
    first_seen: dict[str, str] = {}
    for name, root in dmn_roots.items():
        found = _dmn_structure(name, root)
        if not found:
            try:
                spiff_call(lambda n=name, r=root: _parse_dmn(n, r), name, {name: root})
            except DiagramRejected as err:
                found = err.problems
        if not found:
            for decision in root.iter("{*}decision"):
                found.extend(read_settings(decision, name)[1])
        for decision in root.iter("{*}decision"):
            did = decision.get("id")
            other = first_seen.setdefault(did, name)
            if other != name:
                found.append(DiagramProblem(f"decision id {did!r} is also defined in {other}",
                                            file=name, element_id=did, line=decision.sourceline))
        problems.extend(found)
    return problems


def _dmn_structure(name: str, root: etree._Element) -> list[DiagramProblem]:
    """What SpiffWorkflow's DMN support needs: exactly one decision, holding a decision table."""
    decisions = [d for d in root.iterchildren(etree.Element) if etree.QName(d).localname == "decision"]
    if not decisions:
        return [DiagramProblem("the DMN file contains no decision", file=name, element_id=root.get("id"),
                               line=root.sourceline)]
    if len(decisions) > 1:
        extra = decisions[1]
        return [DiagramProblem(f"only one decision per DMN file is supported (found {len(decisions)})",
                               file=name, element_id=extra.get("id"), line=extra.sourceline)]
    decision = decisions[0]
    if not any(etree.QName(child).localname == "decisionTable" for child in decision.iter(etree.Element)):
        return [DiagramProblem("the decision has no decision table; only decision tables are supported",
                               file=name, element_id=decision.get("id"), line=decision.sourceline)]
    return []


def _parse_dmn(name: str, root: etree._Element) -> None:
    parser = BpmnDmnParser()
    parser.add_dmn_xml(root, filename=name)
    for dmn_parser in parser.dmn_parsers.values():
        dmn_parser.parse()


def decision_ids(root: etree._Element) -> set[str]:
    return {d.get("id") for d in root.iter("{*}decision") if d.get("id")}


def decision_refs(roots: Iterable[etree._Element]) -> set[str]:
    """Decision ids named by business rule tasks (Camunda's decisionRef or Spiff's calledDecisionId);
    expressions such as `${key}` cannot be resolved at deploy time and are left out."""
    refs = set()
    for root in roots:
        for task in root.iter(f"{{{BPMN_NS}}}businessRuleTask"):
            ref = task.get(f"{{{CAMUNDA_NS}}}decisionRef")
            for called in task.iter(f"{{{SPIFF_NS}}}calledDecisionId"):
                ref = called.text
            if ref and ref.strip() and "{" not in ref:
                refs.add(ref.strip())
    return refs


def used_decisions(specs: Iterable) -> set[str]:
    """Ids of the decisions the business rule tasks of these process specs were built with."""
    return {
        engine.settings.decision_id
        for spec in specs for task_spec in spec.task_specs.values()
        if isinstance(engine := getattr(task_spec, "dmnEngine", None), DecisionEngine)
    }


def with_decisions_hash(process_hash: str, used: set[str], dmn_roots: dict[str, etree._Element]) -> str:
    """A process's content hash with the DMN files its decisions came from folded in: deploying an
    unchanged diagram after its decision changed makes a new version that uses the new decision.
    A process without business rule tasks keeps its hash."""
    if not used:
        return process_hash
    digest = hashlib.sha256(process_hash.encode())
    for name in sorted(dmn_roots):
        if decision_ids(dmn_roots[name]) & used:
            digest.update(etree.tostring(dmn_roots[name]))
    return digest.hexdigest()


def earlier_decisions(bpmn_roots: dict[str, etree._Element], dmn_roots: dict[str, etree._Element],
                      resolve: ResolveDecision | None, max_bytes: int) -> dict[str, etree._Element]:
    """The DMN files, deployed before, of decisions the upload's diagrams name but do not bring.

    Parsed along with the diagrams (their tables copied into the specs), never deployed again. Ids
    nobody provides are left out: the parser then names the business rule task.
    """
    if resolve is None:
        return {}
    brought = set().union(*(decision_ids(r) for r in dmn_roots.values()))
    found: dict[str, etree._Element] = {}
    for ref in sorted(decision_refs(bpmn_roots.values()) - brought):
        if any(ref in decision_ids(r) for r in found.values()):
            continue
        resolved = resolve(ref)
        if resolved is None:
            continue
        filename, content = resolved
        name, n = f"deployed:{filename}", 1
        while name in dmn_roots or name in found:
            n += 1
            name = f"deployed:{filename}#{n}"
        root = parse_xml(content, name, max_bytes=max_bytes)
        etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
        found[name] = root
    return found

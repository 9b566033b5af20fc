"""DMN files of a deployment: parsed at deploy time, so a broken table is refused, not stored.

SpiffWorkflow only reads a decision table when a business rule task first uses it; a broken table
would otherwise be stored and fail weeks later in an instance.
"""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from .errors import DiagramProblem, DiagramRejected
from .spiff_errors import spiff_call


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

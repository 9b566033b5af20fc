"""Turning uploaded files into deployable process definitions, or a precise refusal."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .checks import check_process
from .dialect import Dialect, detect_dialect
from .errors import DiagramProblem, DiagramRejected
from .serializer import serializer_for
from .xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
)


@dataclass
class Resource:
    name: str
    content: bytes
    kind: str  # "bpmn", "dmn" or "file"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ParsedProcess:
    key: str
    name: str | None
    dialect: Dialect
    resource: str
    specs_json: str
    content_hash: str
    message_starts: list[str] = field(default_factory=list)
    timer_starts: list[str] = field(default_factory=list)


@dataclass
class ParsedDeployment:
    resources: list[Resource]
    processes: list[ParsedProcess]
    decisions: list[str]
    not_executable: list[str]


def classify(name: str, content: bytes) -> str:
    lower = name.lower()
    if lower.endswith((".bpmn", ".bpmn20.xml", ".bpmn2")):
        return "bpmn"
    if lower.endswith((".dmn", ".dmn11.xml")):
        return "dmn"
    if lower.endswith(".xml") and b"BPMN/20100524/MODEL" in content[:4096]:
        return "bpmn"
    return "file"


def _root_kind(root: etree._Element) -> str | None:
    qname = etree.QName(root)
    if qname.localname == "definitions" and qname.namespace == BPMN_NS:
        return "bpmn"
    if qname.localname == "definitions" and qname.namespace in DMN_NAMESPACES:
        return "dmn"
    return None


def _validation_problem(err: Exception, filename: str, roots: dict[str, etree._Element]) -> DiagramProblem:
    element_id = getattr(err, "id", None) or None
    file = getattr(err, "file_name", None) or filename
    line = getattr(err, "line_number", None) or None
    root = roots.get(file)
    if element_id and root is not None and not line:
        found = root.xpath("//*[@id=$id]", id=element_id)
        line = found[0].sourceline if found else None
    reason = str(err).split("\n")[0] or type(err).__name__
    return DiagramProblem(reason, file=file, element_id=element_id, line=line if isinstance(line, int) else None)


def parse_deployment(files: list[tuple[str, bytes]], max_bytes: int | None = None) -> ParsedDeployment:
    """Parse and check every file; raise DiagramRejected listing all problems found."""
    if not files:
        raise DiagramRejected([DiagramProblem("the deployment contains no files")])
    resources, problems = [], []
    roots: dict[str, etree._Element] = {}
    for name, content in files:
        kind = classify(name, content)
        resources.append(Resource(name, content, kind))
        if kind == "file":
            continue
        try:
            root = parse_xml(content, name, **({"max_bytes": max_bytes} if max_bytes else {}))
        except DiagramRejected as err:
            problems.extend(err.problems)
            continue
        actual = _root_kind(root)
        if actual is None:
            problems.append(DiagramProblem(
                f"not a BPMN 2.0 or DMN document (root element is {etree.QName(root).localname!r})",
                file=name, line=root.sourceline))
            continue
        roots[name] = root
    if problems:
        raise DiagramRejected(problems)
    bpmn_roots = {n: r for n, r in roots.items() if _root_kind(r) == "bpmn"}
    dmn_roots = {n: r for n, r in roots.items() if _root_kind(r) == "dmn"}
    if not bpmn_roots and not dmn_roots:
        raise DiagramRejected([DiagramProblem("the deployment contains no .bpmn or .dmn file")])
    processes, not_executable = [], []
    for dialect in Dialect:
        group = {n: r for n, r in bpmn_roots.items() if detect_dialect(r) is dialect}
        if group:
            parsed, skipped = _parse_group(dialect, group, dmn_roots, roots, problems)
            processes.extend(parsed)
            not_executable.extend(skipped)
    decisions = [d.get("id") for r in dmn_roots.values() for d in r.iter("{*}decision")]
    if problems:
        raise DiagramRejected(problems)
    if bpmn_roots and not processes:
        reason = "no executable process in the deployment"
        if not_executable:
            reason += f" (not executable: {', '.join(not_executable)}; set isExecutable=\"true\")"
        raise DiagramRejected([DiagramProblem(reason, file=next(iter(bpmn_roots)))])
    return ParsedDeployment(resources, processes, decisions, not_executable)


def _parse_group(dialect, group, dmn_roots, roots, problems) -> tuple[list[ParsedProcess], list[str]]:
    parser = dialect.new_parser()
    try:
        for name, root in dmn_roots.items():
            if hasattr(parser, "add_dmn_xml"):
                parser.add_dmn_xml(root, filename=name)
        for name, root in group.items():
            parser.add_bpmn_xml(root, filename=name)
    except (ValidationException, SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as err:
        problems.append(_validation_problem(err, next(iter(group)), roots))
        return [], []
    parsed, not_executable = [], []
    executable = set(parser.get_process_ids())
    for name, root in group.items():
        for process in root.iter("{%s}process" % BPMN_NS):
            pid = process.get("id")
            if pid not in executable:
                not_executable.append(pid)
                continue
            found = check_process(process, dialect, name)
            if found:
                problems.extend(found)
                continue
            try:
                spec = parser.get_spec(pid)
                subprocess_specs = parser.get_subprocess_specs(pid)
                specs_json = serializer_for(dialect).dump_specs(spec, subprocess_specs)
            except (ValidationException, SpiffWorkflowException, KeyError, ValueError, TypeError,
                    AttributeError, IndexError) as err:
                problems.append(_validation_problem(err, name, roots))
                continue
            parsed.append(ParsedProcess(
                key=pid,
                name=process.get("name"),
                dialect=dialect,
                resource=name,
                specs_json=specs_json,
                content_hash=hashlib.sha256(etree.tostring(root)).hexdigest(),
                message_starts=_start_events(process, "messageEventDefinition", root),
                timer_starts=_start_events(process, "timerEventDefinition", root),
            ))
    return parsed, not_executable


def _start_events(process: etree._Element, definition: str, root: etree._Element) -> list[str]:
    """Message names (or timer ids) of the process's own start events."""
    names = []
    for start in process.findall("{%s}startEvent" % BPMN_NS):
        for d in start.findall("{%s}%s" % (BPMN_NS, definition)):
            if definition == "messageEventDefinition":
                ref = d.get("messageRef")
                msg = root.xpath("//*[local-name()='message' and @id=$id]", id=ref) if ref else []
                names.append(msg[0].get("name") or ref if msg else ref)
            else:
                names.append(start.get("id"))
    return [n for n in names if n]

"""Turning uploaded files into deployable process definitions, or a precise refusal.

Nothing is stored unless every file of a deployment reads, checks and compiles; otherwise
DiagramRejected lists every problem found, each naming file, element id and source line, so the
API can answer 422 instead of storing half a deployment or failing with a 500.

SpiffWorkflow's parser is third-party code that reports some mistakes as ValidationException and
trips over others with whatever Python raises; every call into it goes through
`spiff_errors.spiff_call`, which turns any exception into a DiagramProblem with file, element and line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

from .calls import ResolveCalled, called_elsewhere, content_hash
from .check_shapes import MAX_NAME, check_shapes, is_xml_name
from .checks import check_document, check_process
from .decisions import ResolveDecision, earlier_decisions, used_decisions, with_decisions_hash
from .decisions import check_decisions as _check_decisions
from .dialect import Dialect, detect_dialect
from .engine import CafeScriptEngine
from .errors import DiagramProblem, DiagramRejected
from .links import resolve_links
from .serializer import serializer_for
from .spiff_errors import attempt as _attempt
from .spiff_errors import known_ids as _known_ids
from .spiff_errors import spiff_call as _spiff
from .timer_starts import TimerStartError, schedule
from .timer_values import check_timer_literals
from .xml import MAX_DIAGRAM_BYTES, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
)
PROCESS_TAG = f"{{{BPMN_NS}}}process"

# Limits of what a definition can be stored with; refusing longer values here gives a 422 instead
# of a database error. Process ids become keys (a 120-character column) and definition ids
# `key:version:uuid` (160 characters), names and message names 255 (check_shapes.MAX_NAME), file names
# deployment names (200).
MAX_PROCESS_ID = 100
MAX_FILE_NAME = 200


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
    signal_starts: list[str] = field(default_factory=list)
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


def _raise_if(problems: list[DiagramProblem]) -> None:
    if problems:
        raise DiagramRejected(problems)


# -- the whole deployment ------------------------------------------------------------------------

def parse_deployment(files: list[tuple[str, bytes]], max_bytes: int | None = None,
                     resolve_called: ResolveCalled | None = None,
                     run_non_executable: bool = False,
                     resolve_decision: ResolveDecision | None = None) -> ParsedDeployment:
    """Parse and check every file; raise DiagramRejected listing all problems found.

    A call activity may call a process deployed earlier: `resolve_called` supplies its XML, which
    is parsed along (and folded into the caller's content hash) but not deployed again.
    `run_non_executable` deploys processes marked isExecutable="false" as if they were executable
    (interchange models from other tools); they are still listed in `not_executable`.
    A business rule task may name a decision deployed earlier: `resolve_decision` supplies the
    latest DMN file holding it, parsed along (and folded into the content hash), not deployed again.
    """
    if not files:
        raise DiagramRejected([DiagramProblem("the deployment contains no files")])
    resources = [Resource(name, content, classify(name, content)) for name, content in files]
    _raise_if(_check_file_names(resources))
    roots = _read(resources, max_bytes or MAX_DIAGRAM_BYTES)
    bpmn_roots = {n: r for n, r in roots.items() if _root_kind(r) == "bpmn"}
    dmn_roots = {n: r for n, r in roots.items() if _root_kind(r) == "dmn"}
    if not bpmn_roots and not dmn_roots:
        raise DiagramRejected([DiagramProblem("the deployment contains no .bpmn or .dmn file")])
    not_executable = [p.get("id") for _, p in _processes(bpmn_roots) if not _is_executable(p)]
    if run_non_executable:
        for _, process in _processes(bpmn_roots):
            process.set("isExecutable", "true")  # the parsed copy only; the resource keeps its bytes
    _raise_if([p for name, root in bpmn_roots.items() for p in resolve_links(root, name)])
    for root in bpmn_roots.values():  # BPMN makes names optional; SpiffWorkflow matches by name
        for unnamed in root.xpath("//*[(local-name()='message' or local-name()='signal') and not(@name)]"):
            unnamed.set("name", unnamed.get("id") or "")
    _raise_if(_check_before_parsing(roots, bpmn_roots, dmn_roots))
    earlier = earlier_decisions(bpmn_roots, dmn_roots, resolve_decision, max_bytes or MAX_DIAGRAM_BYTES)
    processes = _parse_all(bpmn_roots, {**dmn_roots, **earlier}, resolve_called, max_bytes or MAX_DIAGRAM_BYTES)
    if bpmn_roots and not processes:
        raise DiagramRejected(_nothing_executable(bpmn_roots))
    return ParsedDeployment(
        resources,
        processes,
        decisions=[d.get("id") for r in dmn_roots.values() for d in r.iter("{*}decision")],
        not_executable=not_executable,
    )


def _check_before_parsing(roots: dict[str, etree._Element], bpmn_roots: dict[str, etree._Element],
                          dmn_roots: dict[str, etree._Element]) -> list[DiagramProblem]:
    """Our own checks run first: they name problems in the modeler's terms, and SpiffWorkflow
    reports the same mistakes misleadingly or only at run time."""
    problems = [p for name, root in roots.items() for p in check_document(root, name)]
    problems += _check_processes(bpmn_roots) + _check_message_names(bpmn_roots)
    for name, process in _processes(bpmn_roots):
        if _is_executable(process):
            dialect = detect_dialect(process.getroottree().getroot())
            problems += check_process(process, dialect, name)
            problems += check_shapes(process, name) + check_timer_literals(process, name, dialect)
    return problems + _check_decisions(dmn_roots)


def _parse_all(bpmn_roots: dict[str, etree._Element], dmn_roots: dict[str, etree._Element],
               resolve_called: ResolveCalled | None, max_bytes: int) -> list[ParsedProcess]:
    """SpiffWorkflow's parse of every executable process, one dialect at a time."""
    processes: list[ParsedProcess] = []
    problems: list[DiagramProblem] = []
    for dialect in Dialect:
        group = {n: r for n, r in bpmn_roots.items() if detect_dialect(r) is dialect}
        if group:
            try:
                called = called_elsewhere(group, bpmn_roots, resolve_called, max_bytes)
            except DiagramRejected as err:
                problems.extend(err.problems)
                continue
            parsed, found = _parse_group(dialect, group, dmn_roots, called)
            processes.extend(parsed)
            problems.extend(found)
    _raise_if(problems)
    return processes


def _check_file_names(resources: list[Resource]) -> list[DiagramProblem]:
    """File names become resource names: unique in a deployment, printable, of bounded length."""
    problems, seen = [], set()
    for resource in resources:
        name = resource.name
        if not name.strip():
            problems.append(DiagramProblem("a file has no name", file=name))
        elif len(name) > MAX_FILE_NAME:
            problems.append(DiagramProblem(f"the file name is longer than {MAX_FILE_NAME} characters",
                                           file=name[:MAX_FILE_NAME] + "…"))
        elif not name.isprintable():
            problems.append(DiagramProblem("the file name contains control characters", file=repr(name)))
        elif name in seen:
            problems.append(DiagramProblem("two files of the deployment have this name", file=name))
        seen.add(name)
    return problems


def _read(resources: list[Resource], max_bytes: int) -> dict[str, etree._Element]:
    """Parse every BPMN and DMN file safely; other files only have to respect the size limit."""
    roots: dict[str, etree._Element] = {}
    problems: list[DiagramProblem] = []
    for resource in resources:
        if resource.kind == "file":
            if len(resource.content) > max_bytes:
                problems.append(DiagramProblem(
                    f"the file is {len(resource.content):,} bytes; the limit for one file is {max_bytes:,} bytes",
                    file=resource.name))
            continue
        try:
            root = parse_xml(resource.content, resource.name, max_bytes=max_bytes)
        except DiagramRejected as err:
            problems.extend(err.problems)
            continue
        if _root_kind(root) is None:
            problems.append(DiagramProblem(
                f"not a BPMN 2.0 or DMN document (the root element is {etree.QName(root).localname!r}, "
                "expected a BPMN or DMN 'definitions')",
                file=resource.name, line=root.sourceline))
            continue
        if _root_kind(root) == "dmn":
            # SpiffWorkflow's DMN parser walks children assuming each is an element; it only
            # ever sees this tree, the stored resource keeps the file as uploaded.
            etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
        roots[resource.name] = root
    _raise_if(problems)
    return roots


def _processes(roots: dict[str, etree._Element]) -> Iterator[tuple[str, etree._Element]]:
    for name, root in roots.items():
        for process in root.iter(PROCESS_TAG):
            yield name, process


def _is_executable(process: etree._Element) -> bool:
    """SpiffWorkflow's rule: executable unless isExecutable says anything but 'true'."""
    return process.get("isExecutable", "true") == "true"


def _check_processes(bpmn_roots: dict[str, etree._Element]) -> list[DiagramProblem]:
    """Process ids become definition keys: present, short enough, and unique across files
    (duplicates within one file are reported by check_document)."""
    problems: list[DiagramProblem] = []
    first_seen: dict[str, tuple[str, etree._Element]] = {}
    for name, process in _processes(bpmn_roots):
        pid, line = process.get("id"), process.sourceline
        if not pid:
            problems.append(DiagramProblem("a process has no id", file=name, line=line))
            continue
        if len(pid) > MAX_PROCESS_ID:
            problems.append(DiagramProblem(f"the process id is longer than {MAX_PROCESS_ID} characters",
                                           file=name, element_id=pid, line=line))
        elif not is_xml_name(pid):
            problems.append(DiagramProblem(
                f"the process id {pid!r} is not an XML name: use letters, digits, '_', '-' and '.', "
                "starting with a letter or '_'", file=name, element_id=pid, line=line))
        if len(process.get("name") or "") > MAX_NAME:
            problems.append(DiagramProblem(f"the process name is longer than {MAX_NAME} characters",
                                           file=name, element_id=pid, line=line))
        other_file, other = first_seen.setdefault(pid, (name, process))
        if other_file != name:
            problems.append(DiagramProblem(
                f"process id {pid!r} is also defined in {other_file} (line {other.sourceline}); "
                "process ids must be unique in a deployment",
                file=name, element_id=pid, line=line))
    return problems


def _check_message_names(bpmn_roots: dict[str, etree._Element]) -> list[DiagramProblem]:
    """Message start events are stored by message name."""
    return [
        DiagramProblem(f"the message name is longer than {MAX_NAME} characters", file=name,
                       element_id=message.get("id"), line=message.sourceline)
        for name, root in bpmn_roots.items()
        for message in root.iter(f"{{{BPMN_NS}}}message")
        if len(message.get("name") or "") > MAX_NAME
    ]


def _nothing_executable(bpmn_roots: dict[str, etree._Element]) -> list[DiagramProblem]:
    problems = [
        DiagramProblem(
            f"process {process.get('id')!r} is not executable (isExecutable=\"{process.get('isExecutable')}\"); "
            "set isExecutable=\"true\" to deploy it, or deploy with run_non_executable=true to run it anyway",
            file=name, element_id=process.get("id"), line=process.sourceline)
        for name, process in _processes(bpmn_roots)
    ]
    if problems:
        return problems
    name, root = next(iter(bpmn_roots.items()))
    return [DiagramProblem("the deployment contains no process", file=name, element_id=root.get("id"),
                           line=root.sourceline)]


# -- BPMN, one dialect at a time -----------------------------------------------------------------

def _parse_group(
    dialect: Dialect, group: dict[str, etree._Element], dmn_roots: dict[str, etree._Element],
    called: dict[str, etree._Element] | None = None,
) -> tuple[list[ParsedProcess], list[DiagramProblem]]:
    """Parse the files of one dialect with that dialect's parser (calls between them resolve).

    `called` holds files the group's call activities need from elsewhere (other files of the
    upload, processes deployed earlier): parsed along with the group, never deployed from here.
    """
    parser = dialect.new_parser()
    called = called or {}
    problems: list[DiagramProblem] = []
    added = {}
    if hasattr(parser, "add_dmn_xml"):
        for name, root in dmn_roots.items():
            problems.extend(_attempt(lambda n=name, r=root: parser.add_dmn_xml(r, filename=n), name, dmn_roots))
    for name, root in group.items():
        found = _attempt(lambda n=name, r=root: parser.add_bpmn_xml(r, filename=n), name, group)
        problems.extend(found)
        if not found:
            added[name] = root
    for name, root in called.items():
        problems.extend(_attempt(lambda n=name, r=root: parser.add_bpmn_xml(r, filename=n), name, called))
    parsed = []
    for name, process in _processes(added):
        if not _is_executable(process):
            continue
        try:
            parsed.append(_parse_process(parser, dialect, name, process, group, called, dmn_roots))
        except DiagramRejected as err:
            problems.extend(err.problems)
    return parsed, problems


def _parse_process(parser: BpmnParser, dialect: Dialect, name: str, process: etree._Element,
                   roots: dict[str, etree._Element], called: dict[str, etree._Element],
                   dmn_roots: dict[str, etree._Element]) -> ParsedProcess:
    """SpiffWorkflow's spec of one process and its JSON form (what instances start from).

    The content hash covers the called files the spec was built with, so redeploying an unchanged
    caller after a called process changed gives a new version that calls the new one; the same
    holds for the DMN files of its decisions.
    """
    root = roots[name]
    pid = process.get("id")
    spec = _spiff(lambda: parser.get_spec(pid), name, roots, process)
    subprocess_specs = _spiff(lambda: parser.get_subprocess_specs(pid), name, roots, process)
    specs_json = _spiff(lambda: serializer_for(dialect).dump_specs(spec, subprocess_specs), name, roots, process)
    _check_timer_starts(spec, dialect, name, root)
    return ParsedProcess(
        key=pid,
        name=process.get("name"),
        dialect=dialect,
        resource=name,
        specs_json=specs_json,
        content_hash=with_decisions_hash(content_hash(root, called, subprocess_specs),
                                         used_decisions([spec, *subprocess_specs.values()]), dmn_roots),
        message_starts=_start_events(process, "messageEventDefinition", root),
        signal_starts=_start_events(process, "signalEventDefinition", root),
        timer_starts=_start_events(process, "timerEventDefinition", root),
    )


def _check_timer_starts(spec, dialect: Dialect, name: str, root: etree._Element) -> None:
    """A timer start event is scheduled at deploy time, so its time must be computable now."""
    engine = CafeScriptEngine(dialect)
    try:
        schedule(spec, lambda expression: engine.evaluate_in(expression, {}))
    except TimerStartError as err:
        line = _known_ids(root).get(err.bpmn_id)
        raise DiagramRejected([DiagramProblem(str(err), file=name, element_id=err.bpmn_id, line=line)]) from err


_REFERENCES = {"messageEventDefinition": ("messageRef", "message"), "signalEventDefinition": ("signalRef", "signal")}


def _start_events(process: etree._Element, definition: str, root: etree._Element) -> list[str]:
    """Message or signal names (or timer ids) of the process's own start events."""
    names = []
    for start in process.findall(f"{{{BPMN_NS}}}startEvent"):
        for d in start.findall(f"{{{BPMN_NS}}}{definition}"):
            if definition in _REFERENCES:
                attribute, element = _REFERENCES[definition]
                ref = d.get(attribute)
                found = root.xpath(f"//*[local-name()='{element}' and @id=$id]", id=ref) if ref else []
                names.append(found[0].get("name") or ref if found else ref)
            else:
                names.append(start.get("id"))
    return [n for n in names if n]

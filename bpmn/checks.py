"""Deploy-time checks that SpiffWorkflow leaves to run time, or reports in confusing terms.

Every condition, script and timer expression is compiled when a diagram is deployed, so a typo
is reported with its element and line instead of failing an instance weeks later. Structural
mistakes SpiffWorkflow would describe misleadingly (a flow to a missing element, a duplicated id)
or not at all (a Java delegate that can never run here) are reported in the modeler's terms.

Every problem names the element a user finds in the modeler (the nearest element with an id) and
that element's own source line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag

from .camunda import CAMUNDA_MODEL_NS
from .dialect import SPIFF_NS, Dialect
from .errors import DiagramProblem
from .expressions import ExpressionError, is_juel, translate
from .sandbox import ScriptRejected, check_expression, check_script
from .unsupported import check_unsupported

PYTHON_SCRIPT_FORMATS = {"", "python", "py", "python3", "text/x-python"}
PYTHON_LANGUAGES = PYTHON_SCRIPT_FORMATS  # the `language` of a conditionExpression, outside Camunda diagrams
JUEL_LANGUAGES = {"", "juel", "el"}
_SPEC_NAMESPACES = ("http://www.omg.org/spec/", "https://www.omg.org/spec/")  # BPMN, DI, DMN: ids are XML ids
_TIMER_TAGS = [full_tag(t) for t in ("timeDuration", "timeDate", "timeCycle")]
_EXPRESSION_TAGS = [full_tag(t) for t in ("conditionExpression", "completionCondition", "loopCondition",
                                          "loopCardinality", "condition")]
_FLOW_CONTAINERS = {full_tag(t) for t in ("process", "subProcess", "transaction", "adHocSubProcess")}
_NOT_FLOW_NODES = {full_tag(t) for t in ("sequenceFlow", "association", "textAnnotation", "group",
                                         "dataObject", "dataObjectReference", "dataStoreReference",
                                         "laneSet", "ioSpecification", "property", "documentation",
                                         "extensionElements")}
_JAVA_ATTRIBUTES = ("class", "delegateExpression")
_ASSIGNMENT_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate", "priority")
_COMPILE_ERRORS = (ScriptRejected, ExpressionError, SyntaxError, RecursionError)
_EXCERPT = 60

CompileCheck = Callable[[str], None]


def _owner(element: etree._Element) -> etree._Element:
    """The nearest ancestor with an id: the element a user recognises in the modeler."""
    node = element
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node if node is not None else element


def problem_at(element: etree._Element, filename: str, reason: str) -> DiagramProblem:
    """A problem of `element`, named by its nearest element with an id (an overlong id shortened)."""
    owner = _owner(element)
    element_id = owner.get("id")
    if element_id is not None and len(element_id) > 80:
        element_id = element_id[:80] + "..."
    return DiagramProblem(reason, file=filename, element_id=element_id, line=owner.sourceline)



def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…")


def _compile_reason(kind: str, element: etree._Element, text: str, err: Exception) -> str:
    """Say where in the code the error is; a script's text starts on its element's line."""
    message = "it is too deeply nested" if isinstance(err, RecursionError) else str(err)
    lineno = getattr(err, "lineno", None)
    if not isinstance(lineno, int):
        return f"{kind} {_excerpt(text)} does not compile: {message}"
    message = message.removeprefix(f"Line {lineno}: ")
    if kind == "expression":
        return f"expression {_excerpt(text)} does not compile: {message}"
    where = f"line {lineno} of the script"
    if element.sourceline is not None:
        where += f" (file line {element.sourceline + lineno - 1})"
    return f"script does not compile: {where}: {message}"


# -- documents -----------------------------------------------------------------------------------

def check_document(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Element ids must be unique in a file: SpiffWorkflow silently keeps the last element with
    an id and then wires flows to the wrong one."""
    seen: dict[str, etree._Element] = {}
    problems = []
    for element in root.iter(etree.Element):
        element_id = element.get("id")
        if element_id is None or not (etree.QName(element).namespace or "").startswith(_SPEC_NAMESPACES):
            continue  # extension elements use `id` for other things (form fields, service parameters)
        first = seen.setdefault(element_id, element)
        if first is not element:
            problems.append(DiagramProblem(
                f"id {element_id!r} is used twice (first at line {first.sourceline}); ids must be unique",
                file=filename, element_id=element_id, line=element.sourceline))
    return problems


# -- processes -----------------------------------------------------------------------------------

def check_process(process: etree._Element, dialect: Dialect, filename: str) -> list[DiagramProblem]:
    """Everything about one process that can be known before it runs."""
    problems = _check_flows(process, filename)
    problems += check_unsupported(process, filename)
    problems += _check_code(process, dialect, filename)
    if dialect is Dialect.CAMUNDA:
        problems += _check_java(process, filename)
        problems += _check_camunda_fields(process, filename)
    return problems


def _check_flows(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """A sequence flow must connect two flow nodes of its own process or sub-process."""
    problems = []
    nodes_of: dict[etree._Element, set[str | None]] = {}  # per container, once: a chain of 2,000 took 8 s
    for flow in process.iter(full_tag("sequenceFlow")):
        container = flow.getparent()
        if container is None or container.tag not in _FLOW_CONTAINERS:
            continue
        nodes = nodes_of.get(container)
        if nodes is None:
            nodes = nodes_of[container] = {child.get("id") for child in container
                                           if isinstance(child.tag, str) and child.tag not in _NOT_FLOW_NODES}
        for attribute in ("sourceRef", "targetRef"):
            ref = flow.get(attribute)
            if not ref:
                problems.append(problem_at(flow, filename, f"sequence flow has no {attribute}"))
            elif ref not in nodes:
                problems.append(problem_at(
                    flow, filename,
                    f"sequence flow {attribute} {ref!r} is not an element of {container.get('id')!r}"))
    return problems


def _check_code(process: etree._Element, dialect: Dialect, filename: str) -> list[DiagramProblem]:
    """Compile every expression and script the way the engine will, without running anything."""
    problems = []
    for element, kind, text in _code(process, dialect):
        try:
            _compiler(kind, element, dialect)(text)
        except _Unsupported as err:
            problems.append(problem_at(element, filename, str(err)))
        except _COMPILE_ERRORS as err:
            problems.append(problem_at(element, filename, _compile_reason(kind, element, text, err)))
    problems += _check_empty_scripts(process, filename)
    return problems


def _code(process: etree._Element, dialect: Dialect) -> Iterator[tuple[etree._Element, str, str]]:
    """(element, kind, text) for every piece of code in a process."""
    for element in process.iter(*_EXPRESSION_TAGS, *_TIMER_TAGS):
        if element.tag == full_tag("condition") and etree.QName(element.getparent()).localname \
                != "conditionalEventDefinition":
            continue
        if element.text and element.text.strip():
            yield element, "expression", element.text.strip()
    for task in process.iter(full_tag("scriptTask")):
        script = task.find(full_tag("script"))
        if script is not None and script.text and script.text.strip():
            yield script, "script", script.text
    if dialect is Dialect.SPIFF:
        yield from _spiff_code(process)


def _spiff_code(process: etree._Element) -> Iterator[tuple[etree._Element, str, str]]:
    """SpiffArena's pre/post scripts and service parameters (Python expressions)."""
    for tag in ("preScript", "postScript"):
        for script in process.iter(f"{{{SPIFF_NS}}}{tag}"):
            if script.text and script.text.strip():
                yield script, "script", script.text
    for parameter in process.iter(f"{{{SPIFF_NS}}}parameter"):
        value = parameter.get("value")
        if value is not None and value.strip():
            yield parameter, "expression", value


class _Unsupported(ValueError):
    """Code in a language this server does not run."""


def _compiler(kind: str, element: etree._Element, dialect: Dialect) -> CompileCheck:
    """The deploy-time check for one piece of code, or _Unsupported for a foreign language."""
    if kind == "script":
        script_format = (_owner(element).get("scriptFormat") or "").strip().lower()
        if element.tag == full_tag("script") and script_format not in PYTHON_SCRIPT_FORMATS:
            raise _Unsupported(f"script format {script_format!r} is not supported; scripts are Python")
        return check_script
    language = (element.get("language") or "").strip().lower()
    if dialect is Dialect.CAMUNDA:
        if language not in JUEL_LANGUAGES:
            raise _Unsupported(f"expression language {language!r} is not supported; use ${{...}} expressions")
        return lambda text: check_expression(translate(text))
    if language not in PYTHON_LANGUAGES:
        raise _Unsupported(f"expression language {language!r} is not supported; expressions are Python")
    return check_expression


def _check_empty_scripts(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """A script task without a script fails every instance that reaches it."""
    problems = []
    for task in process.iter(full_tag("scriptTask")):
        script = task.find(full_tag("script"))
        if script is None or not (script.text or "").strip():
            problems.append(problem_at(task, filename, "script task has no script"))
    return problems


def _juelproblem_at(element: etree._Element, filename: str, what: str, text: str) -> DiagramProblem | None:
    """A Camunda `${...}` field that does not translate or compile, as a problem."""
    try:
        check_expression(translate(text))
    except _COMPILE_ERRORS as err:
        reason = "it is too deeply nested" if isinstance(err, RecursionError) else str(err)
        return problem_at(element, filename, f"{what} {_excerpt(text)}: {reason}")
    return None


def _check_java(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """Camunda tasks implemented by Java classes or beans: there is no JVM here to run them."""
    problems = []
    for element in process.iter(etree.Element):
        for name in _JAVA_ATTRIBUTES:
            value = element.get(f"{{{CAMUNDA_MODEL_NS}}}{name}")
            if value is not None:
                problems.append(problem_at(
                    element, filename,
                    f"camunda:{name} {_excerpt(value)} names Java code, which cannot run here; "
                    "use a script task or a connector"))
        expression = element.get(f"{{{CAMUNDA_MODEL_NS}}}expression")
        if expression is not None:
            problems.append(_juelproblem_at(element, filename, "camunda:expression", expression))
    return [p for p in problems if p is not None]


def _check_camunda_fields(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """Input/output parameters, and assignment attributes that use `${...}` (the task list
    evaluates those and would silently assign nobody if they failed)."""
    found: list[DiagramProblem | None] = []
    for tag in ("inputParameter", "outputParameter"):
        for param in process.iter(f"{{{CAMUNDA_MODEL_NS}}}{tag}"):
            if not len(param) and param.text:
                found.append(_juelproblem_at(param, filename, f"parameter {param.get('name')!r}", param.text))
    for element in process.iter(etree.Element):
        for name in _ASSIGNMENT_ATTRIBUTES:
            value = element.get(f"{{{CAMUNDA_MODEL_NS}}}{name}")
            if value is not None and is_juel(value):
                found.append(_juelproblem_at(element, filename, f"camunda:{name}", value))
    return [p for p in found if p is not None]

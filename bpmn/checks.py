"""Deploy-time checks that SpiffWorkflow leaves to run time.

Every condition, script and timer expression is compiled when a diagram is deployed, so a typo
is reported with its element and line instead of failing an instance weeks later.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag

from .camunda import CAMUNDA_MODEL_NS
from .dialect import Dialect
from .errors import DiagramProblem
from .expressions import ExpressionError, translate
from .sandbox import ScriptRejected, check_expression, check_script

PYTHON_SCRIPT_FORMATS = {"", "python", "py", "python3", "text/x-python"}
_TIMER_TAGS = [full_tag(t) for t in ("timeDuration", "timeDate", "timeCycle")]


def _owner(element: etree._Element) -> etree._Element:
    """The nearest ancestor with an id: the element a user recognises in the modeler."""
    node = element
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node if node is not None else element


def _problem(element: etree._Element, filename: str, reason: str) -> DiagramProblem:
    owner = _owner(element)
    return DiagramProblem(reason, file=filename, element_id=owner.get("id"), line=element.sourceline)


def _expressions(process: etree._Element) -> Iterator[tuple[etree._Element, str, str]]:
    """(element, kind, text) for every piece of code in a process."""
    for cond in process.iter(full_tag("conditionExpression"), full_tag("completionCondition")):
        if cond.text and cond.text.strip():
            yield cond, "expression", cond.text.strip()
    for tag in _TIMER_TAGS:
        for timer in process.iter(tag):
            if timer.text and timer.text.strip():
                yield timer, "expression", timer.text.strip()
    for task in process.iter(full_tag("scriptTask")):
        script = task.find(full_tag("script"))
        if script is not None and script.text:
            yield script, "script:" + (task.get("scriptFormat") or "").lower(), script.text


def check_process(process: etree._Element, dialect: Dialect, filename: str) -> list[DiagramProblem]:
    problems: list[DiagramProblem] = []
    for element, kind, text in _expressions(process):
        try:
            if kind.startswith("script:"):
                script_format = kind.split(":", 1)[1]
                if script_format not in PYTHON_SCRIPT_FORMATS:
                    problems.append(
                        _problem(element, filename, f"script format {script_format!r} is not supported; "
                                 "scripts are Python")
                    )
                    continue
                check_script(text)
            elif dialect is Dialect.CAMUNDA:
                check_expression(translate(text))
            else:
                check_expression(text)
        except (ScriptRejected, ExpressionError, SyntaxError) as err:
            problems.append(_problem(element, filename, f"{kind.split(':')[0]} {text!r} does not compile: {err}"))
    if dialect is Dialect.CAMUNDA:
        problems.extend(_check_camunda_parameters(process, filename))
    return problems


def _check_camunda_parameters(process: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    for tag in ("inputParameter", "outputParameter"):
        for param in process.iter("{%s}%s" % (CAMUNDA_MODEL_NS, tag)):
            if len(param) or not param.text:
                continue
            try:
                check_expression(translate(param.text))
            except (ScriptRejected, ExpressionError, SyntaxError) as err:
                problems.append(_problem(param, filename, f"parameter {param.get('name')!r}: {err}"))
    return problems

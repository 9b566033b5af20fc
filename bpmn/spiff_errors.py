"""Calling SpiffWorkflow's parser on uploaded XML: any failure becomes a precise DiagramProblem.

SpiffWorkflow's parser is third-party code that reports some mistakes as ValidationException and
trips over others with whatever Python raises (KeyError, IndexError, AttributeError, ...). Every
call into it goes through `spiff_call`, which turns any exception into a DiagramProblem and
recovers the element it was working on from the traceback when the exception does not say.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TypeVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from .errors import DiagramProblem, DiagramRejected

log = logging.getLogger("bpmn.definitions")

T = TypeVar("T")


def spiff_call(call: Callable[[], T], filename: str, roots: dict[str, etree._Element],
           fallback: etree._Element | None = None) -> T:
    """Run one SpiffWorkflow step; whatever it raises becomes DiagramRejected with file, element, line.

    Anything is caught on purpose: the parser meets arbitrary uploaded XML and its failures are
    facts about the diagram, never a reason for a 500. Failures that are not its own
    ValidationException are logged, since they may point at a gap in the checks above.
    """
    try:
        return call()
    except Exception as err:  # noqa: BLE001 - see docstring
        if not isinstance(err, ValidationException):
            log.warning("SpiffWorkflow failed on %s with %s", filename, type(err).__name__, exc_info=True)
        raise DiagramRejected([_spiff_problem(err, filename, roots, fallback)]) from err


def attempt(call: Callable[[], object], filename: str, roots: dict[str, etree._Element]) -> list[DiagramProblem]:
    """`spiff_call` for steps whose result is not needed: the problems, or an empty list."""
    try:
        spiff_call(call, filename, roots)
    except DiagramRejected as err:
        return err.problems
    return []


def _spiff_problem(err: Exception, filename: str, roots: dict[str, etree._Element],
                   fallback: etree._Element | None) -> DiagramProblem:
    """The problem in the file SpiffWorkflow names (a called process may live in another file)."""
    file = getattr(err, "file_name", None) or filename
    if file not in roots:
        file = filename
    where = _locate(err, roots[file]) if file in roots else None
    if where is None and fallback is not None and file == filename:
        where = fallback.get("id"), fallback.sourceline
    element_id, line = where or (None, None)
    return DiagramProblem(_reason(err), file=file, element_id=element_id, line=line)


def _locate(err: Exception, root: etree._Element) -> tuple[str | None, int | None] | None:
    """(element id, line) of what SpiffWorkflow was working on, when it can be found.

    Its ValidationException names the id (its `line_number` is always empty with lxml); for
    KeyError, IndexError and the like the frames that raised them hold the element or task spec.
    """
    known = known_ids(root)
    if isinstance(err, ValidationException) and err.id in known:
        return err.id, known[err.id]
    for frame in _frames_innermost_first(err):
        element = _deepest_element(frame.f_locals.values(), root)
        if element is not None:
            return element.get("id"), element.sourceline
        for name in ("spec", "task_spec", "self"):
            element_id = _spec_id(frame.f_locals.get(name))
            if element_id in known:
                return element_id, known[element_id]
    return None


def _caused_by(err: BaseException, kind: type[BaseException]) -> bool:
    """SpiffWorkflow wraps what its task parsers meet in a ValidationException; look underneath."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _frames_innermost_first(err: BaseException) -> list[FrameType]:
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames[::-1]


def _deepest_element(values: Iterable[object], root: etree._Element) -> etree._Element | None:
    """The most specific element of this document among a frame's locals (not the root itself)."""
    elements = [v for v in values if isinstance(v, etree._Element) and v is not root
                and v.getroottree().getroot() is root]
    return max(elements, key=lambda e: sum(1 for _ in e.iterancestors()), default=None)


def _spec_id(value: object) -> str | None:
    """The BPMN id of a task spec or of the element a SpiffWorkflow parser holds."""
    attributes = getattr(value, "__dict__", None) or {}
    node = attributes.get("node")
    if isinstance(node, etree._Element):
        return node.get("id")
    bpmn_id = attributes.get("bpmn_id")
    return bpmn_id if isinstance(bpmn_id, str) else None


def known_ids(root: etree._Element) -> dict[str, int | None]:
    """Element id -> source line. lxml knows the line; SpiffWorkflow's `line_number` is always empty."""
    lines: dict[str, int | None] = {}
    for element in root.iter(etree.Element):
        element_id = element.get("id")
        if element_id is not None:
            lines.setdefault(element_id, element.sourceline)
    return lines


def _reason(err: Exception) -> str:
    """The message without SpiffWorkflow's trailing '. ' and with its notes, if any."""
    if _caused_by(err, RecursionError):
        return ("the process is too long or too deeply nested to parse (Python's recursion limit was "
                "reached); split it into sub-processes or call activities")
    message = str(err.args[0]) if err.args else ""
    notes = [str(n) for n in (getattr(err, "notes", None) or getattr(err, "__notes__", None) or [])]
    text = ". ".join(part.strip().rstrip(".") for part in [message, *notes] if part.strip())
    if isinstance(err, ValidationException):
        return text or "the diagram is not valid"
    return f"the diagram could not be parsed ({type(err).__name__}{': ' + text if text else ''})"

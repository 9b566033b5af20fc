"""Errors of the BPMN layer, shaped so that the API can name file, element and line."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from SpiffWorkflow.exceptions import SpiffWorkflowException


@dataclass(frozen=True)
class DiagramProblem:
    """One reason a diagram cannot be deployed."""

    reason: str
    file: str | None = None
    element_id: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file,
                f"element {self.element_id}" if self.element_id else None,
                f"line {self.line}" if self.line else None,
            )
            if part
        )
        return f"{where}: {self.reason}" if where else self.reason


class DiagramRejected(ValueError):
    """A deployment was refused; `problems` says why, one entry per problem found."""

    def __init__(self, problems: list[DiagramProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class RunError(Exception):
    """A script, expression or service failed while an instance ran.

    Carries the BPMN element so the server can open an incident on it.
    """

    def __init__(self, message: str, element_id: str | None = None, task_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.task_id = task_id


class NotWaiting(LookupError):
    """An event or task completion reached an instance that was not waiting for it."""


_SPIFF_TYPE_PREFIX = re.compile(r"^(\w+):(?! )")  # "ValueError:variable ..." -> "ValueError: variable ..."


def failure_message(err: Exception) -> str:
    """What an incident says about `err`: its type and message, the script line, and its notes."""
    if isinstance(err, SpiffWorkflowException):
        # SpiffWorkflow renders "Type:message. note. " with its own notes already appended
        message = _SPIFF_TYPE_PREFIX.sub(r"\1: ", str(err).strip().rstrip(".").rstrip()) or type(err).__name__
        if getattr(err, "line_number", None):
            message = f"{message} (script line {err.line_number})"
    else:  # a bare KeyError('x') would read only "'x'"
        message = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    for note in getattr(err, "__notes__", []) or []:
        if note not in message:
            message = f"{message}. {note}"
    return message

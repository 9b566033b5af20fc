"""Camunda's transaction boundaries: `camunda:asyncBefore` and `camunda:asyncAfter`.

Camunda ends the transaction before (or after) such an element and leaves the rest to its job
executor: the request that reached the element answers at once, and the element (or what follows
it) runs in a job. Here an advance stops at the boundary with status "running", which makes the
store write a continue job, as a spent step budget does; the job's advance is a *continuation*,
and only a continuation takes a task past a boundary. Any other advance (a task completed on
another path, a message) stops at a held task again, so a slow script never runs inside a user's
request.

A held task carries a mark in its internal data, which the saved state keeps:

- `BEFORE`: the run stopped before this asyncBefore element; a continuation runs it.
- `AFTER`: it follows an asyncAfter element; a continuation takes it on, and stops again if it
  has asyncBefore itself (Camunda's two jobs).

A continuation takes the mark off the task it lets pass, so each boundary is passed once, and a
task that fails there and is retried stops at its boundary again and runs in a job, as Camunda's
retried job does.
"""

from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

ASYNC_BEFORE = "asyncBefore"
ASYNC_AFTER = "asyncAfter"
HOLD = "async_hold"  # key in a task's internal data
BEFORE = "before"
AFTER = "after"


class AsyncBoundary(Exception):
    """The run reached a transaction boundary: what lies beyond it runs in a continue job."""


def _flag(spec, name: str) -> bool:
    """Whether a spec's copied Camunda attribute `name` is "true" (text as in the diagram)."""
    extensions = getattr(spec, "extensions", None)
    value = extensions.get(name) if isinstance(extensions, dict) else None
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def has_boundaries(specs: Iterable[BpmnProcessSpec]) -> bool:
    """Whether any element of these processes has asyncBefore or asyncAfter: computed once per
    restored spec bundle, so instances of other diagrams pay nothing per task."""
    return any(_flag(task_spec, ASYNC_BEFORE) or _flag(task_spec, ASYNC_AFTER)
               for spec in specs for task_spec in spec.task_specs.values())


def check_before(task: Task, continuation: bool) -> None:
    """Called before the engine runs `task`; raises `AsyncBoundary` unless it may run now."""
    data = task.internal_data
    mark = data.pop(HOLD, None)
    if mark is not None and not continuation:
        data[HOLD] = mark
        raise AsyncBoundary()
    if mark != BEFORE and _flag(task.task_spec, ASYNC_BEFORE):
        data[HOLD] = BEFORE
        raise AsyncBoundary()


def hold_after(task: Task) -> bool:
    """After `task` completed: if it has asyncAfter, hold what follows it for a continuation.
    Returns whether it did (the caller then stops running)."""
    if task.state != TaskState.COMPLETED or not _flag(task.task_spec, ASYNC_AFTER):
        return False
    for child in task.children:
        if not child.has_state(TaskState.FINISHED_MASK):
            child.internal_data[HOLD] = AFTER
    return True

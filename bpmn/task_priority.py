"""An external task's priority: Camunda's `camunda:taskPriority`.

Set on the service task, or else on its process (the default for all of its external tasks),
as a whole number or an expression such as `${prio}`, which is evaluated when the task is
created, with the data the task sees then; without either the priority is 0. Workers that fetch
with `usePriority` get the highest first.
"""

from __future__ import annotations

from typing import Any

from .errors import RunError

PRIORITY_RANGE = (-(2**31), 2**31 - 1)  # kept as a JSON number, compared in SQL as an integer


def task_priority(engine, task, text: str | None) -> int:
    """The priority `text` gives this task; a value that is not a whole number in PRIORITY_RANGE
    fails the task (an incident naming it), as Camunda refuses such a priority."""
    if text is None or not text.strip():
        return 0
    value: Any = engine.evaluate(task, text) if "${" in text or "#{" in text else text.strip()
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        priority = int(value)
    except (TypeError, ValueError, OverflowError):
        priority = None
    if priority is None or not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
        raise RunError(f"camunda:taskPriority {text!r} is {str(value)[:40]!r}; it must be a whole number from "
                       f"{PRIORITY_RANGE[0]} to {PRIORITY_RANGE[1]}", element_id=task.task_spec.bpmn_id,
                       task_id=str(task.id))
    return priority

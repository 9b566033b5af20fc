"""The task list in another order than creation order, or with filters tested in Python.

The task search (services/task_search.py) reads a page from index ranges already in list order,
creation then id. Another order (Camunda's `sortBy`) has no such ranges, so the matching tasks of
all ranges are collected (their union, without duplicates), sorted by the database and cut to
the page; filters tested in Python (services/task_criteria.py) and the due date, which is text,
read every matching task and sort in Python. Either reads every matching task, where the default
order reads a page: a queue of many thousand tasks is slower to sort than to page.

A missing value sorts below every value and text by code point, in SQL and in Python alike
(services/sql_text.py), so a page is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, func, select, union
from sqlalchemy.orm import Session

from ..models import OpenTask, ProcessInstance
from .sql_text import ordered
from .task_criteria import DEFAULT_PRIORITY, due_date

if TYPE_CHECKING:
    from .task_search import TaskFilter, _Range

INSTANCE_TENANT = (select(ProcessInstance.tenant_id).where(ProcessInstance.id == OpenTask.instance_id)
                   .correlate(OpenTask).scalar_subquery())

# Camunda's task sortBy values: (SQL key, is text, Python key). Values no task here has
# (case ids, lastUpdated, followUpDate) are equal for every task, which leaves the order by id.
SORTS: dict[str, tuple[ColumnElement | None, bool, Callable[[OpenTask], Any]]] = {
    "created": (OpenTask.created_at, False, lambda t: t.created_at),
    "id": (OpenTask.id, True, lambda t: t.id),
    "name": (OpenTask.name, True, lambda t: t.name),
    "nameCaseInsensitive": (func.lower(OpenTask.name), True, lambda t: t.name.lower() if t.name else None),
    "assignee": (OpenTask.assignee, True, lambda t: t.assignee),
    "priority": (func.coalesce(OpenTask.priority, DEFAULT_PRIORITY), False,
                 lambda t: DEFAULT_PRIORITY if t.priority is None else t.priority),
    "description": (OpenTask.documentation, True, lambda t: t.documentation),
    "instanceId": (OpenTask.instance_id, True, lambda t: t.instance_id),
    "executionId": (OpenTask.instance_id, True, lambda t: t.instance_id),  # TaskDto's executionId
    "dueDate": (None, False, due_date),  # text in any format: sorted in Python
    "tenantId": (INSTANCE_TENANT, True, None),
    "caseInstanceId": (None, False, lambda t: None),
    "caseExecutionId": (None, False, lambda t: None),
    "lastUpdated": (None, False, lambda t: None),
    "followUpDate": (None, False, lambda t: None),
}


def needed(flt: TaskFilter) -> bool:
    """Whether `flt` needs this search rather than the paged one."""
    return (flt.sort not in (None, "created") or flt.descending
            or (flt.criteria is not None and flt.criteria.in_python()))


def search(session: Session, ranges: list[_Range], flt: TaskFilter) -> tuple[list[OpenTask], int]:
    """One page of the tasks of `ranges`, in `flt`'s order (then by id), and their exact total."""
    parts = [r.rows(None, ordered=False) for r in ranges]
    matched = (union(*parts) if len(parts) > 1 else parts[0]).subquery()
    query: Select = select(OpenTask).where(OpenTask.id.in_(select(matched.c.task_id)))
    column, text, python_key = SORTS[flt.sort or "created"]
    if (flt.criteria is not None and flt.criteria.in_python()) or (column is None and flt.sort == "dueDate"):
        return _in_python(session, query, flt, python_key)
    total = session.scalar(select(func.count()).select_from(matched)) or 0
    if flt.limit <= 0 or total <= flt.offset:
        return [], total
    order = [ordered(column, flt.descending, text)] if column is not None else []
    rows = session.scalars(query.order_by(*order, OpenTask.id).offset(flt.offset).limit(flt.limit))
    return list(rows), total


def _in_python(session: Session, query: Select, flt: TaskFilter,
               key: Callable[[OpenTask], Any] | None) -> tuple[list[OpenTask], int]:
    tasks = list(session.scalars(query.order_by(OpenTask.id)))
    criteria = flt.criteria
    if criteria is not None and criteria.in_python():
        variables = _variables(session, {t.instance_id for t in tasks}) if criteria.variables else {}
        tasks = [t for t in tasks if criteria.keep(t, variables.get(t.instance_id))]
    if key is None:  # the tenant: read per instance
        tenants = instance_tenants(session, {t.instance_id for t in tasks})
        key = lambda t: tenants.get(t.instance_id)  # noqa: E731
    # stable sorts: by id, then by the key with a missing value lowest (reverse keeps ties by id)
    tasks.sort(key=lambda t: _lowest_none(key(t)), reverse=flt.descending)
    return tasks[flt.offset:flt.offset + max(flt.limit, 0)], len(tasks)


def _lowest_none(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)


def _variables(session: Session, instance_ids: set[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    ids = sorted(instance_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(select(ProcessInstance.id, ProcessInstance.variables)
                               .where(ProcessInstance.id.in_(ids[start:start + 500])))
        found.update({instance_id: variables or {} for instance_id, variables in rows})
    return found


def instance_tenants(session: Session, instance_ids: set[str]) -> dict[str, str | None]:
    """The tenant of each instance: a task's tenant (TaskDto's tenantId)."""
    found: dict[str, str | None] = {}
    ids = sorted(instance_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(select(ProcessInstance.id, ProcessInstance.tenant_id)
                               .where(ProcessInstance.id.in_(ids[start:start + 500])))
        found.update(dict(rows.all()))
    return found

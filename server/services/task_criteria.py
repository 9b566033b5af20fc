"""The task list's filters beyond the native API's: those Camunda clients send to `/task`.

Most are conditions on the task row or on its instance (a primary key probe each), added to the
conditions the task search (services/task_search.py) tests on each task of the ranges it reads.
Three are tested in Python on the tasks the others leave: due dates, which a diagram's
`camunda:dueDate` expression gives as text in any format (tests/diagrams), and conditions on an
instance's variables, a JSON document (as for instances, services/instance_queries.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import ColumnElement, false, func, literal, or_, select

from ..models import OpenTask, ProcessDefinition, ProcessInstance, TaskCandidate
from .instance_queries import VariableCondition
from .sql_text import like

TASKS, CANDIDATES = OpenTask.__table__, TaskCandidate.__table__
INSTANCES, DEFINITIONS = ProcessInstance.__table__, ProcessDefinition.__table__
DEFAULT_PRIORITY = 50  # what a task without `camunda:priority` has, in Camunda and in TaskDto


@dataclass
class TaskCriteria:
    task_ids: list[str] = field(default_factory=list)
    name: str | None = None  # name and name patterns ignore case, as Camunda's do
    name_not: str | None = None
    name_like: str | None = None
    name_not_like: str | None = None
    description: str | None = None
    description_like: str | None = None
    instance_ids: list[str] = field(default_factory=list)
    business_keys: list[str] = field(default_factory=list)
    business_key_like: str | None = None
    bpmn_ids: list[str] = field(default_factory=list)
    bpmn_id_like: str | None = None
    definition_keys: list[str] = field(default_factory=list)
    definition_name: str | None = None
    definition_name_like: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    assignees: list[str] = field(default_factory=list)
    assignees_not: list[str] = field(default_factory=list)
    assignee_like: str | None = None
    involved_user: str | None = None
    priority: int | None = None
    min_priority: int | None = None
    max_priority: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    created_on: datetime | None = None
    candidate_groups: bool | None = None  # True: with a candidate group; False: without one
    candidate_users: bool | None = None
    nothing: bool = False  # a filter no task here meets (an owner, suspended, a delegation state)
    due_after: datetime | None = None
    due_before: datetime | None = None
    due_on: datetime | None = None
    without_due: bool = False
    variables: list[VariableCondition] = field(default_factory=list)
    names_ignore_case: bool = False
    values_ignore_case: bool = False

    def in_python(self) -> bool:
        """Whether some filter is tested in Python (the search then reads every matching task)."""
        return bool(self.variables or self.due_after or self.due_before or self.due_on or self.without_due)

    def sql(self) -> tuple[ColumnElement[bool], ...]:
        task = TASKS.c
        lower = func.lower(task.name)
        instance = _instance_has
        conditions = [
            task.id.in_(self.task_ids) if self.task_ids else None,
            lower == self.name.lower() if self.name else None,
            or_(lower != self.name_not.lower(), task.name.is_(None)) if self.name_not else None,
            lower.like(self.name_like.lower(), escape="\\") if self.name_like else None,
            or_(~lower.like(self.name_not_like.lower(), escape="\\"), task.name.is_(None))
            if self.name_not_like else None,
            task.documentation == self.description if self.description else None,
            like(task.documentation, self.description_like) if self.description_like else None,
            task.instance_id.in_(self.instance_ids) if self.instance_ids else None,
            instance(INSTANCES.c.business_key.in_(self.business_keys)) if self.business_keys else None,
            instance(like(INSTANCES.c.business_key, self.business_key_like)) if self.business_key_like else None,
            task.bpmn_id.in_(self.bpmn_ids) if self.bpmn_ids else None,
            like(task.bpmn_id, self.bpmn_id_like) if self.bpmn_id_like else None,
            task.definition_key.in_(self.definition_keys) if self.definition_keys else None,
            _definition_has(DEFINITIONS.c.name == self.definition_name) if self.definition_name else None,
            _definition_has(like(DEFINITIONS.c.name, self.definition_name_like))
            if self.definition_name_like else None,
            _tenant(self.tenant_ids, self.without_tenant),
            task.assignee.in_(self.assignees) if self.assignees else None,
            or_(task.assignee.not_in(self.assignees_not), task.assignee.is_(None)) if self.assignees_not else None,
            like(task.assignee, self.assignee_like) if self.assignee_like else None,
            or_(task.assignee == self.involved_user, _candidate("user", self.involved_user))
            if self.involved_user else None,
            _priority() == self.priority if self.priority is not None else None,
            _priority() >= self.min_priority if self.min_priority is not None else None,
            _priority() <= self.max_priority if self.max_priority is not None else None,
            task.created_at > self.created_after if self.created_after else None,
            task.created_at < self.created_before if self.created_before else None,
            # Camunda's dates have milliseconds: "created on" is that millisecond
            task.created_at >= self.created_on if self.created_on else None,
            task.created_at < self.created_on + timedelta(milliseconds=1) if self.created_on else None,
            _has_candidate("group", self.candidate_groups),
            _has_candidate("user", self.candidate_users),
            false() if self.nothing else None,
        ]
        return tuple(c for c in conditions if c is not None)

    def keep(self, task: OpenTask, variables: dict | None) -> bool:
        """The filters tested in Python, on a task the SQL conditions kept."""
        if self.due_after or self.due_before or self.due_on or self.without_due:
            due = due_date(task)
            if self.without_due:
                return due is None and self._variables_hold(variables)
            if due is None or (self.due_after and due <= self.due_after) or (
                    self.due_before and due >= self.due_before) or (self.due_on and due != self.due_on):
                return False
        return self._variables_hold(variables)

    def _variables_hold(self, variables: dict | None) -> bool:
        return all(c.holds(variables or {}, self.names_ignore_case, self.values_ignore_case)
                   for c in self.variables)


def due_date(task: OpenTask) -> datetime | None:
    """A task's due date when its text is a date (TaskDto shows the others as null)."""
    if not task.due:
        return None
    try:
        parsed = datetime.fromisoformat(_iso(task.due.strip()))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _iso(text: str) -> str:
    """Camunda's `+0200` offset and `Z` as Python reads them."""
    if text.endswith("Z"):
        return text[:-1] + "+00:00"
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        return text[:-2] + ":" + text[-2:]
    return text


def _priority() -> ColumnElement:
    return func.coalesce(TASKS.c.priority, DEFAULT_PRIORITY)


def _instance_has(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The task's instance meets `condition` (a primary key probe)."""
    return select(literal(1)).where(INSTANCES.c.id == TASKS.c.instance_id, condition).exists()


def _definition_has(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return select(literal(1)).where(DEFINITIONS.c.id == TASKS.c.definition_id, condition).exists()


def _tenant(ids: list[str], without: bool) -> ColumnElement[bool] | None:
    """A task's tenant is its instance's."""
    column = INSTANCES.c.tenant_id
    if ids and without:
        return _instance_has(or_(column.in_(ids), column.is_(None)))
    if ids:
        return _instance_has(column.in_(ids))
    return _instance_has(column.is_(None)) if without else None


def _candidate(kind: str, name: str) -> ColumnElement[bool]:
    other = CANDIDATES.alias()  # never the rows of a queue the search reads
    return select(literal(1)).where(other.c.task_id == TASKS.c.id, other.c.kind == kind,
                                    other.c.name == name).exists()


def _has_candidate(kind: str, wanted: bool | None) -> ColumnElement[bool] | None:
    if wanted is None:
        return None
    other = CANDIDATES.alias()
    exists = select(literal(1)).where(other.c.task_id == TASKS.c.id, other.c.kind == kind).exists()
    return exists if wanted else ~exists


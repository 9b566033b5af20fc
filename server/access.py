"""Who may see and act on what: every resource-level rule lives here, not in handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.sql.elements import ColumnElement

from .models import HistoryEvent, OpenTask, ProcessInstance, TaskCandidate


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    groups: tuple[str, ...] = field(default_factory=tuple)
    is_admin: bool = False


def is_candidate(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the open task names the caller, or one of their groups, as a candidate
    (admins included: the web task list shows an admin the group queue of their own groups)."""
    return exists().where(
        TaskCandidate.task_id == OpenTask.id,
        or_(
            and_(TaskCandidate.kind == "user", TaskCandidate.name == principal.name),
            and_(TaskCandidate.kind == "group", TaskCandidate.name.in_(principal.groups or ("",))),
        ),
    )


def task_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the open task is assigned to the caller or lists them as a candidate."""
    if principal.is_admin:
        return OpenTask.id.is_not(None)
    return or_(OpenTask.assignee == principal.name, and_(OpenTask.assignee.is_(None), is_candidate(principal)))


def can_work_on(principal: Principal, task: OpenTask) -> bool:
    """Assignee, or a candidate of an unassigned task; admins always."""
    if principal.is_admin:
        return True
    if task.assignee:
        return task.assignee == principal.name
    return principal.name in (task.candidate_users or []) or bool(
        set(principal.groups) & set(task.candidate_groups or [])
    )


def can_claim(principal: Principal, task: OpenTask) -> bool:
    if principal.is_admin:
        return True
    return principal.name in (task.candidate_users or []) or bool(
        set(principal.groups) & set(task.candidate_groups or [])
    ) or task.assignee == principal.name


def instance_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the caller started the instance, has a task in it, or worked on it."""
    if principal.is_admin:
        return ProcessInstance.id.is_not(None)
    has_task = exists(
        select(OpenTask.id).where(OpenTask.instance_id == ProcessInstance.id, task_visible(principal))
    )
    worked_on = exists().where(HistoryEvent.instance_id == ProcessInstance.id, HistoryEvent.user == principal.name)
    return or_(ProcessInstance.started_by == principal.name, has_task, worked_on)

"""The web task list: its sections (mine, my groups' queue, all, recently completed), their
counts, text search, and the task a person should see next after completing one.

The native API's `tasks.search` answers one filter at a time; a person's list needs the
sections side by side with their counts, which is what this module computes, with the same
visibility rules (server.access).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, case, exists, or_, select
from sqlalchemy.orm import Session

from ..access import Principal, can_claim, can_work_on, is_candidate, is_visible, task_visible
from ..models import HistoryEvent, OpenTask, ProcessDefinition, ProcessInstance, TaskCandidate
from . import tasks
from .counting import COUNT_CAP, count_up_to
from .deployments import resource_content

OPEN_SECTIONS = ("mine", "group", "all")
SECTIONS = (*OPEN_SECTIONS, "completed")
RECENT_DAYS = 14


@dataclass
class WorklistQuery:
    section: str = "mine"
    text: str = ""
    definition_key: str = ""
    limit: int = 50
    offset: int = 0


@dataclass
class TaskRow:
    task: OpenTask
    business_key: str | None


@dataclass
class CompletedRow:
    event: HistoryEvent
    definition_key: str | None
    business_key: str | None


@dataclass
class TaskPage:
    """What the task page shows: the task, its instance, its form documents and what the
    signed-in person may do with it."""

    task: OpenTask
    instance: ProcessInstance | None
    schema: dict | None
    ui_schema: dict | None
    may_work: bool
    may_claim: bool


def sections_for(principal: Principal) -> tuple[str, ...]:
    """Everybody has their own tasks, their groups' queue and their history; admins also see all."""
    return SECTIONS if principal.is_admin else ("mine", "group", "completed")


def _open_query(principal: Principal, section: str) -> Select:
    query = (select(OpenTask, ProcessInstance.business_key)
             .join(ProcessInstance, ProcessInstance.id == OpenTask.instance_id)
             .where(task_visible(principal)))
    if section == "mine":
        return query.where(OpenTask.assignee == principal.name)
    if section == "group":
        return query.where(OpenTask.assignee.is_(None), is_candidate(principal))
    return query


def _filtered(query: Select, q: WorklistQuery) -> Select:
    if q.definition_key:
        query = query.where(OpenTask.definition_key == q.definition_key)
    if q.text:
        text = q.text.strip()
        query = query.where(or_(OpenTask.name.icontains(text, autoescape=True),
                                OpenTask.bpmn_id.icontains(text, autoescape=True),
                                OpenTask.definition_key.icontains(text, autoescape=True),
                                OpenTask.definition_key.in_(_keys_named(text)),
                                ProcessInstance.business_key.icontains(text, autoescape=True)))
    return query


def _keys_named(text: str) -> Select:
    """Keys of the processes whose name holds `text`: people search for the name the process
    filter shows them. One subquery over the (small) definitions table."""
    return select(ProcessDefinition.key).where(ProcessDefinition.name.icontains(text, autoescape=True)).distinct()


def _completed_query(principal: Principal, q: WorklistQuery) -> Select:
    since = datetime.now(timezone.utc) - timedelta(days=RECENT_DAYS)
    query = (select(HistoryEvent, ProcessInstance.definition_key, ProcessInstance.business_key)
             .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
             .where(HistoryEvent.kind == "task_completed", HistoryEvent.user == principal.name,
                    HistoryEvent.at >= since))
    if q.definition_key:
        query = query.where(ProcessInstance.definition_key == q.definition_key)
    if q.text:
        text = q.text.strip()
        query = query.where(or_(HistoryEvent.name.icontains(text, autoescape=True),
                                HistoryEvent.bpmn_id.icontains(text, autoescape=True),
                                ProcessInstance.definition_key.in_(_keys_named(text)),
                                ProcessInstance.business_key.icontains(text, autoescape=True)))
    return query


def counts(session: Session, principal: Principal, q: WorklistQuery) -> dict[str, int]:
    """How many entries each section holds under the current search, counted up to COUNT_CAP + 1
    (meaning "more"): an exact count of a queue of 20,000 tasks would read all of them at every
    poll of every open list page."""
    result = {}
    for section in sections_for(principal):
        if section == "completed":
            query = _completed_query(principal, q)
        else:
            query = _filtered(_open_query(principal, section), q)
        result[section] = count_up_to(session, query, COUNT_CAP)
    return result


def count_label(count: int) -> str:
    """How a section's count reads: "1000+" once it is past the cap."""
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


def open_tasks(session: Session, principal: Principal, q: WorklistQuery) -> list[TaskRow]:
    query = _filtered(_open_query(principal, q.section), q)
    query = query.order_by(OpenTask.priority.desc().nulls_last(), OpenTask.created_at, OpenTask.id)
    return [TaskRow(t, bk) for t, bk in session.execute(query.limit(q.limit).offset(q.offset))]


def completed(session: Session, principal: Principal, q: WorklistQuery) -> list[CompletedRow]:
    query = _completed_query(principal, q).order_by(HistoryEvent.id.desc())
    return [CompletedRow(e, k, bk) for e, k, bk in session.execute(query.limit(q.limit).offset(q.offset))]


def digest(rows: list, counts_: dict[str, int]) -> str:
    """A fingerprint of what the list shows, so a polling page knows when to fetch it again."""
    ids = [(r.task.id, r.task.assignee) if isinstance(r, TaskRow) else r.event.id for r in rows]
    return hashlib.sha1(json.dumps([ids, counts_], sort_keys=True).encode()).hexdigest()[:16]


def task_page(session: Session, principal: Principal, task_id: str) -> TaskPage:
    task = tasks.get_visible(session, principal, task_id)
    schema = ui_schema = None
    if (task.form or {}).get("kind") == "json-schema":
        schema = tasks.form_schema(session, task)
        ui_file = task.form.get("ui_schema_file")
        if ui_file:
            content = resource_content(session, session.get(ProcessDefinition, task.definition_id), ui_file)
            try:
                ui_schema = json.loads(content) if content else None
            except ValueError:
                ui_schema = None
    return TaskPage(task=task, instance=session.get(ProcessInstance, task.instance_id), schema=schema,
                    ui_schema=ui_schema if isinstance(ui_schema, dict) else None,
                    may_work=can_work_on(principal, task),
                    may_claim=task.assignee is None and can_claim(principal, task) and not is_social(task))


def is_social(task: OpenTask) -> bool:
    """A social step (review, image) is not claimed: everyone it asks votes or uploads at once, and
    a claim would hide it from the others (task_visible)."""
    return (task.type or "").startswith("social.")


def next_task_for(session: Session, principal: Principal, instance_id: str) -> OpenTask | None:
    """After a completion: the open task of the same instance this person should do next,
    their own before their groups' queue. For admins that includes tasks that name nobody
    (only admins can see those), but not other people's queues."""
    unassigned = is_candidate(principal)
    if principal.is_admin:
        unassigned = or_(unassigned, ~exists().where(TaskCandidate.task_id == OpenTask.id))
    query = (select(OpenTask).where(OpenTask.instance_id == instance_id, task_visible(principal),
                                    or_(OpenTask.assignee == principal.name,
                                        OpenTask.assignee.is_(None) & unassigned))
             .order_by(case((OpenTask.assignee == principal.name, 0), else_=1), OpenTask.created_at, OpenTask.id))
    return session.scalars(query.limit(1)).first()


def why_not_open(session: Session, principal: Principal, task_id: str) -> str:
    """For someone whose submission found no open task of theirs, told only what they may know:
    who took it meanwhile (to one of its candidates), who completed it or that it closed otherwise
    (cancelled, gone with its instance: to those who may see the instance); to anybody else, that
    no open task of theirs has the id, as the API's 404 says."""
    task = session.get(OpenTask, task_id)
    if task is not None:
        if task.assignee and task.assignee != principal.name and can_claim(principal, task):
            return f"{task.assignee} took this task meanwhile"
        return "no open task of yours has this id"
    event = session.scalars(select(HistoryEvent).where(HistoryEvent.task_id == task_id,
                                                       HistoryEvent.kind.in_(("task_completed", "task_cancelled")))
                            .order_by(HistoryEvent.id.desc()).limit(1)).first()
    if event is None or not is_visible(session, principal, event.instance_id):
        return "no open task of yours has this id"
    if event.kind == "task_completed" and event.user:
        return f"{event.user} completed this task meanwhile"
    return "this task was closed meanwhile"


def holder(session: Session, task_id: str) -> str | None:
    """Who holds an open task: its assignee, "" while nobody does, None when it is not open."""
    task = session.get(OpenTask, task_id)
    return None if task is None else task.assignee or ""

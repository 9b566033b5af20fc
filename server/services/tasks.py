"""The task list: finding, claiming and completing user tasks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from bpmn.errors import NotWaiting
from bpmn.forms import FormInvalid, validate_camunda, validate_json_schema

from ..access import (
    Principal,
    can_claim,
    can_work_on,
    check_claim,
    check_unclaim,
    require_admin,
    task_visible,
)
from ..models import HistoryEvent, OpenTask, ProcessDefinition, ProcessInstance
from . import identity, participants
from .deployments import resource_content
from .errors import Conflict, Invalid, NotFound, ServiceError
from .store import InstanceStore, PlannedAdvance
from .task_search import TaskFilter, search  # noqa: F401 (the API's names for the task list)


def get_visible(session: Session, principal: Principal, task_id: str) -> OpenTask:
    task = session.scalars(select(OpenTask).where(OpenTask.id == task_id, task_visible(principal))).first()
    if task is None:
        raise NotFound(f"no open task with id {task_id!r}")
    return task


def _get_for_claim(session: Session, principal: Principal, task_id: str) -> OpenTask:
    task = session.get(OpenTask, task_id)
    if task is None or not (can_claim(principal, task) or can_work_on(principal, task)):
        raise NotFound(f"no open task with id {task_id!r}")
    return task


def claim(session: Session, principal: Principal, task_id: str, user: str | None = None) -> OpenTask:
    """Take a task; a task another person holds stays theirs (409)."""
    task = _get_for_claim(session, principal, task_id)
    if task.type.startswith("social."):
        raise Conflict(f"task {task_id} is a {task.type} step shared by everyone asked; it is not claimed")
    user = user or principal.name
    check_claim(principal, task, user)
    participants.add_users_by_id(session, task.instance_id, user)  # before the task's row lock
    _changes_who_may_complete(session, task)
    result = session.execute(
        update(OpenTask)
        .where(OpenTask.id == task_id, (OpenTask.assignee.is_(None)) | (OpenTask.assignee == user))
        .values(assignee=user)
    )
    if result.rowcount == 0:
        raise Conflict(f"task {task_id} is already claimed by someone else")
    session.add(HistoryEvent(instance_id=task.instance_id, kind="task_claimed", bpmn_id=task.bpmn_id,
                             name=task.name, task_id=task.id, user=user))
    session.refresh(task)
    return task


def _changes_who_may_complete(session: Session, task: OpenTask) -> None:
    """A claim, release or assignment changes who may complete a task of the instance: it counts
    as a change of the instance (its revision goes up), so a completion planned before it is
    `Stale`, planned again and then refused, without reading the task again in every
    completion's write. Sent before the task's row is written: instance, then task, as every
    writer locks them.

    The task was read before the instance's lock: on PostgreSQL a completion (or a migration)
    holding that lock may have closed it meanwhile, so it is read again once the lock is held
    (409, nothing written; its ORM update would find no row, or write history after the end)."""
    session.execute(_BUMP_REVISION, {"instance_id": task.instance_id})
    if session.execute(_OPEN_TASK, {"task_id": task.id}).first() is None:
        raise Conflict(f"task {task.id} is not open (completed or cancelled)")


def unclaim(session: Session, principal: Principal, task_id: str) -> OpenTask:
    task = _get_for_claim(session, principal, task_id)
    check_unclaim(principal, task)
    participants.add_users_by_id(session, task.instance_id, principal.name)
    _changes_who_may_complete(session, task)
    task.assignee = None
    session.add(HistoryEvent(instance_id=task.instance_id, kind="task_unclaimed", bpmn_id=task.bpmn_id,
                             name=task.name, task_id=task.id, user=principal.name))
    return task


def assign(session: Session, principal: Principal, task_id: str, user: str | None, *,
           any_user_id: bool = False) -> OpenTask:
    """Give a task to `user`, or to nobody with None (admins). `user` must be an active user of this
    server (404 naming an unknown one, 422 a deactivated one; nothing changed) unless `any_user_id`:
    /engine-rest takes any id, as Camunda does."""
    require_admin(principal, "assign tasks")
    task = session.get(OpenTask, task_id)
    if task is None:
        raise NotFound(f"no open task with id {task_id!r}")
    if user is not None and not any_user_id and not identity.get_user(session, user).active:
        raise Invalid(f"user {user!r} is deactivated and cannot work on tasks", errors={"user": ["deactivated"]})
    participants.add_users_by_id(session, task.instance_id, principal.name, user)
    _changes_who_may_complete(session, task)
    task.assignee = user
    session.add(HistoryEvent(instance_id=task.instance_id, kind="task_assigned", bpmn_id=task.bpmn_id,
                             name=task.name, task_id=task.id, user=principal.name, data={"assignee": user}))
    return task


def form_schema(session: Session, task: OpenTask) -> dict | None:
    """The JSON schema of a SpiffArena form, read from the deployment that holds the diagram."""
    form = task.form or {}
    if form.get("kind") != "json-schema":
        return None
    definition = session.get(ProcessDefinition, task.definition_id)
    content = resource_content(session, definition, form["schema_file"])
    if content is None:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def validate_submission(session: Session, task: OpenTask, values: dict) -> dict:
    form = task.form or {}
    try:
        if form.get("kind") == "camunda" and form.get("fields"):
            return validate_camunda(form, values)
        schema = form_schema(session, task)
        if schema is not None:
            return validate_json_schema(schema, values)
    except FormInvalid as err:
        raise Invalid(f"the submitted values do not fit the form: {err}", errors=err.errors) from err
    return values


_OPEN_TASKS = OpenTask.__table__
_INSTANCES = ProcessInstance.__table__
# Core queries built once: the completion path runs them in every request
_OPEN_TASK = select(_OPEN_TASKS).where(_OPEN_TASKS.c.id == bindparam("task_id"))
_BUMP_REVISION = (update(_INSTANCES).where(_INSTANCES.c.id == bindparam("instance_id"))
                  .values(revision=_INSTANCES.c.revision + 1))
# only when a completion finds no open row (index ix_history_task)
_TASK_IN_HISTORY = select(HistoryEvent.id).where(HistoryEvent.task_id == bindparam("task_id")).limit(1)


def _not_open(session: Session, task_id: str) -> ServiceError:
    """Why `task_id` has no open row, read only when a completion is refused: a task the history
    names (completed, cancelled: `InstanceStore.save` records those) closed, 409; an id no task
    ever had is unknown, 404 as on the other task routes."""
    if session.execute(_TASK_IN_HISTORY, {"task_id": task_id}).first() is None:
        return NotFound(f"no task with id {task_id!r}")
    return Conflict(f"task {task_id} is not open (completed or cancelled)")


def _workable(session: Session, principal: Principal, task_id: str) -> Row:
    """The open task's row, if the caller may complete it now (409 when it closed or another holds
    it, 404 when no task had the id)."""
    task = session.execute(_OPEN_TASK, {"task_id": task_id}).first()
    if task is None:
        raise _not_open(session, task_id)
    if not can_work_on(principal, task):
        if can_claim(principal, task):
            raise Conflict(f"task {task_id} is claimed by {task.assignee}")
        raise NotFound(f"no open task with id {task_id!r}")
    if task.type.startswith("social."):
        raise Conflict(f"task {task_id} is a {task.type} step: vote through /api/v1/tasks/{task_id}/review "
                       f"or send the image to /api/v1/tasks/{task_id}/image")
    return task


@dataclass
class PlannedCompletion(PlannedAdvance):
    """A task completed and the instance run on in memory, from the state at `revision`."""

    principal: Principal
    task_id: str
    task: Row  # as read: who may complete it is part of the instance's revision
    open_task_rows: list[dict] | None = None  # set by `write_completion` when it opened all open tasks


def plan_completion(session: Session, store: InstanceStore, principal: Principal, task_id: str,
                    values: dict) -> PlannedCompletion:
    """Check, complete and run on from what `session` reads, writing nothing: the engine work runs
    outside the write transaction, and `write_completion` writes it if nobody came first."""
    task = _workable(session, principal, task_id)
    instance = store.read_detached(session, task.instance_id)
    cleaned = validate_submission(session, task, values)
    run = store.load(session, instance)
    try:
        step = run.complete_user_task(task_id, cleaned)
    except NotWaiting as err:
        raise Conflict(str(err)) from err
    completed = {"instance_id": instance.id, "kind": "task_completed", "bpmn_id": step.bpmn_id,
                 "name": step.name, "element_type": step.type, "task_id": task_id, "user": principal.name,
                 "data": cleaned, "at": datetime.now(timezone.utc)}
    outcome = store.advance(run)
    return PlannedCompletion(instance=instance, revision=instance.revision, run=run, outcome=outcome,
                             dumped=store.dump(run), cause=completed, principal=principal, task_id=task_id, task=task)


def write_completion(session: Session, store: InstanceStore, planned: PlannedCompletion) -> ProcessInstance:
    """Write a planned completion; `Stale` when the instance changed since it was read, a claim,
    release or assignment of its tasks included (`_changes_who_may_complete`). The revision check
    comes before the first write, so a refused write leaves nothing to undo."""
    instance, task = planned.instance, planned.task
    planned.open_task_rows = store.write_planned(session, planned)
    name = planned.principal.name
    if name not in (task.assignee, instance.started_by, *(task.candidate_users or ())):  # else named already
        participants.add_users(session, instance, name)
    return instance


def complete(session: Session, store: InstanceStore, principal: Principal, task_id: str, values: dict):
    """Complete a ready task and run the instance on, in one transaction that holds the instance
    from the start (the web pages and /engine-rest; the native API plans outside the write
    transaction, server.context.Cafe.optimistic). The task is read under the instance's lock: a
    second completion of the same task finds it gone and gets 409, so exactly one completion is
    recorded."""
    # the row lock stays; the object goes, so that what this session reads afterwards is the write
    session.expunge(store.lock(session, _workable(session, principal, task_id).instance_id))
    planned = plan_completion(session, store, principal, task_id, values)
    return write_completion(session, store, planned), planned.outcome

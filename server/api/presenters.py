"""Turning rows into the JSON the native API returns; shared by the API modules."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..context import cafe
from ..models import OpenTask, ProcessInstance
from ..services import instances, tasks

_TASK_FIELDS = ("id", "instance_id", "definition_id", "definition_key", "bpmn_id", "name", "type", "lane",
                "assignee", "candidate_users", "candidate_groups", "documentation", "priority", "due", "created_at")


def task_dict(task: OpenTask) -> dict:
    return task_row_dict({name: getattr(task, name) for name in _TASK_FIELDS})


def task_row_dict(row: dict) -> dict:
    """The same from an open_tasks row as inserted (`InstanceStore.save`)."""
    body = {name: row[name] for name in _TASK_FIELDS}
    body["candidate_users"] = body["candidate_users"] or []
    body["candidate_groups"] = body["candidate_groups"] or []
    return body


def task_detail(session: Session, task: OpenTask) -> dict:
    form = dict(task.form) if task.form else None
    if form and form.get("kind") == "json-schema":
        form["schema"] = tasks.form_schema(session, task)
    instance = session.get(ProcessInstance, task.instance_id)
    return task_dict(task) | {"form": form, "variables": (instance.variables if instance else {}) or {}}


def instance_dict(session: Session, instance: ProcessInstance, detail: bool = False,
                  with_incidents: bool = True, open_tasks: bool | list[dict] = True) -> dict:
    """`with_incidents=False` spares a query on the hot paths (start, complete) unless in error;
    `open_tasks` spares another: False when the instance waits at no user task, or the rows of its
    open tasks as the caller wrote them."""
    definition = cafe().store.specs.info(session, instance.definition_id)
    body = {
        "id": instance.id,
        "definition_id": instance.definition_id,
        "definition_key": instance.definition_key,
        "version": definition.version if definition else None,
        "business_key": instance.business_key,
        "status": instance.status,
        "started_by": instance.started_by,
        "started_at": instance.started_at,
        "updated_at": instance.updated_at,
        "ended_at": instance.ended_at,
        "end_reason": instance.end_reason,
    }
    if detail:
        body["variables"] = instance.variables or {}
        if isinstance(open_tasks, list):
            body["tasks"] = [task_row_dict(row) for row in open_tasks]
        else:
            body["tasks"] = [task_dict(t) for t in instances.open_tasks(session, instance.id)] if open_tasks else []
        body["incidents"] = instances.incidents(session, instance.id) if with_incidents else []
        body["revision"] = instance.revision
    return body

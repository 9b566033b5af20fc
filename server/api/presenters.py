"""Turning rows into the JSON the native API returns; shared by the API modules."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..context import cafe
from ..models import OpenTask, ProcessInstance
from ..services import instances, tasks


def task_dict(task: OpenTask) -> dict:
    return {
        "id": task.id,
        "instance_id": task.instance_id,
        "definition_id": task.definition_id,
        "definition_key": task.definition_key,
        "bpmn_id": task.bpmn_id,
        "name": task.name,
        "type": task.type,
        "lane": task.lane,
        "assignee": task.assignee,
        "candidate_users": task.candidate_users or [],
        "candidate_groups": task.candidate_groups or [],
        "documentation": task.documentation,
        "priority": task.priority,
        "due": task.due,
        "created_at": task.created_at,
    }


def task_detail(session: Session, task: OpenTask) -> dict:
    form = dict(task.form) if task.form else None
    if form and form.get("kind") == "json-schema":
        form["schema"] = tasks.form_schema(session, task)
    instance = session.get(ProcessInstance, task.instance_id)
    return task_dict(task) | {"form": form, "variables": (instance.variables if instance else {}) or {}}


def instance_dict(session: Session, instance: ProcessInstance, detail: bool = False,
                  with_incidents: bool = True, open_tasks: bool = True) -> dict:
    """`with_incidents=False` spares a query on the hot paths (start, complete) unless in error;
    `open_tasks=False` another, for a caller who knows the instance waits at no user task."""
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
        body["tasks"] = [task_dict(t) for t in instances.open_tasks(session, instance.id)] if open_tasks else []
        body["incidents"] = instances.incidents(session, instance.id) if with_incidents else []
        body["revision"] = instance.revision
    return body

"""User tasks: list, get, claim, unclaim, assign, complete, form, form variables and identity
links (their variables: camunda/task_variables.py).

Visibility is the native API's: a task is seen and worked on by its assignee or, while
unassigned, its candidates; admins see all. As in Camunda, candidate queries hide assigned
tasks unless `includeAssignedTasks=true`.
"""

from __future__ import annotations

import dataclasses

from flask import Response
from sqlalchemy.orm import Session

from ..context import cafe
from ..models import OpenTask, ProcessInstance
from ..services import tasks
from ..services.errors import Conflict, NotFound
from ..services.task_order import instance_tenants
from .blueprint import bp, principal
from .dto import (
    CamundaError,
    format_date,
    format_text_date,
    json_body,
    json_response,
    no_content,
    not_found,
    optional_text,
    typed_map,
    untyped_map,
)
from .forms import form_dto, form_variables
from .params import Params
from .task_query import task_filter


def task_dto(task: OpenTask, tenant_id: str | None = None) -> dict:
    """`TaskDto`; `tenant_id` is the task's instance's (a task has no tenant of its own here)."""
    form = task.form or {}
    return {
        "id": task.id, "name": task.name, "assignee": task.assignee, "owner": None,
        "created": format_date(task.created_at), "lastUpdated": None, "due": format_text_date(task.due),
        "followUp": None, "delegationState": None, "description": task.documentation,
        "executionId": task.instance_id, "parentTaskId": None,
        "priority": task.priority if task.priority is not None else 50,
        "processDefinitionId": task.definition_id, "processInstanceId": task.instance_id,
        "caseExecutionId": None, "caseDefinitionId": None, "caseInstanceId": None,
        "taskDefinitionKey": task.bpmn_id, "suspended": False,
        "formKey": form.get("key") if form.get("kind") == "camunda" else None, "camundaFormRef": None,
        "tenantId": tenant_id, "taskState": "Assigned" if task.assignee else "Created",
    }


def _dtos(session: Session, rows: list[OpenTask]) -> list[dict]:
    tenants = instance_tenants(session, {t.instance_id for t in rows})
    return [task_dto(t, tenants.get(t.instance_id)) for t in rows]


@bp.get("/task")
def list_tasks() -> Response:
    flt = dataclasses.replace(task_filter(), count_cap=0)  # the list carries no total: do not count one
    with cafe().db.read() as session:
        rows, _ = tasks.search(session, principal(), flt) if flt.limit else ([], 0)
        return json_response(_dtos(session, rows))


@bp.get("/task/count")
def count_tasks() -> Response:
    with cafe().db.read() as session:
        return json_response({"count": tasks.search(session, principal(), task_filter(limit_override=0))[1]})


def _visible(session, task_id: str) -> OpenTask:
    try:
        return tasks.get_visible(session, principal(), task_id)
    except NotFound as err:
        raise not_found(f"No matching task with id {task_id}") from err


@bp.get("/task/<task_id>")
def get_task(task_id: str) -> Response:
    with cafe().db.read() as session:
        return json_response(_dtos(session, [_visible(session, task_id)])[0])


@bp.post("/task/<task_id>/claim")
def claim(task_id: str) -> Response:
    user = optional_text(json_body(), "userId") or principal().name
    try:
        with cafe().unit_of_work() as session:
            tasks.claim(session, principal(), task_id, user)
    except Conflict as err:  # Camunda answers this one with a 500 and its own exception type
        raise CamundaError(500, f"Task '{task_id}' is already claimed by someone else.",
                           "TaskAlreadyClaimedException") from err
    return no_content()


@bp.post("/task/<task_id>/unclaim")
def unclaim(task_id: str) -> Response:
    with cafe().unit_of_work() as session:
        tasks.unclaim(session, principal(), task_id)
    return no_content()


@bp.post("/task/<task_id>/assignee")
def set_assignee(task_id: str) -> Response:
    with cafe().unit_of_work() as session:
        tasks.assign(session, principal(), task_id, optional_text(json_body(), "userId"), any_user_id=True)
    return no_content()


@bp.post("/task/<task_id>/complete")
@bp.post("/task/<task_id>/submit-form")
def complete(task_id: str) -> Response:
    """204, or 200 with the instance's variables when `withVariablesInReturn` is true."""
    body = json_body()
    values = untyped_map(body.get("variables"))
    with cafe().unit_of_work() as session:
        if session.get(OpenTask, task_id) is None:
            raise not_found(f"Cannot complete task {task_id}: task does not exist")
        instance, _ = tasks.complete(session, cafe().store, principal(), task_id, values)
        variables = dict(instance.variables or {})
    if body.get("withVariablesInReturn"):
        return json_response(typed_map(variables))
    return no_content()


@bp.get("/task/<task_id>/form-variables")
def task_form_variables(task_id: str) -> Response:
    with cafe().db.read() as session:
        task = _visible(session, task_id)
        instance = session.get(ProcessInstance, task.instance_id)
        variables = (instance.variables if instance else None) or {}
    return json_response(form_variables(task.form, variables, Params().names("variableNames") or None))


@bp.get("/task/<task_id>/form")
def task_form(task_id: str) -> Response:
    """Camunda's `FormDto`: the task's `camunda:formKey` (see camunda/forms.py)."""
    with cafe().db.read() as session:
        task = _visible(session, task_id)
    return json_response(form_dto(task.form, f"task/{task_id}/rendered-form"))


@bp.get("/task/<task_id>/identity-links")
def identity_links(task_id: str) -> Response:
    with cafe().db.read() as session:
        task = _visible(session, task_id)
    links = [{"userId": task.assignee, "groupId": None, "type": "assignee"}] if task.assignee else []
    links += [{"userId": u, "groupId": None, "type": "candidate"} for u in task.candidate_users or []]
    links += [{"userId": None, "groupId": g, "type": "candidate"} for g in task.candidate_groups or []]
    return json_response(links)

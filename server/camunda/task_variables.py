"""A task's variables: `GET /task/{id}/variables[/{name}]`, `PUT`/`DELETE .../variables/{name}`
and `GET /task/{id}/localVariables[/{name}]`.

In Camunda a task sees the variables of its execution's scopes (here: the instance's, the one
scope every task of an instance shares) and may hold local variables of its own. No variable
here belongs to a task alone: a task's input is the instance's variables and what it is
completed with becomes the instance's. So `variables` are the instance's, a change through the
task changes the instance's, and `localVariables` is `{}`, as Camunda answers for a task nobody
set a local variable on.

Who may read or change them is who may see the task (its assignee or, while unassigned, its
candidates; admins): a change through a task is a change its worker could also make by
completing it.
"""

from __future__ import annotations

from flask import Response

from ..access import can_work_on
from ..context import cafe
from ..models import OpenTask, ProcessInstance
from ..services import instances, tasks
from ..services.errors import NotFound
from .blueprint import bp, principal
from .dto import CamundaError, json_body, json_response, no_content, not_found, typed, typed_map, untyped


def _visible(session, task_id: str) -> OpenTask:
    try:
        return tasks.get_visible(session, principal(), task_id)
    except NotFound as err:
        raise not_found(f"No matching task with id {task_id}") from err


def _variables(task_id: str) -> dict:
    with cafe().db.read() as session:
        instance = session.get(ProcessInstance, _visible(session, task_id).instance_id)
        return dict((instance.variables if instance else None) or {})


@bp.get("/task/<task_id>/variables")
def task_variables(task_id: str) -> Response:
    return json_response(typed_map(_variables(task_id)))


@bp.get("/task/<task_id>/variables/<name>")
def task_variable(task_id: str, name: str) -> Response:
    variables = _variables(task_id)
    if name not in variables:
        raise not_found(f"task variable with name {name} does not exist")
    return json_response(typed(variables[name]))


def _change(task_id: str, values: dict, deletions: list[str]) -> Response:
    caller = principal()
    with cafe().unit_of_work() as session:
        task = _visible(session, task_id)
        if not can_work_on(caller, task):
            raise CamundaError(403, f"The user '{caller.name}' is not permitted to update task '{task_id}'.",
                               "AuthorizationException")
        instances.update_variables(session, cafe().store, task.instance_id, caller.name, values, deletions)
    return no_content()


@bp.put("/task/<task_id>/variables/<name>")
def put_task_variable(task_id: str, name: str) -> Response:
    return _change(task_id, {name: untyped(name, json_body())}, [])


@bp.delete("/task/<task_id>/variables/<name>")
def delete_task_variable(task_id: str, name: str) -> Response:
    return _change(task_id, {}, [name])


@bp.get("/task/<task_id>/localVariables")
def task_local_variables(task_id: str) -> Response:
    with cafe().db.read() as session:
        _visible(session, task_id)
    return json_response({})


@bp.get("/task/<task_id>/localVariables/<name>")
def task_local_variable(task_id: str, name: str) -> Response:
    with cafe().db.read() as session:
        _visible(session, task_id)
    raise not_found(f"task variable with name {name} does not exist")

"""The history service's subset: historic process instances (running and ended), their variables
and their activity instances (what ran, what is open: the elements to highlight in a diagram)."""

from __future__ import annotations

from flask import Response

from ..context import cafe
from ..models import ProcessInstance
from ..models.instances import ACTIVE_STATUSES, COMPLETED
from ..services import history, instance_queries
from ..services.repository import Page
from .blueprint import bp, principal
from .dto import format_date, json_response, not_found, typed
from .instances import instance_query
from .params import MAX_RESULTS, Params

SORT = {"instanceId": "id", "definitionId": "definition_id", "definitionKey": "definition_key",
        "businessKey": "business_key", "startTime": "started_at", "endTime": "ended_at", "tenantId": "tenant_id"}


def state_of(instance: ProcessInstance) -> str:
    """REST deletes end as EXTERNALLY_TERMINATED; an instance with an incident is still ACTIVE."""
    if instance.status in ACTIVE_STATUSES:
        return "ACTIVE"
    return "COMPLETED" if instance.status == COMPLETED else "EXTERNALLY_TERMINATED"


def historic_instance_dto(instance: ProcessInstance, definition, start_activity: str | None) -> dict:
    ended = instance.ended_at
    return {
        "id": instance.id, "rootProcessInstanceId": instance.id, "superProcessInstanceId": None,
        "superCaseInstanceId": None, "caseInstanceId": None,
        "processDefinitionName": definition.name if definition else None,
        "processDefinitionKey": instance.definition_key,
        "processDefinitionVersion": definition.version if definition else None,
        "processDefinitionId": instance.definition_id, "businessKey": instance.business_key,
        "startTime": format_date(instance.started_at), "endTime": format_date(ended), "removalTime": None,
        "durationInMillis": int((ended - instance.started_at).total_seconds() * 1000) if ended else None,
        "startUserId": instance.started_by, "startActivityId": start_activity,
        "deleteReason": instance.end_reason if instance.status not in (COMPLETED, *ACTIVE_STATUSES) else None,
        "tenantId": instance.tenant_id, "state": state_of(instance), "restartedProcessInstanceId": None,
    }


def _query(p: Params) -> instance_queries.InstanceQuery:
    query = instance_query(p)
    query.finished, query.unfinished = p.flag("finished"), p.flag("unfinished")
    query.completed, query.terminated = p.flag("completed"), p.flag("externallyTerminated")
    query.with_incidents = query.with_incidents or p.flag("withIncidents")
    query.started_after, query.started_before = p.date("startedAfter"), p.date("startedBefore")
    query.finished_after, query.finished_before = p.date("finishedAfter"), p.date("finishedBefore")
    query.started_by = p.text("startedBy")
    return query


def _instances(session, limit: int | None = None) -> tuple[list[ProcessInstance], int]:
    p = Params()
    offset, page_limit = p.page()
    sort, descending = p.sorting(SORT, "started_at")
    page = Page(offset, page_limit if limit is None else limit, sort, descending)
    return instance_queries.search(session, principal(), _query(p), page)


@bp.get("/history/process-instance")
def list_historic_instances() -> Response:
    with cafe().db.read() as session:
        rows, _ = _instances(session)
        definitions = instance_queries.definitions_of(session, rows)
        starts = instance_queries.start_activities(session, [i.id for i in rows])
        return json_response([historic_instance_dto(i, definitions.get(i.definition_id), starts.get(i.id))
                              for i in rows])


@bp.get("/history/process-instance/count")
def count_historic_instances() -> Response:
    with cafe().db.read() as session:
        return json_response({"count": _instances(session, limit=0)[1]})


@bp.get("/history/process-instance/<instance_id>")
def get_historic_instance(instance_id: str) -> Response:
    with cafe().db.read() as session:
        query = instance_queries.InstanceQuery(ids=[instance_id])
        rows, _ = instance_queries.search(session, principal(), query, Page(0, 1))
        if not rows:
            raise not_found(f"Historic process instance with id {instance_id} does not exist")
        definitions = instance_queries.definitions_of(session, rows)
        starts = instance_queries.start_activities(session, [instance_id])
        return json_response(historic_instance_dto(rows[0], definitions.get(rows[0].definition_id),
                                                   starts.get(instance_id)))


def _selected_instances(session, p: Params) -> list[ProcessInstance]:
    query = instance_queries.InstanceQuery(
        ids=p.names("processInstanceIdIn") + ([p.text("processInstanceId")] if p.text("processInstanceId") else []),
        definition_id=p.text("processDefinitionId"),
        definition_keys=[p.text("processDefinitionKey")] if p.text("processDefinitionKey") else [])
    return instance_queries.search(session, principal(), query, Page(0, MAX_RESULTS, "started_at"))[0]


def _variable_rows(session) -> list[dict]:
    p = Params()
    name, name_like = p.text("variableName"), p.text("variableNameLike")
    like = instance_queries.like_pattern(name_like or "")
    rows = []
    for instance in _selected_instances(session, p):
        for var, value in (instance.variables or {}).items():
            if (name and var != name) or (name_like and not like.fullmatch(var)):
                continue
            rows.append(typed(value) | {
                "id": f"{instance.id}:{var}", "name": var, "processDefinitionKey": instance.definition_key,
                "processDefinitionId": instance.definition_id, "processInstanceId": instance.id,
                "executionId": instance.id, "activityInstanceId": instance.id, "caseDefinitionKey": None,
                "caseDefinitionId": None, "caseInstanceId": None, "caseExecutionId": None, "taskId": None,
                "tenantId": instance.tenant_id, "errorMessage": None, "state": "CREATED",
                "createTime": format_date(instance.started_at), "removalTime": None,
                "rootProcessInstanceId": instance.id})
    return rows


@bp.get("/history/variable-instance")
def list_historic_variables() -> Response:
    offset, limit = Params().page()
    with cafe().db.read() as session:
        return json_response(_variable_rows(session)[offset:offset + limit])


@bp.get("/history/variable-instance/count")
def count_historic_variables() -> Response:
    with cafe().db.read() as session:
        return json_response({"count": len(_variable_rows(session))})


def activity_dto(r: history.ActivityRecord) -> dict:
    duration = int((r.end - r.start).total_seconds() * 1000) if r.end and r.start else None
    return {
        "id": r.id, "parentActivityInstanceId": r.instance_id, "activityId": r.activity_id, "activityName": r.name,
        "activityType": r.type, "processDefinitionKey": r.definition_key, "processDefinitionId": r.definition_id,
        "processInstanceId": r.instance_id, "executionId": r.instance_id, "taskId": r.task_id,
        "calledProcessInstanceId": None, "calledCaseInstanceId": None, "assignee": r.assignee,
        "startTime": format_date(r.start), "endTime": format_date(r.end), "durationInMillis": duration,
        "canceled": r.canceled, "completeScope": r.type is not None and r.type.endswith("EndEvent"),
        "tenantId": None, "removalTime": None, "rootProcessInstanceId": r.instance_id,
    }


def _activity_rows(session) -> list[history.ActivityRecord]:
    p = Params()
    records = history.activity_instances(session, _selected_instances(session, p))
    activity_id, activity_type = p.text("activityId"), p.text("activityType")
    finished, unfinished, canceled = p.flag("finished"), p.flag("unfinished"), p.flag("canceled")
    records = [r for r in records if (not activity_id or r.activity_id == activity_id)
               and (not activity_type or r.type == activity_type) and (not finished or r.end is not None)
               and (not unfinished or r.end is None) and (not canceled or r.canceled)]
    field, descending = p.sorting({"startTime": "start", "endTime": "end", "activityId": "activity_id",
                                   "activityName": "name", "activityType": "type", "instanceId": "instance_id"},
                                  "start")
    present = [r for r in records if getattr(r, field) is not None]
    missing = [r for r in records if getattr(r, field) is None]  # open activities have no end: last
    return sorted(present, key=lambda r: getattr(r, field), reverse=descending) + missing


@bp.get("/history/activity-instance")
def list_activity_instances() -> Response:
    offset, limit = Params().page()
    with cafe().db.read() as session:
        return json_response([activity_dto(r) for r in _activity_rows(session)[offset:offset + limit]])


@bp.get("/history/activity-instance/count")
def count_activity_instances() -> Response:
    with cafe().db.read() as session:
        return json_response({"count": len(_activity_rows(session))})

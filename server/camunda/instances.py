"""Running process instances: list, get, delete (terminate) and their variables.

As in Camunda, `/process-instance` only knows running instances: an ended one answers 404 there
and lives on under `/history/process-instance`.
"""

from __future__ import annotations

from flask import Response

from ..context import cafe
from ..models import ProcessInstance
from ..models.instances import ACTIVE_STATUSES
from ..services import instance_queries, instances
from ..services.errors import NotFound
from ..services.repository import Page
from .blueprint import bp, principal
from .definitions import instance_dto
from .dto import (
    CamundaError,
    bad_request,
    json_body,
    json_response,
    no_content,
    not_found,
    typed,
    typed_map,
    untyped,
    untyped_map,
)
from .params import Params

SORT = {"instanceId": "id", "definitionKey": "definition_key", "definitionId": "definition_id",
        "businessKey": "business_key", "tenantId": "tenant_id"}


def instance_query(p: Params) -> instance_queries.InstanceQuery:
    """The filters `/process-instance` and `/history/process-instance` share."""
    ids = p.names("processInstanceIds") or p.names("processInstanceIdIn")
    if p.text("processInstanceId"):
        ids.append(p.text("processInstanceId"))
    conditions = [instance_queries.VariableCondition.parse(c) for c in p.names("variables")]
    keys = p.names("processDefinitionKeyIn")
    if p.text("processDefinitionKey"):
        keys.append(p.text("processDefinitionKey"))
    return instance_queries.InstanceQuery(
        ids=ids, business_key=p.text("businessKey") or p.text("processInstanceBusinessKey"),
        business_key_like=p.text("businessKeyLike") or p.text("processInstanceBusinessKeyLike"),
        definition_id=p.text("processDefinitionId"), definition_keys=keys,
        with_incidents=p.flag("withIncident"), activity_ids=p.names("activityIdIn"), variables=conditions,
        variable_names_ignore_case=p.flag("variableNamesIgnoreCase"),
        variable_values_ignore_case=p.flag("variableValuesIgnoreCase"),
        definition_keys_not=p.names("processDefinitionKeyNotIn"), deployment_id=p.text("deploymentId"),
        tenant_ids=p.names("tenantIdIn"), without_tenant=p.flag("withoutTenantId"),
        definition_without_tenant=p.flag("processDefinitionWithoutTenantId"))


def _query() -> tuple[instance_queries.InstanceQuery, Page]:
    """Also: `rootProcessInstances`, `leafProcessInstances` and `active` hold for every running
    instance here (none calls another as a sub-instance, none is suspended), `suspended` for none."""
    p = Params()
    p.refuse("process-instance")
    for name in ("rootProcessInstances", "leafProcessInstances", "active"):
        p.flag(name)  # checked: a value other than true/false is a 400
    query = instance_query(p)
    query.nothing = p.flag("suspended")
    query.incident_id = p.text("incidentId")
    query.incident_message, query.incident_message_like = p.text("incidentMessage"), p.text("incidentMessageLike")
    query.unfinished = True
    offset, limit = p.page()
    sort, descending = p.sorting(SORT, "started_at")
    return query, Page(offset, limit, sort, descending)


@bp.get("/process-instance")
def list_instances() -> Response:
    query, page = _query()
    with cafe().db.read() as session:
        rows, _ = instance_queries.search(session, principal(), query, page)
        return json_response([instance_dto(i) for i in rows])


@bp.get("/process-instance/count")
def count_instances() -> Response:
    query, page = _query()
    page.limit = 0
    with cafe().db.read() as session:
        return json_response({"count": instance_queries.search(session, principal(), query, page)[1]})


def running(session, instance_id: str) -> ProcessInstance:
    instance = instances.get_visible(session, principal(), instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise not_found(f"Process instance with id {instance_id} does not exist")
    return instance


@bp.get("/process-instance/<instance_id>")
def get_instance(instance_id: str) -> Response:
    with cafe().db.read() as session:
        return json_response(instance_dto(running(session, instance_id)))


@bp.delete("/process-instance/<instance_id>")
def delete_instance(instance_id: str) -> Response:
    """Terminate (admins, or whoever started it); its history state becomes EXTERNALLY_TERMINATED.
    With `failIfNotExists=false` an instance that is gone (or never was) is no error, as in Camunda."""
    caller = principal()
    fail = Params().text("failIfNotExists")
    with cafe().unit_of_work() as session:
        try:
            instance = running(session, instance_id)
        except (CamundaError, NotFound) as err:
            gone = isinstance(err, NotFound) or err.status == 404
            if gone and fail is not None and fail.lower() == "false":
                return no_content()
            raise
        if not caller.is_admin and instance.started_by != caller.name:
            instances.require_admin(caller, "delete instances started by others")
        instances.terminate(session, cafe().store, instance_id, caller.name, "deleted")
    return no_content()


@bp.get("/process-instance/<instance_id>/variables")
def get_variables(instance_id: str) -> Response:
    with cafe().db.read() as session:
        return json_response(typed_map(running(session, instance_id).variables))


def _change(instance_id: str, values: dict, deletions: list[str]) -> Response:
    """Variables change through the same service as the native API, so only admins change them."""
    caller = principal()
    instances.require_admin(caller, "change variables")
    with cafe().unit_of_work() as session:
        running(session, instance_id)
        instances.update_variables(session, cafe().store, instance_id, caller.name, values, deletions)
    return no_content()


@bp.post("/process-instance/<instance_id>/variables")
def modify_variables(instance_id: str) -> Response:
    body = json_body()
    deletions = body.get("deletions") or []
    if not isinstance(deletions, list):
        raise bad_request("deletions must be a list of variable names")
    return _change(instance_id, untyped_map(body.get("modifications")), [str(d) for d in deletions])


@bp.get("/process-instance/<instance_id>/variables/<name>")
def get_variable(instance_id: str, name: str) -> Response:
    with cafe().db.read() as session:
        variables = running(session, instance_id).variables or {}
    if name not in variables:
        raise not_found(f"process instance variable with name {name} does not exist")
    return json_response(typed(variables[name]))


@bp.put("/process-instance/<instance_id>/variables/<name>")
def put_variable(instance_id: str, name: str) -> Response:
    return _change(instance_id, {name: untyped(name, json_body())}, [])


@bp.delete("/process-instance/<instance_id>/variables/<name>")
def delete_variable(instance_id: str, name: str) -> Response:
    return _change(instance_id, {}, [name])

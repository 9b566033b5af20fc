"""Process definitions: list, get by id or key, XML, the start form and starting instances.

Camunda Modeler's Start button deploys, then posts to `/process-definition/{id}/start` with the
id it saved from the deployment (also after an unchanged redeploy), and reads only `id`.

As in Camunda, `/start` does not look at the start form (the Modeler starts with no variables at
all), while `/submit-form` is a submitted start form: its values are checked against the start
event's `camunda:formData`, fields left out take their default values, and a bad value is a 400
naming the field with nothing started.
"""

from __future__ import annotations

from flask import Response

from bpmn.start_forms import start_form_of

from ..context import cafe
from ..models import ProcessDefinition, ProcessInstance
from ..services import catalog, deployments, instances, repository
from ..services.errors import Invalid
from ..services.specs import DefinitionInfo
from .blueprint import bp, principal
from .dto import (
    CamundaError,
    json_body,
    json_response,
    not_found,
    optional_text,
    self_link,
    typed_map,
    untyped_map,
)
from .forms import form_dto, form_variables
from .params import Params

SORT = {"id": "id", "key": "key", "name": "name", "version": "version", "deploymentId": "deployment_id",
        "tenantId": "tenant_id", "deployTime": "created_at", "category": "category",
        "versionTag": "id"}  # no definition here has a version tag: all equal, in id order


def definition_dto(definition: ProcessDefinition, category: str | None = None) -> dict:
    """`ProcessDefinitionDto`; `category` is the file's targetNamespace (catalog.categories)."""
    return {
        "id": definition.id, "key": definition.key, "category": category, "description": None,
        "name": definition.name, "version": definition.version, "resource": definition.resource_name,
        "deploymentId": definition.deployment_id, "diagram": None, "suspended": False,
        "tenantId": definition.tenant_id, "versionTag": None, "historyTimeToLive": None,
        "startableInTasklist": True,
    }


def instance_dto(instance: ProcessInstance, with_links: bool = False) -> dict:
    """`ProcessInstanceDto`; `ended` is true once the instance has completed or was terminated."""
    return {
        "links": self_link(f"/process-instance/{instance.id}") if with_links else [],
        "id": instance.id, "definitionId": instance.definition_id, "definitionKey": instance.definition_key,
        "businessKey": instance.business_key, "caseInstanceId": None,
        "ended": instance.ended_at is not None, "suspended": False, "tenantId": instance.tenant_id,
    }


def _dtos(session, rows: list[ProcessDefinition]) -> list[dict]:
    categories = catalog.categories(session, rows)
    return [definition_dto(d, categories.get(d.id)) for d in rows]


def _query() -> tuple[repository.DefinitionQuery, repository.Page]:
    """Also: no definition is suspended or kept out of Tasklist here, so `active` and
    `startableInTasklist` hold for all, `suspended` and `notStartableInTasklist` for none."""
    p = Params()
    p.refuse("process-definition")
    for name in ("active", "startableInTasklist"):
        p.flag(name)  # checked: a value other than true/false is a 400
    offset, limit = p.page()
    sort, descending = p.sorting(SORT, "id")
    query = repository.DefinitionQuery(
        id=p.text("processDefinitionId"), ids=p.names("processDefinitionIdIn"), key=p.text("key"),
        keys=p.names("keysIn") or p.names("keyIn"), key_like=p.text("keyLike"), name=p.text("name"),
        name_like=p.text("nameLike"), deployment_id=p.text("deploymentId"), resource_name=p.text("resourceName"),
        version=p.integer("version"), latest=p.flag("latestVersion"), tenant_ids=p.names("tenantIdIn"),
        without_tenant=p.flag("withoutTenantId") or (  # "include" widens a tenantIdIn, alone it is no filter
            p.flag("includeProcessDefinitionsWithoutTenantId") and bool(p.names("tenantIdIn"))),
        resource_name_like=p.text("resourceNameLike"), category=p.text("category"),
        category_like=p.text("categoryLike"), deployed_after=p.date("deployedAfter"),
        deployed_at=p.date("deployedAt"),
        nothing=p.flag("suspended") or p.flag("notStartableInTasklist"))
    return query, repository.Page(offset, limit, sort, descending)


@bp.get("/process-definition")
def list_definitions() -> Response:
    query, page = _query()
    with cafe().db.read() as session:
        rows, _ = repository.search_definitions(session, query, page)
        return json_response(_dtos(session, rows))


@bp.get("/process-definition/count")
def count_definitions() -> Response:
    query, page = _query()
    page.limit = 0
    with cafe().db.read() as session:
        return json_response({"count": repository.search_definitions(session, query, page)[1]})


def _by_key(session, key: str, tenant_id: str | None = None) -> ProcessDefinition:
    definition = deployments.latest_definition(session, key, tenant_id)
    if definition is None:
        tenant = f"tenant-id: {tenant_id}" if tenant_id else "no tenant-id"
        raise not_found(f"No matching process definition with key: {key} and {tenant}")
    return definition


def _by_id(session, definition_id: str) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise not_found(f"No matching definition with id {definition_id}")
    return definition


@bp.get("/process-definition/<definition_id>")
def get_definition(definition_id: str) -> Response:
    with cafe().db.read() as session:
        return json_response(_dtos(session, [_by_id(session, definition_id)])[0])


@bp.get("/process-definition/key/<key>")
@bp.get("/process-definition/key/<key>/tenant-id/<tenant_id>")
def get_definition_by_key(key: str, tenant_id: str | None = None) -> Response:
    with cafe().db.read() as session:
        return json_response(_dtos(session, [_by_key(session, key, tenant_id)])[0])


def _xml(session, definition: ProcessDefinition) -> Response:
    content = deployments.definition_xml(session, definition)
    return json_response({"id": definition.id, "bpmn20Xml": content.decode("utf-8", errors="replace")})


@bp.get("/process-definition/<definition_id>/xml")
def definition_xml(definition_id: str) -> Response:
    with cafe().db.read() as session:
        return _xml(session, _by_id(session, definition_id))


@bp.get("/process-definition/key/<key>/xml")
def definition_xml_by_key(key: str) -> Response:
    with cafe().db.read() as session:
        return _xml(session, _by_key(session, key))


def _start_form(session, definition: ProcessDefinition) -> dict | None:
    return start_form_of(cafe().store.specs.info(session, definition.id).specs.spec)


def _start_form_variables(session, definition: ProcessDefinition) -> Response:
    form = _start_form(session, definition)
    return json_response(form_variables(form, {}, Params().names("variableNames") or None))


@bp.get("/process-definition/<definition_id>/form-variables")
def start_form_variables(definition_id: str) -> Response:
    with cafe().db.read() as session:
        return _start_form_variables(session, _by_id(session, definition_id))


@bp.get("/process-definition/key/<key>/form-variables")
@bp.get("/process-definition/key/<key>/tenant-id/<tenant_id>/form-variables")
def start_form_variables_by_key(key: str, tenant_id: str | None = None) -> Response:
    with cafe().db.read() as session:
        return _start_form_variables(session, _by_key(session, key, tenant_id))


def _start_form_key(session, definition: ProcessDefinition) -> Response:
    path = f"process-definition/{definition.id}/rendered-form"
    return json_response(form_dto(_start_form(session, definition), path))


@bp.get("/process-definition/<definition_id>/startForm")
def start_form(definition_id: str) -> Response:
    with cafe().db.read() as session:
        return _start_form_key(session, _by_id(session, definition_id))


@bp.get("/process-definition/key/<key>/startForm")
@bp.get("/process-definition/key/<key>/tenant-id/<tenant_id>/startForm")
def start_form_by_key(key: str, tenant_id: str | None = None) -> Response:
    with cafe().db.read() as session:
        return _start_form_key(session, _by_key(session, key, tenant_id))


def _submitted(definition: DefinitionInfo, variables: dict) -> dict:
    """The variables of a submitted start form: checked and typed by its fields, defaults filled in."""
    try:
        return instances.filled_in_start_form(definition, variables)
    except Invalid as err:
        reasons = "; ".join(f"Invalid value submitted for form field '{field}': {why}"
                            for field, why in err.extra["errors"].items())
        raise CamundaError(400, f"Cannot instantiate process definition {definition.id}: {reasons}",
                           "RestException") from err


def _start(lookup, submit: bool = False) -> Response:
    """Start and run to the first wait state before answering, as Camunda does."""
    body = json_body()
    variables = untyped_map(body.get("variables"))
    business_key = optional_text(body, "businessKey")
    caller = principal()
    with cafe().unit_of_work() as session:
        definition = cafe().store.specs.info(session, lookup(session).id)
        if submit:
            variables = _submitted(definition, variables)
        instance, _ = instances.start(session, cafe().store, definition, variables, business_key, caller.name)
        dto = instance_dto(instance, with_links=True)
        if body.get("withVariablesInReturn"):
            dto["variables"] = typed_map(instance.variables)
    return json_response(dto)


@bp.post("/process-definition/<definition_id>/start")
def start_by_id(definition_id: str) -> Response:
    return _start(lambda session: _by_id(session, definition_id))


@bp.post("/process-definition/key/<key>/start")
@bp.post("/process-definition/key/<key>/tenant-id/<tenant_id>/start")
def start_by_key(key: str, tenant_id: str | None = None) -> Response:
    return _start(lambda session: _by_key(session, key, tenant_id))


@bp.post("/process-definition/<definition_id>/submit-form")
def submit_start_form(definition_id: str) -> Response:
    return _start(lambda session: _by_id(session, definition_id), submit=True)


@bp.post("/process-definition/key/<key>/submit-form")
@bp.post("/process-definition/key/<key>/tenant-id/<tenant_id>/submit-form")
def submit_start_form_by_key(key: str, tenant_id: str | None = None) -> Response:
    return _start(lambda session: _by_key(session, key, tenant_id), submit=True)

"""Deployments, as Camunda Modeler and Camunda clients create and read them.

`POST /deployment/create` takes the form Camunda Modeler sends: the fields `deployment-name`,
`deployment-source`, `enable-duplicate-filtering` (or, Modeler 4.7-4.9, `deploy-changed-only`),
`tenant-id`, and every other part is a resource named by its file name. With duplicate
filtering an unchanged upload returns the existing deployment with every `deployed*Definitions`
null, and the Modeler then starts the definition id it saved earlier, which stays valid.
"""

from __future__ import annotations

from flask import Response, request

from bpmn.errors import DiagramProblem

from ..context import cafe
from ..models import Deployment
from ..services import catalog, deployments, repository
from ..services.deployments import DeploymentRejected
from .blueprint import bp, require_admin
from .decision_definitions import deployed_decisions
from .definitions import definition_dto
from .dto import CamundaError, bad_request, format_date, json_response, no_content, self_link
from .params import Params

RESERVED = ("deployment-name", "deployment-activation-time", "enable-duplicate-filtering", "deploy-changed-only",
            "deployment-source", "tenant-id")
SORT = {"id": "id", "name": "name", "deploymentTime": "created_at", "tenantId": "tenant_id"}
_KNOWN_SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2", ".dmn", ".dmn11.xml", ".xml", ".form", ".json")


def deployment_dto(deployment: Deployment, with_links: bool = False) -> dict:
    return {
        "links": self_link(f"/deployment/{deployment.id}") if with_links else [],
        "id": deployment.id, "name": deployment.name, "source": deployment.source,
        "deploymentTime": format_date(deployment.created_at), "tenantId": deployment.tenant_id,
    }


def _flag(name: str) -> bool:
    return (request.form.get(name) or "").strip().lower() == "true"  # pycamunda sends True/False


def _resources() -> list[tuple[str, bytes]]:
    for name in request.form:
        if name not in RESERVED:
            raise bad_request(f"No file name found in the deployment resource described by form parameter '{name}'.")
    files = []
    for field, storage in request.files.items(multi=True):
        if not storage.filename:
            raise bad_request(f"No file name found in the deployment resource described by form parameter '{field}'.")
        content = storage.read()
        name = storage.filename
        if not name.lower().endswith(_KNOWN_SUFFIXES) and b"BPMN/20100524/MODEL" in content[:4096]:
            name += ".bpmn"  # pycamunda names raw bytes "resource-0": recognise the diagram anyway
        files.append((name, content))
    if not files:
        raise bad_request("No deployment resources contained in the form upload.")
    return files


def parse_exception(err: DeploymentRejected) -> CamundaError:
    """Camunda's ParseException; the ENGINE-09005 prefix makes the Modeler say it could not parse."""
    lines, details = [], {}
    for problem in err.problems:
        lines.append(_problem_line(problem))
        entry = {"message": problem.reason, "line": problem.line, "column": None,
                 "mainBpmnElementId": problem.element_id,
                 "bpmnElementIds": [problem.element_id] if problem.element_id else [],
                 "mainElementId": problem.element_id,
                 "elementIds": [problem.element_id] if problem.element_id else []}
        details.setdefault(problem.file or "deployment", {"errors": [], "warnings": []})["errors"].append(entry)
    message = "ENGINE-09005 Could not parse BPMN process. Errors: \n" + "\n".join(lines)
    return CamundaError(400, message, "ParseException", details=details)


def _problem_line(problem: DiagramProblem) -> str:
    parts = [problem.reason]
    if problem.file:
        parts.append(f"resource {problem.file}")
    if problem.line:
        parts.append(f"line {problem.line}")
    if problem.element_id:
        parts.append(f"element {problem.element_id}")
    return "* " + " | ".join(parts)


@bp.post("/deployment/create")
def create_deployment() -> Response:
    caller = require_admin("deploy process definitions")
    files = _resources()
    name = request.form.get("deployment-name") or deployments.default_name(files)
    source = request.form.get("deployment-source") or None
    tenant_id = request.form.get("tenant-id") or None
    changed_only = _flag("deploy-changed-only")
    filtering = changed_only or _flag("enable-duplicate-filtering")
    with cafe().unit_of_work() as session:
        if filtering:
            changed, existing = deployments.filter_duplicates(session, files, name, source, tenant_id)
            if not changed and existing is not None:
                return json_response(deployment_dto(existing, with_links=True) | dict.fromkeys(
                    ("deployedProcessDefinitions", "deployedCaseDefinitions", "deployedDecisionDefinitions",
                     "deployedDecisionRequirementsDefinitions")))
            files = changed if changed_only else files
        try:
            result = deployments.deploy(session, files, name=name, source=source, tenant_id=tenant_id,
                                        user=caller.name, max_bytes=cafe().settings.max_diagram_bytes,
                                        always_new_version=True)
        except DeploymentRejected as err:
            raise parse_exception(err) from err
        body = deployment_dto(result.deployment, with_links=True)
        categories = catalog.categories(session, result.new_definitions)
        body["deployedProcessDefinitions"] = {d.id: definition_dto(d, categories.get(d.id))
                                              for d in result.new_definitions} or None
        body["deployedCaseDefinitions"] = None
        body["deployedDecisionDefinitions"] = deployed_decisions(session, result.deployment)
        body["deployedDecisionRequirementsDefinitions"] = None
    return json_response(body)


def _query() -> tuple[repository.DeploymentQuery, repository.Page]:
    p = Params()
    offset, limit = p.page()
    sort, descending = p.sorting(SORT, "created_at")
    query = repository.DeploymentQuery(
        id=p.text("id"), name=p.text("name"), name_like=p.text("nameLike"), source=p.text("source"),
        tenant_ids=p.names("tenantIdIn"), without_tenant=p.flag("withoutTenantId"),
        after=p.date("after"), before=p.date("before"))
    return query, repository.Page(offset, limit, sort, descending)


@bp.get("/deployment")
def list_deployments() -> Response:
    query, page = _query()
    with cafe().db.read() as session:
        rows, _ = repository.search_deployments(session, query, page)
        return json_response([deployment_dto(d) for d in rows])


@bp.get("/deployment/count")
def count_deployments() -> Response:
    query, page = _query()
    page.limit = 0
    with cafe().db.read() as session:
        return json_response({"count": repository.search_deployments(session, query, page)[1]})


@bp.get("/deployment/<deployment_id>")
def get_deployment(deployment_id: str) -> Response:
    with cafe().db.read() as session:
        return json_response(deployment_dto(repository.get_deployment(session, deployment_id)))


@bp.delete("/deployment/<deployment_id>")
def delete_deployment(deployment_id: str) -> Response:
    require_admin("delete deployments")
    with cafe().unit_of_work() as session:
        repository.delete_deployment(session, deployment_id, cascade=Params().flag("cascade"))
    return no_content()

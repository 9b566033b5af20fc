"""The decisions of a deployment as `POST /deployment/create` reports them in
`deployedDecisionDefinitions`.

Decisions have no table here (server.services.deployments.decision_xml finds them in the stored
DMN files), so the map is built from the DMN files of the new deployment, as Camunda builds it:
one `DecisionDefinitionDto` per `<decision>`, versioned per key and tenant as Camunda versions
them (each stored DMN file of the tenant that defines the key was one version). A DMN file holds
one decision here, and Camunda keeps no decision requirements definition for a file of one
decision, so `deployedDecisionRequirementsDefinitions` stays null. Camunda's ids are
`key:version:uuid`; the uuid here is derived from the deployment, file and key, so a deployment
always reports the same ids.
"""

from __future__ import annotations

from collections import Counter
from uuid import NAMESPACE_URL, uuid5

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.decisions import decision_ids
from bpmn.errors import DiagramRejected
from bpmn.xml import parse_xml

from ..models import Deployment, Resource

CAMUNDA_NS = "http://camunda.org/schema/1.0/dmn"


def deployed_decisions(session: Session, deployment: Deployment) -> dict | None:
    """`deployedDecisionDefinitions` of a new deployment: by id, or None when it has no decision."""
    files = [(r.name, _root(r.name, r.content)) for r in deployment.resources if r.kind == "dmn"]
    found = [(name, root, d) for name, root in files if root is not None
             for d in root.iter("{*}decision") if d.get("id")]
    if not found:
        return None
    versions = _earlier_versions(session, deployment, {d.get("id") for _, _, d in found})
    dtos = [_decision_dto(deployment, name, root, decision, versions[decision.get("id")] + 1)
            for name, root, decision in found]
    return {dto["id"]: dto for dto in dtos}


def _root(name: str, content: bytes) -> etree._Element | None:
    try:
        return parse_xml(content, name)
    except DiagramRejected:  # checked when deployed a moment ago; a limit may have changed since
        return None


def _earlier_versions(session: Session, deployment: Deployment, keys: set[str]) -> Counter:
    """How many earlier DMN files of the deployment's tenant define each decision of `keys`.
    DMN files are few and small; a byte search skips those that cannot hold any of the keys."""
    tenant = deployment.tenant_id
    query = (select(Resource.name, Resource.content).join(Deployment, Deployment.id == Resource.deployment_id)
             .where(Resource.kind == "dmn", Resource.deployment_id != deployment.id,
                    Deployment.tenant_id.is_(None) if tenant is None else Deployment.tenant_id == tenant))
    needles = [key.encode() for key in keys]
    counts: Counter = Counter()
    for name, content in session.execute(query):
        if not any(needle in content for needle in needles) and b"\x00" not in content[:64]:
            continue  # (UTF-16 files, with a NUL in every character, are parsed whatever their bytes)
        root = _root(name, content)
        if root is not None:
            counts.update(decision_ids(root) & keys)
    return counts


def _decision_dto(deployment: Deployment, resource: str, root: etree._Element, decision: etree._Element,
                  version: int) -> dict:
    key = decision.get("id")
    return {
        "id": f"{key}:{version}:{uuid5(NAMESPACE_URL, f'{deployment.id}/{resource}/{key}')}", "key": key,
        "category": root.get("namespace"), "name": decision.get("name"), "version": version, "resource": resource,
        "deploymentId": deployment.id, "decisionRequirementsDefinitionId": None,
        "decisionRequirementsDefinitionKey": None, "tenantId": deployment.tenant_id,
        "versionTag": decision.get(f"{{{CAMUNDA_NS}}}versionTag"),
        "historyTimeToLive": _days(decision.get(f"{{{CAMUNDA_NS}}}historyTimeToLive")),
    }


def _days(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None

"""Deploying diagrams: parse and check everything first, then write it all in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpmn.definitions import ParsedDeployment, parse_deployment
from bpmn.errors import DiagramRejected

from ..models import Deployment, MessageStart, ProcessDefinition, Resource
from .errors import Invalid, NotFound


class DeploymentRejected(Invalid):
    """A diagram cannot be deployed; `problems` lists file, element, line and reason."""

    def __init__(self, err: DiagramRejected):
        super().__init__(str(err), problems=[p.as_dict() for p in err.problems])
        self.problems = err.problems


@dataclass
class DeployResult:
    deployment: Deployment
    definitions: list[ProcessDefinition]  # every executable process of the upload
    new_definitions: list[ProcessDefinition]  # only those that got a new version
    not_executable: list[str]
    created: bool  # False when nothing changed and an existing deployment is returned


def parse(files: list[tuple[str, bytes]], max_bytes: int | None = None) -> ParsedDeployment:
    try:
        return parse_deployment(files, max_bytes=max_bytes)
    except DiagramRejected as err:
        raise DeploymentRejected(err) from err


def latest_definition(session: Session, key: str, tenant_id: str | None = None) -> ProcessDefinition | None:
    query = select(ProcessDefinition).where(ProcessDefinition.key == key)
    query = query.where(ProcessDefinition.tenant_id.is_(None) if tenant_id is None
                        else ProcessDefinition.tenant_id == tenant_id)
    return session.scalars(query.order_by(ProcessDefinition.version.desc()).limit(1)).first()


def deploy(
    session: Session,
    files: list[tuple[str, bytes]],
    name: str | None = None,
    source: str | None = None,
    tenant_id: str | None = None,
    user: str | None = None,
    max_bytes: int | None = None,
) -> DeployResult:
    parsed = parse(files, max_bytes)
    unchanged, changed = [], []
    for process in parsed.processes:
        latest = latest_definition(session, process.key, tenant_id)
        if latest is not None and latest.content_hash == process.content_hash:
            unchanged.append(latest)
        else:
            changed.append((process, latest.version + 1 if latest else 1))
    if not changed and unchanged:
        return DeployResult(unchanged[0].deployment, unchanged, [], parsed.not_executable, created=False)

    deployment = Deployment(name=name or _default_name(files), source=source, tenant_id=tenant_id,
                            created_by=user)
    deployment.resources = [
        Resource(name=r.name, kind=r.kind, sha256=r.sha256, content=r.content) for r in parsed.resources
    ]
    session.add(deployment)
    new = []
    for process, version in changed:
        definition = ProcessDefinition(
            id=f"{process.key}:{version}:{uuid.uuid4()}",
            key=process.key,
            version=version,
            tenant_id=tenant_id,
            name=process.name,
            dialect=process.dialect.value,
            deployment=deployment,
            resource_name=process.resource,
            content_hash=process.content_hash,
            specs_json=process.specs_json,
        )
        session.add(definition)
        new.append(definition)
    session.flush()  # no relationship orders these inserts: the definitions must exist first (FK)
    for (process, _), definition in zip(changed, new, strict=True):
        for message in process.message_starts:
            session.add(MessageStart(definition_id=definition.id, definition_key=process.key, message_name=message))
    session.flush()
    return DeployResult(deployment, unchanged + new, new, parsed.not_executable, created=True)


def _default_name(files: list[tuple[str, bytes]]) -> str:
    first = files[0][0] if files else "deployment"
    return first.rsplit("/", 1)[-1].split(".", 1)[0]


def get_definition(session: Session, definition_id: str) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"no process definition with id {definition_id!r}")
    return definition


def get_latest(session: Session, key: str, tenant_id: str | None = None) -> ProcessDefinition:
    definition = latest_definition(session, key, tenant_id)
    if definition is None:
        raise NotFound(f"no process definition with key {key!r}")
    return definition


def definition_xml(session: Session, definition: ProcessDefinition) -> bytes:
    resource = session.scalars(
        select(Resource).where(
            Resource.deployment_id == definition.deployment_id, Resource.name == definition.resource_name
        )
    ).first()
    if resource is None:
        raise NotFound(f"the XML of {definition.id} is missing")
    return resource.content


def resource_content(session: Session, definition: ProcessDefinition, name: str) -> bytes | None:
    """A file deployed alongside a definition, e.g. a JSON-schema form."""
    return session.scalars(
        select(Resource.content).where(Resource.deployment_id == definition.deployment_id, Resource.name == name)
    ).first()


def count_definitions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0

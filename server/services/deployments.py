"""Deploying diagrams: parse and check everything first, then write it all in one transaction."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from bpmn.decisions import decision_ids
from bpmn.definitions import ParsedDeployment, classify, parse_deployment
from bpmn.definitions import Resource as UploadedFile
from bpmn.errors import DiagramRejected
from bpmn.xml import parse_xml

from ..models import Deployment, MessageStart, ProcessDefinition, Resource
from . import timer_starts
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


def parse(files: list[tuple[str, bytes]], max_bytes: int | None = None, session: Session | None = None,
          tenant_id: str | None = None, run_non_executable: bool = False) -> ParsedDeployment:
    """Parse an upload; with a session, call activities and business rule tasks also find processes
    and decisions deployed earlier."""
    resolve = (lambda pid: called_process_xml(session, pid, tenant_id)) if session is not None else None
    decision = (lambda did: decision_xml(session, did, tenant_id)) if session is not None else None
    try:
        return parse_deployment(files, max_bytes=max_bytes, resolve_called=resolve,
                                run_non_executable=run_non_executable, resolve_decision=decision)
    except DiagramRejected as err:
        raise DeploymentRejected(err) from err


def called_process_xml(session: Session, process_id: str, tenant_id: str | None = None) -> tuple[str, bytes] | None:
    """(file name, XML) of the latest deployed version of a process a new upload calls."""
    definition = latest_definition(session, process_id, tenant_id)
    if definition is None:
        return None
    return definition.resource_name, definition_xml(session, definition)


def decision_xml(session: Session, decision_id: str, tenant_id: str | None = None) -> tuple[str, bytes] | None:
    """(file name, XML) of the newest stored DMN file of the tenant that defines `decision_id`, as
    Camunda resolves a decisionRef by key to the latest version.

    Well-defined: "newest" is the highest resource id, i.e. the latest deployment holding the id
    (one upload cannot define a decision id twice: `check_decisions` refuses it, as Camunda does),
    whatever the file is called. Cheap: one query lists the tenant's DMN files (id, name, hash)
    newest first; the decision ids of a file are read once per content hash and kept
    (`_ids_by_hash`), so only the winner's content is loaded once every file has been seen."""
    query = (select(Resource.id, Resource.name, Resource.sha256)
             .join(Deployment, Deployment.id == Resource.deployment_id)
             .where(Resource.kind == "dmn",
                    Deployment.tenant_id.is_(None) if tenant_id is None else Deployment.tenant_id == tenant_id)
             .order_by(Resource.id.desc()))
    for resource_id, name, sha256 in session.execute(query).all():
        ids = _ids_by_hash.get(sha256)
        content = None
        if ids is None:
            content = session.scalar(select(Resource.content).where(Resource.id == resource_id))
            ids = _remember_ids(sha256, _decision_ids(name, content))
        if decision_id in ids:
            if content is None:
                content = session.scalar(select(Resource.content).where(Resource.id == resource_id))
            return name, content
    return None


_ids_by_hash: dict[str, frozenset[str]] = {}  # sha256 of a DMN file's content -> its decision ids
_IDS_KEPT = 4096  # past this many distinct DMN contents the memo starts over


def _remember_ids(sha256: str, ids: set[str]) -> frozenset[str]:
    if len(_ids_by_hash) >= _IDS_KEPT:
        _ids_by_hash.clear()
    found = _ids_by_hash[sha256] = frozenset(ids)
    return found


def _decision_ids(name: str, content: bytes) -> set[str]:
    try:
        return decision_ids(parse_xml(content, name))
    except DiagramRejected:  # stored files were checked when deployed; a limit may have changed
        return set()


_DEPLOY_LOCKS = 0x70636164  # "pcad": the namespace of the advisory locks on process keys


def _lock_keys(session: Session, keys: list[str], tenant_id: str | None) -> None:
    """On PostgreSQL, hold each key until this deployment commits, so the next version number is
    read after the previous deployment of the key committed: two deployments at once both took
    version n + 1 (the unique constraint does not see it without a tenant, NULLs being distinct).
    Sorted, so two deployments of the same keys never wait for each other in a circle. SQLite
    writes one transaction at a time anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), hashtext(:name))"),
                        {"space": _DEPLOY_LOCKS, "name": f"{tenant_id or ''}/{key}"})


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
    always_new_version: bool = False,
    run_non_executable: bool = False,
) -> DeployResult:
    """Store the upload; by default a process whose content did not change keeps its version.

    `always_new_version` is Camunda's rule instead: every process of the upload gets the next
    version (its clients filter duplicates per resource, see `filter_duplicates`), and an upload
    of plain files only (say a changed form sent with deploy-changed-only) is a deployment too.
    `run_non_executable` also deploys processes marked isExecutable="false" (an explicit opt-in
    for interchange models from other tools).
    """
    if always_new_version and files and all(classify(n, c) == "file" for n, c in files):
        parsed = ParsedDeployment([UploadedFile(n, c, "file") for n, c in files], [], [], [])
    else:
        parsed = parse(files, max_bytes, session, tenant_id, run_non_executable)
    unchanged, changed = [], []
    _lock_keys(session, [process.key for process in parsed.processes], tenant_id)
    for process in parsed.processes:
        latest = latest_definition(session, process.key, tenant_id)
        if not always_new_version and latest is not None and latest.content_hash == process.content_hash:
            unchanged.append(latest)
        else:
            changed.append((process, latest.version + 1 if latest else 1))
    if not changed and unchanged:
        return DeployResult(unchanged[0].deployment, unchanged, [], parsed.not_executable, created=False)

    deployment = Deployment(name=name or default_name(files), source=source, tenant_id=tenant_id,
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
        timer_starts.reschedule(session, definition, bool(process.timer_starts))
        for kind, names in (("message", process.message_starts), ("signal", process.signal_starts)):
            for name in names:
                session.add(MessageStart(definition_id=definition.id, definition_key=process.key,
                                         message_name=name, kind=kind))
    session.flush()
    return DeployResult(deployment, unchanged + new, new, parsed.not_executable, created=True)


PROCESS_APPLICATION = "process application"  # Camunda's source for deployments that name none


def filter_duplicates(session: Session, files: list[tuple[str, bytes]], name: str, source: str | None = None,
                      tenant_id: str | None = None) -> tuple[list[tuple[str, bytes]], Deployment | None]:
    """Camunda's duplicate filter: the files that differ from the newest resource of the same name
    among earlier deployments with this name, source and tenant, and the newest such deployment.

    A missing source and Camunda's "process application" count as the same source.
    """
    same = select(Deployment.id).where(
        Deployment.name == name,
        Deployment.tenant_id.is_(None) if tenant_id is None else Deployment.tenant_id == tenant_id,
        or_(Deployment.source.is_(None), Deployment.source == PROCESS_APPLICATION)
        if source in (None, "", PROCESS_APPLICATION) else Deployment.source == source,
    )
    newest = session.scalars(select(Deployment).where(Deployment.id.in_(same))
                             .order_by(Deployment.created_at.desc()).limit(1)).first()
    if newest is None:
        return list(files), None
    latest: dict[str, str] = {}
    for resource_name, sha256 in session.execute(
            select(Resource.name, Resource.sha256).join(Deployment, Deployment.id == Resource.deployment_id)
            .where(Deployment.id.in_(same), Resource.name.in_([n for n, _ in files]))
            .order_by(Deployment.created_at)):
        latest[resource_name] = sha256  # oldest first: the newest deployment's hash wins
    changed = [(n, c) for n, c in files if latest.get(n) != hashlib.sha256(c).hexdigest()]
    return changed, newest


def default_name(files: list[tuple[str, bytes]]) -> str:
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

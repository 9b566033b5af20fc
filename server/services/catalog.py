"""The deployed processes as people browse them: the newest version of each, and the keys the
task and instance lists filter by."""

from __future__ import annotations

import html
import re

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..models import ProcessDefinition, Resource


def definition_keys(session: Session) -> list[tuple[str, str]]:
    """(key, name) of every deployed process, for the process filters."""
    rows = session.execute(select(ProcessDefinition.key, func.max(ProcessDefinition.name))
                           .group_by(ProcessDefinition.key).order_by(ProcessDefinition.key))
    return [(key, name or key) for key, name in rows]


def latest_definitions(session: Session, limit: int = 100) -> list[ProcessDefinition]:
    """The newest version of each process, most recently deployed first."""
    newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.key).subquery())
    query = (select(ProcessDefinition)
             .join(newest, and_(ProcessDefinition.key == newest.c.key, ProcessDefinition.version == newest.c.version))
             .order_by(ProcessDefinition.created_at.desc(), ProcessDefinition.key))
    return list(session.scalars(query.limit(limit)))


# -- categories: Camunda's `category` of a process definition is its file's targetNamespace ------

_NAMESPACE = re.compile(rb"<(?:[\w.-]+:)?definitions\b[^>]*?\btargetNamespace\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_namespaces: dict[tuple[str, str], str | None] = {}  # (deployment, file) -> namespace: a deployed file never changes


def categories(session: Session, definitions: list[ProcessDefinition]) -> dict[str, str | None]:
    """The targetNamespace of each definition's BPMN file, by definition id. Read from the stored
    file (a regular expression on its root element: no XML parser, no entity expansion) and kept
    per file, as the schema has no column for it."""
    missing = {(d.deployment_id, d.resource_name): d for d in definitions
               if (d.deployment_id, d.resource_name) not in _namespaces}
    if missing:
        wanted = or_(*(and_(Resource.deployment_id == d.deployment_id, Resource.name == d.resource_name)
                       for d in missing.values()))
        files = {(r.deployment_id, r.name): r.content
                 for r in session.execute(select(Resource.deployment_id, Resource.name, Resource.content)
                                          .where(wanted))}
        if len(_namespaces) > 10_000:  # deleted deployments' files: start afresh now and then
            _namespaces.clear()
        for file, content in files.items():
            _namespaces[file] = _namespace_of(content)
    return {d.id: _namespaces.get((d.deployment_id, d.resource_name)) for d in definitions}


def _namespace_of(content: bytes) -> str | None:
    match = _NAMESPACE.search(content[:65536])
    if match is None:
        return None
    raw = match.group(1) if match.group(1) is not None else match.group(2)
    return html.unescape(raw.decode("utf-8", errors="replace"))

"""The deployed processes as people browse them: the newest version of each, and the keys the
task and instance lists filter by."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..models import ProcessDefinition


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

"""Finding and deleting deployments and process definitions by the criteria Camunda clients use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, delete, false, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..models import Deployment, HistoryEvent, Job, ProcessDefinition, ProcessInstance
from . import catalog
from .errors import Conflict, NotFound
from .sql_text import like, like_pattern, ordered


@dataclass
class Page:
    offset: int = 0
    limit: int = 50
    sort: str = "id"  # a column name of the queried model
    descending: bool = False


@dataclass
class DeploymentQuery:
    id: str | None = None
    name: str | None = None
    name_like: str | None = None
    source: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    after: datetime | None = None
    before: datetime | None = None


@dataclass
class DefinitionQuery:
    id: str | None = None
    ids: list[str] = field(default_factory=list)
    key: str | None = None
    keys: list[str] = field(default_factory=list)
    key_like: str | None = None
    name: str | None = None
    name_like: str | None = None
    deployment_id: str | None = None
    resource_name: str | None = None
    version: int | None = None
    latest: bool = False
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    resource_name_like: str | None = None
    category: str | None = None  # the file's targetNamespace (services/catalog.py)
    category_like: str | None = None
    deployed_after: datetime | None = None
    deployed_at: datetime | None = None
    nothing: bool = False  # a filter no definition here meets (suspended, not startable)


def _tenant(column, ids: list[str], without: bool):
    if ids and without:
        return column.in_(ids) | column.is_(None)
    if ids:
        return column.in_(ids)
    return column.is_(None) if without else None


def _page(session: Session, query: Select, model, page: Page) -> tuple[list, int]:
    """Rows of one page and the total; a page of 0 rows (a count) runs only the count."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if page.limit == 0:
        return [], total
    column = getattr(model, page.sort)
    order = [ordered(column, page.descending, text=isinstance(column.type, String)), model.id]
    return list(session.scalars(query.order_by(*order).offset(page.offset).limit(page.limit))), total


def search_deployments(session: Session, q: DeploymentQuery, page: Page) -> tuple[list[Deployment], int]:
    query = select(Deployment)
    conditions = [
        Deployment.id == q.id if q.id else None,
        Deployment.name == q.name if q.name else None,
        Deployment.name.like(q.name_like) if q.name_like else None,
        Deployment.source == q.source if q.source else None,
        _tenant(Deployment.tenant_id, q.tenant_ids, q.without_tenant),
        Deployment.created_at > q.after if q.after else None,
        Deployment.created_at < q.before if q.before else None,
    ]
    return _page(session, query.where(*[c for c in conditions if c is not None]), Deployment, page)


def search_definitions(session: Session, q: DefinitionQuery,
                       page: Page) -> tuple[list[ProcessDefinition], int]:
    query = select(ProcessDefinition)
    conditions = [
        ProcessDefinition.id == q.id if q.id else None,
        ProcessDefinition.id.in_(q.ids) if q.ids else None,
        ProcessDefinition.key == q.key if q.key else None,
        ProcessDefinition.key.in_(q.keys) if q.keys else None,
        like(ProcessDefinition.key, q.key_like) if q.key_like else None,
        ProcessDefinition.name == q.name if q.name else None,
        like(ProcessDefinition.name, q.name_like) if q.name_like else None,
        like(ProcessDefinition.resource_name, q.resource_name_like) if q.resource_name_like else None,
        ProcessDefinition.created_at > q.deployed_after if q.deployed_after else None,
        # Camunda's dates have milliseconds: "deployed at" is that millisecond
        ProcessDefinition.created_at >= q.deployed_at if q.deployed_at else None,
        ProcessDefinition.created_at < q.deployed_at + timedelta(milliseconds=1) if q.deployed_at else None,
        false() if q.nothing else None,
        ProcessDefinition.deployment_id == q.deployment_id if q.deployment_id else None,
        ProcessDefinition.resource_name == q.resource_name if q.resource_name else None,
        ProcessDefinition.version == q.version if q.version is not None else None,
        _tenant(ProcessDefinition.tenant_id, q.tenant_ids, q.without_tenant),
    ]
    query = query.where(*[c for c in conditions if c is not None])
    if q.latest:  # one row per key and tenant: the highest version
        newest = (select(ProcessDefinition.key, ProcessDefinition.tenant_id,
                         func.max(ProcessDefinition.version).label("v"))
                  .group_by(ProcessDefinition.key, ProcessDefinition.tenant_id).subquery())
        query = query.join(newest, (newest.c.key == ProcessDefinition.key)
                           & (newest.c.tenant_id.is_not_distinct_from(ProcessDefinition.tenant_id))
                           & (newest.c.v == ProcessDefinition.version))
    if q.category or q.category_like or page.sort == "category":
        return _by_category(session, query, q, page)
    return _page(session, query, ProcessDefinition, page)


def _by_category(session: Session, query: Select, q: DefinitionQuery,
                 page: Page) -> tuple[list[ProcessDefinition], int]:
    """Filtered or sorted by category, which is read from the files (catalog.categories): in
    Python, on the definitions the other filters leave (a few hundred at most)."""
    rows = list(session.scalars(query.order_by(ProcessDefinition.id)))
    category = catalog.categories(session, rows)
    pattern = like_pattern(q.category_like) if q.category_like else None
    rows = [d for d in rows if (not q.category or category[d.id] == q.category)
            and (pattern is None or (category[d.id] is not None and pattern.fullmatch(category[d.id])))]
    # a missing value lowest, as in SQL (sql_text.ordered); a stable sort keeps ties by id
    value = (lambda d: category[d.id]) if page.sort == "category" else (lambda d: getattr(d, page.sort))
    rows.sort(key=lambda d: (value(d) is not None, value(d) if value(d) is not None else 0), reverse=page.descending)
    return rows[page.offset:page.offset + page.limit], len(rows)


def get_deployment(session: Session, deployment_id: str) -> Deployment:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"Deployment with id '{deployment_id}' does not exist")
    return deployment


def delete_deployment(session: Session, deployment_id: str, cascade: bool = False) -> None:
    """Delete a deployment with its resources and definitions.

    Instances point at their definition, so without `cascade` a deployment whose definitions have
    instances (running or ended) is refused; with it, the instances and their history go too.
    """
    deployment = get_deployment(session, deployment_id)
    definition_ids = select(ProcessDefinition.id).where(ProcessDefinition.deployment_id == deployment.id)
    instance_ids = select(ProcessInstance.id).where(ProcessInstance.definition_id.in_(definition_ids))
    if not cascade:
        running = session.scalar(select(func.count()).select_from(instance_ids.subquery())) or 0
        if running:
            raise Conflict(f"Deletion of deployment '{deployment_id}' is refused: {running} process instance(s) "
                           "use its definitions; delete with cascade=true to remove them and their history")
    else:
        # rows without a foreign key first; the rest follow their instance (ON DELETE CASCADE)
        session.execute(delete(HistoryEvent).where(HistoryEvent.instance_id.in_(instance_ids)))
        session.execute(delete(Job).where(Job.instance_id.in_(instance_ids)))
        session.execute(delete(ProcessInstance).where(ProcessInstance.definition_id.in_(definition_ids))
                        .execution_options(synchronize_session=False))
    # resources and message starts follow by ON DELETE CASCADE
    session.execute(delete(ProcessDefinition).where(ProcessDefinition.deployment_id == deployment.id)
                    .execution_options(synchronize_session=False))
    session.execute(delete(Deployment).where(Deployment.id == deployment.id)
                    .execution_options(synchronize_session=False))

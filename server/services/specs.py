"""Definitions never change once deployed, so each server process keeps what it needs of them:
the restored specs (expensive to rebuild) and the few columns every request reads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from bpmn.dialect import Dialect
from bpmn.serializer import SpecBundle, serializer_for

from .. import direct_sql
from ..models import ProcessDefinition
from .errors import NotFound


@dataclass(frozen=True)
class DefinitionInfo:
    id: str
    key: str
    version: int
    name: str | None
    dialect: Dialect
    tenant_id: str | None
    deployment_id: str
    specs: SpecBundle


class SpecCache:
    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._items: OrderedDict[str, DefinitionInfo] = OrderedDict()
        self._latest: dict[tuple[str, str | None], str] = {}  # (key, tenant) -> the newest id seen
        self._lock = threading.Lock()

    def info(self, session: Session, definition_id: str) -> DefinitionInfo:
        with self._lock:
            info = self._items.get(definition_id)
            if info is not None:
                self._items.move_to_end(definition_id)
                return info
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None:
            raise NotFound(f"no process definition with id {definition_id!r}")
        return self.remember(definition)

    def remember(self, definition: ProcessDefinition) -> DefinitionInfo:
        dialect = Dialect(definition.dialect)
        info = DefinitionInfo(
            id=definition.id, key=definition.key, version=definition.version, name=definition.name,
            dialect=dialect, tenant_id=definition.tenant_id, deployment_id=definition.deployment_id,
            specs=serializer_for(dialect).load_specs(definition.specs_json),
        )
        with self._lock:
            self._items[definition.id] = info
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return info

    def latest(self, session: Session, key: str, tenant_id: str | None = None) -> DefinitionInfo:
        """The newest version of a key: one indexed lookup, then the cache."""
        definition_id = self._newest_id(session, key, tenant_id)
        if definition_id is None:
            raise NotFound(f"no process definition with key {key!r}")
        self._latest[(key, tenant_id)] = definition_id
        return self.info(session, definition_id)

    def latest_guess(self, session: Session, key: str, tenant_id: str | None = None) -> DefinitionInfo:
        """The newest version this process has seen of a key, without asking the database when it
        has seen one. Another server may have deployed a newer one since: a caller confirms the
        guess with `is_latest` in its write transaction."""
        definition_id = self._latest.get((key, tenant_id))
        if definition_id is None:
            return self.latest(session, key, tenant_id)
        return self.info(session, definition_id)

    def is_latest(self, session: Session, info: DefinitionInfo) -> bool:
        """`info` is still the newest version of its key; if not, the next guess asks the database."""
        newest = self._newest_id(session, info.key, info.tenant_id)
        if newest == info.id:
            return True
        self._latest.pop((info.key, info.tenant_id), None)
        return False

    @staticmethod
    def _newest_id(session: Session, key: str, tenant_id: str | None) -> str | None:
        """The id of the newest version of a key. The statements are built once and take their
        values as parameters (`.params()` would copy the statement in every request)."""
        if tenant_id is None:
            return direct_sql.scalar(session, _LATEST_UNTENANTED, {"key": key})
        return direct_sql.scalar(session, _LATEST_OF_TENANT, {"key": key, "tenant_id": tenant_id})


def _latest(tenant) -> Select:
    table = ProcessDefinition.__table__
    return (select(table.c.id).where(table.c.key == bindparam("key"), tenant(table.c.tenant_id))
            .order_by(table.c.version.desc()).limit(1))


_LATEST_UNTENANTED = _latest(lambda column: column.is_(None))
_LATEST_OF_TENANT = _latest(lambda column: column == bindparam("tenant_id"))

"""Definitions never change once deployed, so each server process keeps what it needs of them:
the restored specs (expensive to rebuild) and the few columns every request reads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.dialect import Dialect
from bpmn.serializer import SpecBundle, serializer_for

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
        query = select(ProcessDefinition.id).where(ProcessDefinition.key == key)
        query = query.where(ProcessDefinition.tenant_id.is_(None) if tenant_id is None
                            else ProcessDefinition.tenant_id == tenant_id)
        definition_id = session.scalars(query.order_by(ProcessDefinition.version.desc()).limit(1)).first()
        if definition_id is None:
            raise NotFound(f"no process definition with key {key!r}")
        return self.info(session, definition_id)

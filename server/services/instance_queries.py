"""Finding instances by the criteria Camunda clients use, running ones and ended ones alike.

Variable conditions (`amount_gt_5`) are checked in Python on the rows the other criteria select:
instance variables are a JSON document, and comparing its values in SQL would need different,
type-unsafe casts on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..access import Principal, instance_visible
from ..models import HistoryEvent, Incident, MessageWait, OpenTask, ProcessDefinition, ProcessInstance, ServiceCall
from ..models.instances import ACTIVE_STATUSES, COMPLETED, TERMINATED
from .errors import BadRequest
from .repository import Page

_CONDITION = re.compile(r"^(.+?)_(eq|neq|gteq|gt|lteq|lt|like)_(.*)$", re.S)
_COMPARE = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "gteq": operator.ge, "lt": operator.lt,
            "lteq": operator.le}


def like_pattern(text: str) -> re.Pattern:
    """SQL LIKE (`%` any text, `_` one character) as a regular expression, for values in Python."""
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in text), re.S)


@dataclass(frozen=True)
class VariableCondition:
    name: str
    op: str
    value: Any
    text: str

    @classmethod
    def parse(cls, condition: str) -> VariableCondition:
        """`name_op_value`; the value is read as JSON (numbers, booleans) and else kept as text."""
        match = _CONDITION.match(condition)
        if match is None:
            raise BadRequest(f"variable condition {condition!r} is not of the form name_op_value "
                             "with op one of eq, neq, gt, gteq, lt, lteq, like")
        name, op, text = match.groups()
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # e.g. "[[[[..." a thousand deep
            value = text
        return cls(name, op, value, text)

    def holds(self, variables: dict) -> bool:
        if self.name not in variables:
            return False
        actual = variables[self.name]
        if self.op == "like":
            return isinstance(actual, str) and like_pattern(self.text).fullmatch(actual) is not None
        if self.op in ("eq", "neq"):
            equal = actual == self.value or (isinstance(actual, str) and actual == self.text)
            return equal if self.op == "eq" else not equal
        try:
            return bool(_COMPARE[self.op](actual, self.value))
        except TypeError:  # e.g. a text compared with a number: no match, as in Camunda
            return False


@dataclass
class InstanceQuery:
    ids: list[str] = field(default_factory=list)
    business_key: str | None = None
    business_key_like: str | None = None
    definition_id: str | None = None
    definition_keys: list[str] = field(default_factory=list)
    unfinished: bool = False  # running, waiting or in error
    finished: bool = False
    completed: bool = False
    terminated: bool = False
    with_incidents: bool = False
    started_after: datetime | None = None
    started_before: datetime | None = None
    finished_after: datetime | None = None
    finished_before: datetime | None = None
    started_by: str | None = None
    activity_ids: list[str] = field(default_factory=list)
    variables: list[VariableCondition] = field(default_factory=list)


def _conditions(q: InstanceQuery) -> list:
    at_activity = None
    if q.activity_ids:
        at_activity = or_(
            ProcessInstance.id.in_(select(OpenTask.instance_id).where(OpenTask.bpmn_id.in_(q.activity_ids))),
            ProcessInstance.id.in_(select(MessageWait.instance_id).where(MessageWait.bpmn_id.in_(q.activity_ids))),
            ProcessInstance.id.in_(select(ServiceCall.instance_id).where(ServiceCall.bpmn_id.in_(q.activity_ids),
                                                                         ServiceCall.status == "pending")))
    incident = ProcessInstance.id.in_(select(Incident.instance_id).where(Incident.resolved_at.is_(None)))
    return [c for c in (
        ProcessInstance.id.in_(q.ids) if q.ids else None,
        ProcessInstance.business_key == q.business_key if q.business_key else None,
        ProcessInstance.business_key.like(q.business_key_like) if q.business_key_like else None,
        ProcessInstance.definition_id == q.definition_id if q.definition_id else None,
        ProcessInstance.definition_key.in_(q.definition_keys) if q.definition_keys else None,
        ProcessInstance.status.in_(ACTIVE_STATUSES) if q.unfinished else None,
        ProcessInstance.status.not_in(ACTIVE_STATUSES) if q.finished else None,
        ProcessInstance.status == COMPLETED if q.completed else None,
        ProcessInstance.status == TERMINATED if q.terminated else None,
        incident if q.with_incidents else None,
        ProcessInstance.started_at > q.started_after if q.started_after else None,
        ProcessInstance.started_at < q.started_before if q.started_before else None,
        ProcessInstance.ended_at > q.finished_after if q.finished_after else None,
        ProcessInstance.ended_at < q.finished_before if q.finished_before else None,
        ProcessInstance.started_by == q.started_by if q.started_by else None,
        at_activity,
    ) if c is not None]


def search(session: Session, principal: Principal, q: InstanceQuery, page: Page) -> tuple[list[ProcessInstance], int]:
    """Instances the caller may see that match `q`, one page of them, and how many match."""
    query = select(ProcessInstance).where(instance_visible(principal), *_conditions(q))
    column = getattr(ProcessInstance, page.sort)
    query = query.order_by(column.desc() if page.descending else column.asc(), ProcessInstance.id)
    if q.variables:
        rows = [i for i in session.scalars(query) if all(c.holds(i.variables or {}) for c in q.variables)]
        return rows[page.offset:page.offset + page.limit], len(rows)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if page.limit == 0:
        return [], total
    return list(session.scalars(query.offset(page.offset).limit(page.limit))), total


def definitions_of(session: Session, instances: list[ProcessInstance]) -> dict[str, ProcessDefinition]:
    ids = {i.definition_id for i in instances}
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(select(ProcessDefinition).where(ProcessDefinition.id.in_(ids)))}


def start_activities(session: Session, instance_ids: list[str]) -> dict[str, str]:
    """The element each instance started at: its first recorded step."""
    if not instance_ids:
        return {}
    first = (select(func.min(HistoryEvent.id)).where(HistoryEvent.instance_id.in_(instance_ids),
                                                     HistoryEvent.kind == "activity_completed")
             .group_by(HistoryEvent.instance_id))
    rows = session.execute(select(HistoryEvent.instance_id, HistoryEvent.bpmn_id).where(HistoryEvent.id.in_(first)))
    return dict(rows.all())

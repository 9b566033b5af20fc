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

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from ..access import Principal, instance_visible
from ..models import HistoryEvent, Incident, MessageWait, OpenTask, ProcessDefinition, ProcessInstance, ServiceCall
from ..models.instances import ACTIVE_STATUSES, COMPLETED, TERMINATED
from .errors import BadRequest
from .repository import Page
from .sql_text import like, like_pattern, ordered

_CONDITION = re.compile(r"^(.+?)_(eq|neq|gteq|gt|lteq|lt|like|notLike)_(.*)$", re.S)
_COMPARE = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "gteq": operator.ge, "lt": operator.lt,
            "lteq": operator.le}


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
                             "with op one of eq, neq, gt, gteq, lt, lteq, like, notLike")
        name, op, text = match.groups()
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # e.g. "[[[[..." a thousand deep
            value = text
        return cls(name, op, value, text)

    def holds(self, variables: dict, names_ignore_case: bool = False, values_ignore_case: bool = False) -> bool:
        """Camunda's `variableNamesIgnoreCase` / `variableValuesIgnoreCase` compare names / text
        values without case."""
        if names_ignore_case:
            wanted = self.name.lower()
            return any(self._value_holds(value, values_ignore_case)
                       for name, value in variables.items() if name.lower() == wanted)
        return self.name in variables and self._value_holds(variables[self.name], values_ignore_case)

    def _value_holds(self, actual: Any, ignore_case: bool) -> bool:
        text, value = self.text, self.value
        if ignore_case and isinstance(actual, str):
            actual, text = actual.lower(), text.lower()
            value = value.lower() if isinstance(value, str) else value
        if self.op in ("like", "notLike"):
            if not isinstance(actual, str):
                return False
            matched = like_pattern(text).fullmatch(actual) is not None
            return matched if self.op == "like" else not matched
        if self.op in ("eq", "neq"):
            equal = actual == value or (isinstance(actual, str) and actual == text)
            return equal if self.op == "eq" else not equal
        try:
            return bool(_COMPARE[self.op](actual, value))
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
    variable_names_ignore_case: bool = False
    variable_values_ignore_case: bool = False
    definition_keys_not: list[str] = field(default_factory=list)
    deployment_id: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    definition_without_tenant: bool = False
    incident_id: str | None = None
    incident_message: str | None = None
    incident_message_like: str | None = None
    nothing: bool = False  # a filter no instance here meets (suspended)


def _conditions(q: InstanceQuery) -> list:
    at_activity = None
    if q.activity_ids:
        at_activity = or_(
            ProcessInstance.id.in_(select(OpenTask.instance_id).where(OpenTask.bpmn_id.in_(q.activity_ids))),
            ProcessInstance.id.in_(select(MessageWait.instance_id).where(MessageWait.bpmn_id.in_(q.activity_ids))),
            ProcessInstance.id.in_(select(ServiceCall.instance_id).where(ServiceCall.bpmn_id.in_(q.activity_ids),
                                                                         ServiceCall.status == "pending")))
    incident = ProcessInstance.id.in_(select(Incident.instance_id).where(Incident.resolved_at.is_(None)))
    return [c for c in _more_conditions(q) + [
        ProcessInstance.id.in_(q.ids) if q.ids else None,
        ProcessInstance.business_key == q.business_key if q.business_key else None,
        like(ProcessInstance.business_key, q.business_key_like) if q.business_key_like else None,
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
    ] if c is not None]


def _more_conditions(q: InstanceQuery) -> list:
    """Camunda's further filters: definitions, tenants, incidents."""
    tenant = ProcessInstance.tenant_id
    open_incidents = select(Incident.instance_id).where(Incident.resolved_at.is_(None))
    incident_id = _number(q.incident_id)
    return [
        ProcessInstance.definition_key.not_in(q.definition_keys_not) if q.definition_keys_not else None,
        ProcessInstance.definition_id.in_(select(ProcessDefinition.id).where(
            ProcessDefinition.deployment_id == q.deployment_id)) if q.deployment_id else None,
        (tenant.in_(q.tenant_ids) | tenant.is_(None) if q.without_tenant else tenant.in_(q.tenant_ids))
        if q.tenant_ids else tenant.is_(None) if q.without_tenant else None,
        ProcessInstance.definition_id.in_(select(ProcessDefinition.id).where(ProcessDefinition.tenant_id.is_(None)))
        if q.definition_without_tenant else None,
        (ProcessInstance.id.in_(open_incidents.where(Incident.id == incident_id)) if incident_id is not None
         else false()) if q.incident_id else None,
        ProcessInstance.id.in_(open_incidents.where(Incident.message == q.incident_message))
        if q.incident_message else None,
        ProcessInstance.id.in_(open_incidents.where(like(Incident.message, q.incident_message_like)))
        if q.incident_message_like else None,
        false() if q.nothing else None,
    ]


def _number(text: str | None) -> int | None:
    """An incident id: a number here; any other text names no incident."""
    try:
        number = int(text or "")
    except ValueError:
        return None
    return number if -2**63 <= number < 2**63 else None


def search(session: Session, principal: Principal, q: InstanceQuery, page: Page) -> tuple[list[ProcessInstance], int]:
    """Instances the caller may see that match `q`, one page of them, and how many match."""
    query = select(ProcessInstance).where(instance_visible(principal), *_conditions(q))
    column = getattr(ProcessInstance, page.sort)
    text = page.sort not in ("started_at", "ended_at")
    query = query.order_by(ordered(column, page.descending, text), ProcessInstance.id)
    if q.variables:
        rows = [i for i in session.scalars(query) if all(
            c.holds(i.variables or {}, q.variable_names_ignore_case, q.variable_values_ignore_case)
            for c in q.variables)]
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

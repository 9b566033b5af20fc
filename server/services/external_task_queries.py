"""Which external tasks a fetch or a list asks for, as SQL conditions.

A worker's topic may narrow what it locks by business key, definition, tenant and process
variables; each of these is a condition of the lock query, so a worker never locks (and so never
hides from the right worker) a task it was not meant to get. Process variables compare as
message correlation keys do (server.services.variable_match): the database drops nearly all
candidates, and `Topic.accepts` has the final word on the few rows the SQL cannot judge exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Text, and_, case, cast, exists, false, func, literal, or_, true

from bpmn.service_tasks import EXTERNAL_PREFIX

from ..models import Incident, ProcessInstance, ServiceCall
from . import variable_match


def topic_of(call: ServiceCall) -> str:
    return call.operator.removeprefix(EXTERNAL_PREFIX)


@dataclass
class Topic:
    """One topic of a fetchAndLock: what to lock, for how long, and what to hand over."""

    name: str
    lock_ms: int
    business_key: str | None = None
    definition_id: str | None = None
    definition_ids: list[str] = field(default_factory=list)
    definition_key: str | None = None
    definition_keys: list[str] = field(default_factory=list)
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    process_variables: dict = field(default_factory=dict)  # plain values, each must be equal
    variables: list[str] | None = None  # the variables to hand over; None: all
    local_variables: bool = False  # hand over only the task's inputs
    extension_properties: bool = False  # hand over the task's camunda:properties

    def accepts(self, call: ServiceCall, instance: ProcessInstance) -> bool:
        """The final word after the SQL conditions (which may let a few non-matching rows by)."""
        return topic_of(call) == self.name and variable_match.matches(instance.variables, self.process_variables)

    def condition(self, dialect: str) -> ColumnElement:
        conditions = [ServiceCall.operator == EXTERNAL_PREFIX + self.name]
        if self.business_key is not None:
            conditions.append(ProcessInstance.business_key == self.business_key)
        if self.definition_id is not None:
            conditions.append(ProcessInstance.definition_id == self.definition_id)
        if self.definition_ids:
            conditions.append(ProcessInstance.definition_id.in_(self.definition_ids))
        if self.definition_key is not None:
            conditions.append(ProcessInstance.definition_key == self.definition_key)
        if self.definition_keys:
            conditions.append(ProcessInstance.definition_key.in_(self.definition_keys))
        if self.tenant_ids:
            conditions.append(ProcessInstance.tenant_id.in_(self.tenant_ids))
        if self.without_tenant:
            conditions.append(ProcessInstance.tenant_id.is_(None))
        conditions += variable_conditions(self.process_variables, dialect)
        return and_(*conditions)


def variable_conditions(wanted: dict, dialect: str) -> list[ColumnElement]:
    """variable_match's conditions, made exact where they are loose: on SQLite a boolean must be
    a JSON boolean and a number a JSON number (json_extract gives 1 for true), and null means
    null or missing, which variable_match leaves to Python."""
    column = ProcessInstance.variables
    conditions = variable_match.sql_conditions(column, wanted, dialect)
    for name, value in wanted.items():
        if dialect == "postgresql" and value is None:
            element = column.op("->")(literal(name))
            conditions.append(case((func.strpos(cast(column, Text), "\\u0000") > 0, true()),
                                   else_=or_(element.is_(None), cast(element, Text) == "null")))
        elif dialect == "sqlite" and '"' not in name and "\\" not in name:
            path = f'$."{name}"'
            if value is None:
                exact = func.json_extract(column, path).is_(None)
            elif isinstance(value, bool):
                exact = func.json_type(column, path).in_(("true", "false"))
            elif isinstance(value, (int, float)):
                exact = func.json_type(column, path).in_(("integer", "real"))
            else:
                continue
            conditions.append(case((func.json_valid(column) == 0, true()), else_=exact))
    return conditions


def fetchable(topics: list[Topic], now: datetime, dialect: str) -> list[ColumnElement]:
    """Pending tasks of these topics (each with its own filters), not locked, not held by an
    open incident. The query must join ProcessInstance."""
    blocked = exists().where(Incident.instance_id == ServiceCall.instance_id, Incident.task_id == ServiceCall.task_id,
                             Incident.resolved_at.is_(None))
    return [or_(*(topic.condition(dialect) for topic in topics)), ServiceCall.status == "pending",
            or_(ServiceCall.locked_until.is_(None), ServiceCall.locked_until < now), ~blocked]


# SQL: a task's camunda:taskPriority, kept in its request (bpmn.service_tasks.ServiceRequest); 0 in
# rows written before priorities were kept
task_priority = func.coalesce(ServiceCall.request["priority"].as_integer(), 0)


def lock_order(use_priority: bool) -> list[ColumnElement]:
    """The order fetchAndLock locks in: oldest first, or highest priority first (`usePriority`)."""
    return ([task_priority.desc()] if use_priority else []) + [ServiceCall.created_at, ServiceCall.id]


SORTS = {"id": ServiceCall.id, "lockExpirationTime": ServiceCall.locked_until,
         "processInstanceId": ServiceCall.instance_id, "processDefinitionId": ProcessInstance.definition_id,
         "processDefinitionKey": ProcessInstance.definition_key, "tenantId": ProcessInstance.tenant_id,
         "taskPriority": task_priority, "createTime": ServiceCall.created_at}


@dataclass
class ExternalTaskQuery:
    """`GET /external-task`'s filters. No task is suspended, so that filter keeps everything or
    nothing, as it would in Camunda."""

    id: str | None = None
    ids: list[str] = field(default_factory=list)
    topic: str | None = None
    worker_id: str | None = None
    instance_id: str | None = None
    instance_ids: list[str] = field(default_factory=list)
    execution_id: str | None = None  # an instance's one execution is the instance
    activity_id: str | None = None
    activity_ids: list[str] = field(default_factory=list)
    definition_id: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    locked: bool = False
    not_locked: bool = False
    lock_expiration_after: datetime | None = None
    lock_expiration_before: datetime | None = None
    with_retries_left: bool = False
    no_retries_left: bool = False
    priority_at_least: int | None = None
    priority_at_most: int | None = None
    suspended: bool = False
    sort_by: str = "createTime"
    descending: bool = False

    def conditions(self, now: datetime) -> list[ColumnElement]:
        has_lock = ServiceCall.worker_id.is_not(None) & ServiceCall.locked_until.is_not(None)
        is_locked = has_lock & (ServiceCall.locked_until >= now)
        optional = (
            (self.id, lambda: ServiceCall.id == self.id),
            (self.ids, lambda: ServiceCall.id.in_(self.ids)),
            (self.topic, lambda: ServiceCall.operator == EXTERNAL_PREFIX + self.topic),
            (self.worker_id, lambda: ServiceCall.worker_id == self.worker_id),
            (self.instance_id, lambda: ServiceCall.instance_id == self.instance_id),
            (self.instance_ids, lambda: ServiceCall.instance_id.in_(self.instance_ids)),
            (self.execution_id, lambda: ServiceCall.instance_id == self.execution_id),
            (self.activity_id, lambda: ServiceCall.bpmn_id == self.activity_id),
            (self.activity_ids, lambda: ServiceCall.bpmn_id.in_(self.activity_ids)),
            (self.definition_id, lambda: ProcessInstance.definition_id == self.definition_id),
            (self.tenant_ids, lambda: ProcessInstance.tenant_id.in_(self.tenant_ids)),
            (self.locked, lambda: is_locked),
            (self.not_locked, lambda: ~is_locked),
            (self.lock_expiration_after, lambda: has_lock & (ServiceCall.locked_until > self.lock_expiration_after)),
            (self.lock_expiration_before, lambda: has_lock & (ServiceCall.locked_until < self.lock_expiration_before)),
            (self.with_retries_left, lambda: or_(ServiceCall.retries.is_(None), ServiceCall.retries > 0)),
            (self.no_retries_left, lambda: ServiceCall.retries <= 0),
            (self.priority_at_least is not None, lambda: task_priority >= self.priority_at_least),
            (self.priority_at_most is not None, lambda: task_priority <= self.priority_at_most),
            (self.suspended, false),
        )
        return [make() for wanted, make in optional if wanted]

    def order(self) -> list[ColumnElement]:
        column = SORTS[self.sort_by]
        return [column.desc() if self.descending else column.asc(), ServiceCall.created_at, ServiceCall.id]

"""External tasks: service tasks with `camunda:type="external"` that outside workers fetch, lock
and finish (Camunda's external task pattern).

Each is a pending `ServiceCall` with operator `external:<topic>`. A worker locks it for a while
(`worker_id`, `locked_until`); an expired lock makes it fetchable again. A failure with retries
left makes it fetchable again after the retry timeout; a failure with no retries left opens an
incident on the instance, and an open incident on the task keeps it from being fetched until
the retries are set again (or an admin retries the instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from bpmn.service_tasks import EXTERNAL_PREFIX

from ..access import WORKER_GROUP, Principal, require_worker  # noqa: F401 (used by /engine-rest)
from ..models import HistoryEvent, Incident, ProcessInstance, ServiceCall
from ..models.instances import ERROR, WAITING
from . import participants, service_calls
from .errors import Conflict, NotFound
from .repository import Page
from .store import InstanceStore


@dataclass
class Topic:
    name: str
    lock_ms: int


def topic_of(call: ServiceCall) -> str:
    return call.operator.removeprefix(EXTERNAL_PREFIX)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _fetchable(topics: list[str], now: datetime) -> list:
    blocked = exists().where(Incident.instance_id == ServiceCall.instance_id, Incident.task_id == ServiceCall.task_id,
                             Incident.resolved_at.is_(None))
    return [ServiceCall.operator.in_([EXTERNAL_PREFIX + t for t in topics]), ServiceCall.status == "pending",
            or_(ServiceCall.locked_until.is_(None), ServiceCall.locked_until < now), ~blocked]


def has_work(session: Session, topics: list[str]) -> bool:
    """A cheap read: whether a fetch would find anything now (long polling asks this often)."""
    query = select(ServiceCall.id).where(*_fetchable(topics, _now())).limit(1)
    return session.scalars(query).first() is not None


def lock(session: Session, worker_id: str, topics: list[Topic],
         max_tasks: int) -> list[tuple[ServiceCall, ProcessInstance]]:
    """Lock up to `max_tasks` fetchable tasks of these topics for `worker_id`, oldest first."""
    now = _now()
    durations = {t.name: t.lock_ms for t in topics}
    query = (select(ServiceCall).where(*_fetchable(list(durations), now))
             .order_by(ServiceCall.created_at, ServiceCall.id).limit(max_tasks))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    locked = []
    for call in session.scalars(query).all():
        call.worker_id = worker_id
        call.locked_until = now + timedelta(milliseconds=durations[topic_of(call)])
        locked.append((call, instance_of(session, call)))
    session.flush()
    return locked


def get(session: Session, task_id: str) -> ServiceCall:
    call = session.get(ServiceCall, task_id)
    if call is None or not call.operator.startswith(EXTERNAL_PREFIX):
        raise NotFound(f"External task with id {task_id} does not exist")
    return call


def _held(session: Session, task_id: str, worker_id: str | None, action: str) -> ServiceCall:
    call = get(session, task_id)
    if call.status != "pending":
        raise NotFound(f"External task with id {task_id} does not exist (it is {call.status})")
    if call.worker_id != worker_id:
        holder = f"It is locked by worker '{call.worker_id}'." if call.worker_id else "It is not locked."
        raise Conflict(f"External Task {task_id} cannot be {action} by worker '{worker_id}'. {holder}")
    return call


def complete(session: Session, store: InstanceStore, task_id: str, worker_id: str, variables: dict,
             local_variables: dict, user: str) -> None:
    """Finish the task: `variables` become process variables; with output parameters those (and
    the task's inputs and `local_variables`) are what the outputs are computed from."""
    call = _held(session, task_id, worker_id, "completed")
    scope = {**call.params, **variables, **local_variables} if call.request.get("outputs") else None
    service_calls.finish(session, store, call, scope, user=user, variables=variables)


def bpmn_error(session: Session, store: InstanceStore, task_id: str, worker_id: str, code: str,
               message: str | None, variables: dict, user: str) -> None:
    call = _held(session, task_id, worker_id, "reported a BPMN error")
    service_calls.fail(session, store, call, code, message or code, user=user, variables=variables)


def failure(session: Session, store: InstanceStore, task_id: str, worker_id: str, message: str | None,
            details: str | None, retries: int | None, retry_timeout_ms: int | None, user: str) -> None:
    """Record a failed attempt; the task is unlocked and fetchable again after `retry_timeout_ms`,
    unless no retries are left: then the instance gets an incident."""
    call = _held(session, task_id, worker_id, "failed")
    now = _now()
    call.error_message, call.error_details, call.retries = message, details, retries
    call.worker_id = None
    call.locked_until = now + timedelta(milliseconds=retry_timeout_ms or 0)
    session.add(HistoryEvent(instance_id=call.instance_id, kind="external_task_failed", bpmn_id=call.bpmn_id,
                             task_id=call.task_id, user=user,
                             data={"topic": topic_of(call), "message": message, "retries": retries}))
    participants.add_users_by_id(session, call.instance_id, user)
    if retries is not None and retries <= 0:
        instance = store.lock(session, call.instance_id)
        session.add(Incident(instance_id=instance.id, task_id=call.task_id, bpmn_id=call.bpmn_id,
                             message=message or f"external task {call.id} failed"))
        session.add(HistoryEvent(instance_id=instance.id, kind="error", bpmn_id=call.bpmn_id, task_id=call.task_id,
                                 data={"message": message, "external_task": call.id}))
        participants.set_status(session, instance, ERROR)
        instance.status = ERROR


def set_retries(session: Session, store: InstanceStore, task_id: str, retries: int, user: str) -> None:
    """New retries resolve the task's incident; the instance leaves ERROR when it has no other."""
    call = get(session, task_id)
    call.retries = retries
    if retries <= 0 or call.status != "pending":
        return
    instance = store.lock(session, call.instance_id)
    open_incidents = list(session.scalars(select(Incident).where(Incident.instance_id == instance.id,
                                                                 Incident.resolved_at.is_(None))))
    mine = [i for i in open_incidents if i.task_id == call.task_id]
    for incident in mine:
        incident.resolved_at = _now()
    if mine:
        session.add(HistoryEvent(instance_id=instance.id, kind="retried", user=user, task_id=call.task_id,
                                 data={"retries": retries, "external_task": call.id}))
        participants.add_users(session, instance, user)
    if instance.status == ERROR and len(mine) == len(open_incidents):
        participants.set_status(session, instance, WAITING)
        instance.status = WAITING


def extend_lock(session: Session, task_id: str, worker_id: str, new_duration_ms: int) -> None:
    call = _held(session, task_id, worker_id, "extended")
    if call.locked_until is None or call.locked_until < _now():
        raise Conflict(f"Cannot extend a lock that expired: external task {task_id}")
    call.locked_until = _now() + timedelta(milliseconds=new_duration_ms)


def unlock(session: Session, task_id: str) -> None:
    call = get(session, task_id)
    call.worker_id = None
    call.locked_until = None


@dataclass
class ExternalTaskQuery:
    id: str | None = None
    topic: str | None = None
    worker_id: str | None = None
    instance_id: str | None = None
    locked: bool = False
    not_locked: bool = False
    with_retries_left: bool = False
    no_retries_left: bool = False


def instance_of(session: Session, call: ServiceCall) -> ProcessInstance | None:
    return session.get(ProcessInstance, call.instance_id)


def search(session: Session, q: ExternalTaskQuery,
           page: Page) -> tuple[list[tuple[ServiceCall, ProcessInstance]], int]:
    """Pending external tasks (Camunda forgets finished ones)."""
    now = _now()
    is_locked = (ServiceCall.worker_id.is_not(None)) & (ServiceCall.locked_until >= now)
    conditions = [c for c in (
        ServiceCall.id == q.id if q.id else None,
        ServiceCall.operator == EXTERNAL_PREFIX + q.topic if q.topic else None,
        ServiceCall.worker_id == q.worker_id if q.worker_id else None,
        ServiceCall.instance_id == q.instance_id if q.instance_id else None,
        is_locked if q.locked else None,
        ~is_locked if q.not_locked else None,
        or_(ServiceCall.retries.is_(None), ServiceCall.retries > 0) if q.with_retries_left else None,
        ServiceCall.retries <= 0 if q.no_retries_left else None,
    ) if c is not None]
    query = (select(ServiceCall, ProcessInstance).join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id)
             .where(ServiceCall.operator.startswith(EXTERNAL_PREFIX), ServiceCall.status == "pending", *conditions))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(ServiceCall.created_at, ServiceCall.id)
                           .offset(page.offset).limit(page.limit)).tuples().all() if page.limit else []
    return list(rows), total

"""External tasks: service tasks with `camunda:type="external"` that outside workers fetch, lock
and finish (Camunda's external task pattern).

Each is a pending `ServiceCall` with operator `external:<topic>`. A worker locks it for a while
(`worker_id`, `locked_until`); an expired lock makes it fetchable again. A failure with retries
left makes it fetchable again after the retry timeout; a failure with no retries left opens an
incident on the instance, and an open incident on the task keeps it from being fetched until
the retries are set again (or an admin retries the instance).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpmn.service_tasks import EXTERNAL_PREFIX

from ..access import WORKER_GROUP, Principal, require_worker  # noqa: F401 (used by /engine-rest)
from ..models import HistoryEvent, Incident, ProcessInstance, ServiceCall
from ..models.instances import ERROR, WAITING
from . import participants, service_calls
from .errors import Conflict, NotFound
from .external_task_queries import (  # noqa: F401 (re-exported)
    ExternalTaskQuery,
    Topic,
    fetchable,
    lock_order,
    topic_of,
)
from .repository import Page
from .store import InstanceStore


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _candidates(session: Session, topics: list[Topic], now: datetime):
    return (select(ServiceCall, ProcessInstance).join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id)
            .where(*fetchable(topics, now, session.get_bind().dialect.name)))


def has_work(session: Session, topics: list[Topic]) -> bool:
    """A cheap read: whether a fetch would find anything now (long polling asks this often)."""
    query = _candidates(session, topics, _now()).with_only_columns(ServiceCall.id).limit(1)
    return session.scalars(query).first() is not None


def lock(session: Session, worker_id: str, topics: list[Topic], max_tasks: int,
         use_priority: bool = False) -> list[tuple[ServiceCall, ProcessInstance, Topic]]:
    """Lock up to `max_tasks` fetchable tasks of these topics for `worker_id`, oldest first (or
    highest priority first: `use_priority`), each with the topic that took it (its lock duration
    and the variables to hand over).

    The topics' filters are SQL conditions; the few rows they cannot judge exactly (see
    server.services.external_task_queries) are dropped here, and the next rows read instead, so a
    row no topic accepts cannot keep a matching one from being fetched.
    """
    now = _now()
    query = _candidates(session, topics, now).order_by(*lock_order(use_priority))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=ServiceCall, skip_locked=True)
    locked: list[tuple[ServiceCall, ProcessInstance, Topic]] = []
    passed_over = 0  # rows read and accepted by no topic: they still match, so the next read skips them
    while len(locked) < max_tasks:
        wanted = max_tasks - len(locked)
        batch = session.execute(query.offset(passed_over).limit(wanted)).tuples().all()
        rejected = 0
        for call, instance in batch:
            topic = next((t for t in topics if t.accepts(call, instance)), None)
            if topic is None:
                rejected += 1
                continue
            call.worker_id = worker_id
            call.locked_until = now + timedelta(milliseconds=topic.lock_ms)
            locked.append((call, instance, topic))
        session.flush()  # the rows just locked no longer match the next read
        if len(batch) < wanted or not rejected:
            break
        passed_over += rejected
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


def instance_of(session: Session, call: ServiceCall) -> ProcessInstance | None:
    return session.get(ProcessInstance, call.instance_id)


def search(session: Session, q: ExternalTaskQuery,
           page: Page) -> tuple[list[tuple[ServiceCall, ProcessInstance]], int]:
    """Pending external tasks (Camunda forgets finished ones)."""
    query = (select(ServiceCall, ProcessInstance).join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id)
             .where(ServiceCall.operator.startswith(EXTERNAL_PREFIX), ServiceCall.status == "pending",
                    *q.conditions(_now())))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(*q.order()).offset(page.offset).limit(page.limit)).tuples().all() \
        if page.limit else []
    return list(rows), total

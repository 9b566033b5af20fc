"""Starting instances and acting on them: variables, termination, incidents, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bpmn.conditions import waits_for_condition
from bpmn.runtime import Outcome
from bpmn.timer_starts import fire_start_event

from .. import access
from ..access import Principal, instance_visible, require_admin  # noqa: F401 (require_admin: /engine-rest)
from ..models import (
    HistoryEvent,
    Incident,
    Job,
    MessageWait,
    OpenTask,
    ProcessInstance,
    TaskCandidate,
)
from ..models.base import new_id
from ..models.instances import ACTIVE_STATUSES, ERROR, RUNNING, TERMINATED
from . import service_calls
from .counting import count_up_to, small_page
from .errors import Conflict, NotFound
from .specs import DefinitionInfo
from .store import InstanceStore


@dataclass
class InstanceFilter:
    definition_key: str | None = None
    definition_id: str | None = None
    business_key: str | None = None
    status: str | None = None
    started_by: str | None = None
    limit: int = 50
    offset: int = 0
    count_cap: int | None = None  # count at most this many (+1); None: an exact total (services.counting)


def start(
    session: Session,
    store: InstanceStore,
    definition: DefinitionInfo,
    variables: dict | None = None,
    business_key: str | None = None,
    user: str | None = None,
    timer_start: str | None = None,
) -> tuple[ProcessInstance, Outcome]:
    """Create an instance and run it until it waits; the row is written once, with its state.

    `timer_start` names the timer start event that fired (the instance starts through it at once).
    """
    instance = ProcessInstance(
        id=new_id(),
        definition_id=definition.id,
        definition_key=definition.key,
        business_key=business_key,
        tenant_id=definition.tenant_id,
        status=RUNNING,
        started_by=user,
    )
    session.add(instance)
    session.add(HistoryEvent(instance_id=instance.id, kind="started", user=user,
                             data={"variables": variables or {}, "business_key": business_key,
                                   "definition_id": definition.id}
                             | ({"timer_start": timer_start} if timer_start else {})))
    run = store.new_run(definition, variables or {})
    if timer_start:
        fire_start_event(run.workflow, timer_start)
    outcome = store.advance_and_save(session, instance, run, user)
    return instance, outcome


def get_visible(session: Session, principal: Principal, instance_id: str) -> ProcessInstance:
    instance = session.scalars(
        select(ProcessInstance).where(ProcessInstance.id == instance_id, instance_visible(principal))
    ).first()
    if instance is None:
        raise NotFound(f"no process instance with id {instance_id!r}")
    return instance


DRIVE_LIMIT = 2_000  # visible instance ids up to which a search reads them all (server.access);
# beyond, walking in order wins (bench/tasklist.py: p50 of a member's search 95 ms against 350 ms at 20,000)


def search(session: Session, principal: Principal, flt: InstanceFilter) -> tuple[list[ProcessInstance], int]:
    """One page, newest first, and the total (up to `count_cap`). A caller who may see few instances
    is served starting from those; one who may see many (a busy team member) by walking the
    instances newest first and keeping the visible ones (server.access)."""
    visible, bounded = access.instance_visible_for_search(session, principal, DRIVE_LIMIT)
    query = select(ProcessInstance).where(visible)
    if flt.definition_key:
        query = query.where(ProcessInstance.definition_key == flt.definition_key)
    if flt.definition_id:
        query = query.where(ProcessInstance.definition_id == flt.definition_id)
    if flt.business_key:
        query = query.where(ProcessInstance.business_key == flt.business_key)
    if flt.status:
        query = query.where(ProcessInstance.status == flt.status)
    if flt.started_by:
        query = query.where(ProcessInstance.started_by == flt.started_by)
    if flt.count_cap is None:
        total = count_up_to(session, query, None)
    else:
        small = small_page(session, ProcessInstance, query, [ProcessInstance.started_at], _newest_first,
                           flt.count_cap, flt.offset, flt.limit, bounded=bounded)
        if small is not None:
            return small
        total = flt.count_cap + 1
    rows = session.scalars(
        query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id).limit(flt.limit).offset(flt.offset)
    ).all()
    return list(rows), total


def _newest_first(rows: list) -> list:
    """(id, started_at) rows newest first, then by id (the search's ORDER BY)."""
    by_id = sorted(rows, key=lambda r: r[0])
    return sorted(by_id, key=lambda r: r[1] is not None and r[1].timestamp(), reverse=True)


def open_tasks(session: Session, instance_id: str) -> list[OpenTask]:
    return list(session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)
                                .order_by(OpenTask.created_at)))


def incidents(session: Session, instance_id: str, open_only: bool = False) -> list[Incident]:
    query = select(Incident).where(Incident.instance_id == instance_id)
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    return list(session.scalars(query.order_by(Incident.id)))


def history(session: Session, instance_id: str, after_id: int = 0, limit: int = 500) -> list[HistoryEvent]:
    return list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.id > after_id)
        .order_by(HistoryEvent.id).limit(limit)
    ))


def update_variables(session: Session, store: InstanceStore, instance_id: str, user: str,
                     values: dict, deletions: list[str] = ()) -> ProcessInstance:
    instance = store.lock(session, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance {instance_id} has ended; its variables can no longer change")
    run = store.load(session, instance)
    run.set_variables(values, list(deletions))
    session.add(HistoryEvent(instance_id=instance.id, kind="variables_changed", user=user,
                             data={"set": values, "deleted": list(deletions)}))
    if instance.status != ERROR and waits_for_condition(run.workflow):
        store.advance_and_save(session, instance, run, user)  # a conditional event may fire now
        return instance
    instance.state = run.dump()
    instance.variables = run.variables()
    instance.updated_at = datetime.now(timezone.utc)
    return instance


def terminate(session: Session, store: InstanceStore, instance_id: str, user: str,
              reason: str = "terminated") -> ProcessInstance:
    instance = store.lock(session, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance {instance_id} has already ended ({instance.status})")
    run = store.load(session, instance)
    run.cancel()
    now = datetime.now(timezone.utc)
    instance.state = run.dump()
    instance.status = TERMINATED
    instance.ended_at = now
    instance.end_reason = reason
    _drop_derived_rows(session, instance.id)
    service_calls.cancel_open_calls(session, instance.id)
    session.execute(delete(Job).where(Job.instance_id == instance.id))
    for incident in incidents(session, instance.id, open_only=True):
        incident.resolved_at = now
    session.add(HistoryEvent(instance_id=instance.id, kind="terminated", user=user, data={"reason": reason}))
    return instance


def _drop_derived_rows(session: Session, instance_id: str) -> None:
    session.execute(delete(TaskCandidate).where(TaskCandidate.instance_id == instance_id))
    session.execute(delete(OpenTask).where(OpenTask.instance_id == instance_id))
    session.execute(delete(MessageWait).where(MessageWait.instance_id == instance_id))


def retry(session: Session, store: InstanceStore, instance_id: str, user: str,
          variables: dict | None = None) -> tuple[ProcessInstance, Outcome]:
    """Run the failed step again, after an admin corrected the data it needs."""
    instance = store.lock(session, instance_id)
    if instance.status != ERROR:
        raise Conflict(f"instance {instance_id} has no incident to retry (status {instance.status})")
    run = store.load(session, instance)
    if variables:
        run.set_variables(variables)
    run.retry()
    now = datetime.now(timezone.utc)
    for incident in incidents(session, instance.id, open_only=True):
        incident.resolved_at = now
    session.add(HistoryEvent(instance_id=instance.id, kind="retried", user=user, data={"variables": variables or {}}))
    instance.status = RUNNING
    outcome = store.advance_and_save(session, instance, run, user)
    return instance, outcome


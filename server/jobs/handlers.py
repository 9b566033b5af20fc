"""What each kind of job does. Each runs in one transaction with the instance locked."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import HistoryEvent, Job
from ..models.instances import ACTIVE_STATUSES
from ..services.store import InstanceStore


def run_job(session: Session, store: InstanceStore, job: Job) -> None:
    handler = HANDLERS.get(job.kind)
    if handler is None:
        raise ValueError(f"unknown job kind {job.kind!r}")
    handler(session, store, job)


def _continue(session: Session, store: InstanceStore, job: Job) -> None:
    session.delete(job)
    instance = store.lock(session, job.instance_id)
    if instance.status not in ACTIVE_STATUSES:
        return
    run = store.load(session, instance)
    store.advance_and_save(session, instance, run)


def _timer(session: Session, store: InstanceStore, job: Job) -> None:
    session.delete(job)
    session.flush()
    instance = store.lock(session, job.instance_id)
    if instance.status not in ACTIVE_STATUSES:
        return
    run = store.load(session, instance)
    task = run.find_task(job.task_id) if job.task_id else None
    if task is None:
        return
    session.add(HistoryEvent(instance_id=instance.id, kind="timer_fired", bpmn_id=job.payload.get("bpmn_id"),
                             task_id=job.task_id, data={"due": job.due_at.isoformat()}))
    store.advance_and_save(session, instance, run)


HANDLERS = {"continue": _continue, "timer": _timer}

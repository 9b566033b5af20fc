"""What each kind of job does.

Two sorts of handler:
- instance steps run inside the runner's transaction with the instance locked (`STEP_HANDLERS`);
- network work (social posts, reading reactions) manages its own short transactions, so no
  lock is held while a network call is under way (`NETWORK_HANDLERS`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from bpmn.social import FAILED_ERROR_CODE

from ..models import HistoryEvent, Job, ServiceCall
from ..models.instances import ACTIVE_STATUSES
from ..services import message_flows, service_calls, timer_starts
from ..services.store import InstanceStore
from ..social import inbound, reviews, sending
from .context import JobContext

StepHandler = Callable[[Session, InstanceStore, Job], None]
NetworkHandler = Callable[[JobContext, int], None]


def _continue(session: Session, store: InstanceStore, job: Job) -> None:
    session.delete(job)
    instance = store.lock(session, job.instance_id)
    if instance.status not in ACTIVE_STATUSES:
        return
    run = store.load(session, instance)
    store.advance_and_save(session, instance, run, continuation=True)  # passes asyncBefore/After boundaries


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
    waited = next((wait for wait in run.baseline.timers if wait.task_id == job.task_id), None)
    if waited is not None and waited.due > datetime.now(timezone.utc):
        # the job came due by the clock of the server that set it, ahead of this one's: the engine
        # would not fire the timer yet, and with the job gone the instance would wait for ever
        session.add(Job(instance_id=instance.id, kind="timer", task_id=job.task_id, payload=job.payload,
                        due_at=waited.due))
        return
    session.add(HistoryEvent(instance_id=instance.id, kind="timer_fired", bpmn_id=job.payload.get("bpmn_id"),
                             task_id=job.task_id, data={"due": job.due_at.isoformat()}))
    store.advance_and_save(session, instance, run)


def _social_fail(session: Session, store: InstanceStore, job: Job) -> None:
    """A social step whose inputs cannot work throws social.failed (queued by the outbox)."""
    session.delete(job)
    call = session.get(ServiceCall, job.payload.get("call_id"))
    if call is not None and call.status == "pending":
        service_calls.fail(session, store, call, FAILED_ERROR_CODE, job.payload.get("message", "social step failed"))


STEP_HANDLERS: dict[str, StepHandler] = {
    "continue": _continue,
    "timer": _timer,
    "review.timeout": reviews.timeout_job,
    "social.fail": _social_fail,
    "message_throw": message_flows.deliver_thrown,
    "timer_start": timer_starts.fire,
}

NETWORK_HANDLERS: dict[str, NetworkHandler] = {
    "social.send": sending.send_job,
    "social.poll": reviews.poll_job,
    "social.inbound": inbound.poll_job,
}


def run_step_job(session: Session, store: InstanceStore, job: Job) -> None:
    handler = STEP_HANDLERS.get(job.kind)
    if handler is None:
        raise ValueError(f"unknown job kind {job.kind!r}")
    handler(session, store, job)

"""Timer start events: jobs that start instances by themselves.

Deploying a version of a process replaces the pending `timer_start` jobs of its key by one job
per timer start event of the new version (none if it has no timer start): only the latest version
of a key starts by timer, as in Camunda. A job starts an instance through its start event when due;
for a cycle it schedules the next firing in the same transaction, one interval from now if the
job ran late (after downtime: one instance for the missed firings, not a burst).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.dialect import Dialect
from bpmn.engine import CafeScriptEngine
from bpmn.serializer import serializer_for
from bpmn.timer_starts import TimerStart, schedule

from ..models import Job, ProcessDefinition
from ..models.jobs import PENDING
from . import instances
from .errors import NotFound
from .store import InstanceStore

KIND = "timer_start"


def pending_jobs(session: Session, key: str | None = None) -> list[Job]:
    """Pending timer starts (of one process key); few rows, the key lives in the payload."""
    jobs = session.scalars(select(Job).where(Job.kind == KIND, Job.status == PENDING).order_by(Job.due_at))
    return [j for j in jobs if key is None or j.payload.get("key") == key]


def reschedule(session: Session, definition: ProcessDefinition, has_timer_starts: bool,
               now: datetime | None = None) -> list[Job]:
    """Make `definition` (the new latest version of its key) the one whose timers start instances."""
    for job in pending_jobs(session, definition.key):
        session.delete(job)
    if not has_timer_starts:
        return []
    dialect = Dialect(definition.dialect)
    spec = serializer_for(dialect).load_specs(definition.specs_json).spec
    engine = CafeScriptEngine(dialect)
    jobs = [_job(definition.id, definition.key, start)
            for start in schedule(spec, lambda e: engine.evaluate_in(e, {}), now or datetime.now(timezone.utc))]
    session.add_all(jobs)
    if jobs:
        session.info["wake_jobs"] = True
    return jobs


def _job(definition_id: str, key: str, start: TimerStart) -> Job:
    return Job(kind=KIND, due_at=start.due, payload={
        "definition_id": definition_id, "key": key, "bpmn_id": start.bpmn_id,
        "interval": start.interval, "remaining": start.remaining})


def fire(session: Session, store: InstanceStore, job: Job) -> None:
    """The job handler: start an instance through the timer start event, schedule the next cycle."""
    session.delete(job)
    payload = job.payload
    try:
        latest = store.specs.latest(session, payload["key"])
    except NotFound:
        return
    if latest.id != payload["definition_id"]:
        return  # a newer version took over (its deployment replaced the jobs; this one was claimed)
    instances.start(session, store, latest, {}, None, None, timer_start=payload["bpmn_id"])
    following = TimerStart(payload["bpmn_id"], job.due_at, payload.get("interval"),
                           payload.get("remaining", 0)).following(datetime.now(timezone.utc))
    if following is not None:
        session.add(_job(latest.id, latest.key, following))

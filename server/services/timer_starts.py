"""Timer start events: jobs that start instances by themselves.

Deploying a version of a process replaces the pending `timer_start` jobs of its key by one job
per timer start event of the new version (none if it has no timer start): only the latest version
of a key starts by timer, as in Camunda. A job starts an instance through its start event when due;
for a cycle it schedules the next firing in the same transaction.

Cycles keep to their schedule (`bpmn.timer_values.next_cycle_slot`): a cycle whose start date is
past is first due at its first slot from now on (`R/2020-01-01T08:00:00Z/P1D` at the next 08:00,
not at deploy time), or at once if all of its slots are past (one instance, then none); a job that
ran late (after downtime) stands for the firings it missed, and the next one is the next slot of
the schedule (one instance for the missed firings, not a burst).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.dialect import Dialect
from bpmn.engine import CafeScriptEngine
from bpmn.serializer import serializer_for
from bpmn.timer_starts import TimerStart, schedule
from bpmn.timer_values import next_cycle_slot

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
    now = now or datetime.now(timezone.utc)
    jobs = [_job(definition.id, definition.key, _on_schedule(start, now))
            for start in schedule(spec, lambda e: engine.evaluate_in(e, {}), now)]
    session.add_all(jobs)
    if jobs:
        session.info["wake_jobs"] = True
    return jobs


def _on_schedule(start: TimerStart, now: datetime) -> TimerStart:
    """A cycle's first firing from `now` on: slots already past are skipped; if all are, it is
    due at once and fires once."""
    if not start.interval or start.due >= now:
        return start
    slot = next_cycle_slot(start.due, timedelta(seconds=start.interval), _slots(start.remaining), now)
    if slot is None:
        return TimerStart(start.bpmn_id, start.due, start.interval, 0)
    return TimerStart(start.bpmn_id, slot[0], start.interval, _further(slot[1]))


def _following(fired: TimerStart, now: datetime) -> TimerStart | None:
    """The firing after `fired` (just run): the next slot of the cycle not before `now`."""
    if not fired.interval or fired.remaining == 0:
        return None
    interval = timedelta(seconds=fired.interval)
    slot = next_cycle_slot(fired.due + interval, interval, fired.remaining, now)
    if slot is None:
        return None
    return TimerStart(fired.bpmn_id, slot[0], fired.interval, _further(slot[1]))


def _slots(remaining: int) -> int:
    """Slots from a firing on, itself included, of one with `remaining` further ones (-1: for ever)."""
    return remaining + 1 if remaining >= 0 else -1


def _further(slots: int) -> int:
    return slots - 1 if slots >= 0 else -1


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
    due = job.due_at if job.due_at.tzinfo else job.due_at.replace(tzinfo=timezone.utc)  # SQLite drops it
    following = _following(TimerStart(payload["bpmn_id"], due, payload.get("interval"),
                                      payload.get("remaining", 0)), datetime.now(timezone.utc))
    if following is not None:
        session.add(_job(latest.id, latest.key, following))

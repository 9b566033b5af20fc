"""Handing job ids to Celery in the scaled-out mode. The jobs table stays the truth; the broker
only carries wake-up calls, and losing one delays a job but never loses it.

- After commit: a transaction that wrote a claimable job (new, rescheduled or put back) due within
  `HORIZON` sends its id once committed, with an ETA when it is due later; the row records
  `dispatched_at` in that same transaction.
- The sweeper, a thread in every `processcafe worker`, every `SWEEP_INTERVAL` (0.5 s): sends jobs
  due within `HORIZON` that were never sent (timers, written by bulk INSERTs, and far-off jobs as
  they come near), with an ETA, so a PT1S timer fires on time; and sends again any job that is due,
  unclaimed (or whose claim expired: its worker died) and was last sent `GRACE` ago or more: the
  broker lost the message, a process died between commit and send, or a worker died holding it.
  Each resend waits at least as long as the job has been waiting already, so a long queue backlog
  costs at most a few duplicate messages per job instead of a flood (SpiffArena's Redis held two
  million entries).

When the broker is away, a failed send pauses sending in that process for `BROKER_PAUSE` (every
send would wait for the broker's timeouts; the jobs are left to the sweepers), and a sweep marks
only the jobs it did hand over: a send that failed is no send, so the waits between resends do
not grow during the outage, and the jobs that came due go out within a pause of its end.

Why a sweeper thread in every worker rather than celery beat: beat must run exactly once (a second
beat doubles the schedule) and its own messages queue behind the backlog it is meant to clear.
Sweepers may run in any number: each takes the rows it sends with FOR UPDATE SKIP LOCKED and marks
them, so two sweepers do not send the same job in the same round. A duplicate message is harmless
anyway: the task claims the row first and does nothing when it is claimed or gone.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, event, or_, select, update

from ..db import Database
from ..models import Job
from ..models.jobs import PENDING
from . import leases

log = logging.getLogger(__name__)

HORIZON = timedelta(seconds=float(os.environ.get("PROCESSCAFE_DISPATCH_HORIZON_SECONDS", "5")))
GRACE = timedelta(seconds=float(os.environ.get("PROCESSCAFE_REDISPATCH_SECONDS", "10")))
SWEEP_INTERVAL = float(os.environ.get("PROCESSCAFE_SWEEP_INTERVAL", "0.5"))
BROKER_PAUSE = float(os.environ.get("PROCESSCAFE_BROKER_PAUSE_SECONDS", "5"))
QUEUED = "processcafe_jobs_to_send"
LEASE_CLEANUP_INTERVAL = 60.0

Sender = Callable[[int, datetime | None], None]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def ready_at(due_at: datetime | None, locked_until: datetime | None, at: datetime) -> datetime:
    """When a job becomes claimable: due, and any claim (or put-back pause) over."""
    ready = due_at or at
    return max(ready, locked_until) if locked_until is not None else ready


class Dispatcher:
    def __init__(self, db: Database, send: Sender):
        self.db = db
        self.send = send
        self._paused_until = 0.0  # time.monotonic() before which this process sends nothing

    @property
    def paused(self) -> bool:
        """A send failed a moment ago: the broker is away, leave the jobs to the sweepers."""
        return time.monotonic() < self._paused_until

    def install(self) -> None:
        event.listen(self.db.sessions, "before_flush", self._before_flush)
        self.db.after_commit.append(self._after_commit)

    def _before_flush(self, session, _flush_context, _instances) -> None:
        at = _now()
        queued = session.info.setdefault(QUEUED, {})
        for obj in (*session.new, *session.dirty):
            if not isinstance(obj, Job) or obj.locked_by is not None or (obj.status or PENDING) != PENDING:
                continue
            if ready_at(obj.due_at, obj.locked_until, at) <= at + HORIZON:
                obj.dispatched_at = at
                queued[id(obj)] = obj
            else:  # the sweeper sends it as it comes near
                obj.dispatched_at = None
                queued.pop(id(obj), None)

    def _after_commit(self, session) -> None:
        queued = session.info.pop(QUEUED, None)
        if not queued:
            return
        at = _now()
        for job in queued.values():
            if job.id is not None:
                self._send(job.id, ready_at(job.due_at, job.locked_until, at), at)

    def _send(self, job_id: int, when: datetime, at: datetime) -> bool:
        """Hand one job id to the broker; False when it did not (the sweeper sends it later)."""
        if self.paused:
            return False
        try:
            self.send(job_id, when if when > at else None)
        except Exception as err:
            self._paused_until = time.monotonic() + BROKER_PAUSE
            log.warning("could not hand job %s to the broker (%s); the sweepers will, and this process "
                        "sends nothing for %.0f s", job_id, type(err).__name__, BROKER_PAUSE)
            return False
        return True

    # -- the sweeper ----------------------------------------------------------------------------

    def sweep(self, limit: int = 500) -> int:
        if self.paused:
            return 0
        at = _now()
        claimable = (Job.status == PENDING, or_(Job.locked_until.is_(None), Job.locked_until < at))
        soon = and_(Job.dispatched_at.is_(None), Job.due_at <= at + HORIZON)
        stale = and_(Job.due_at <= at - GRACE, or_(Job.dispatched_at.is_(None), Job.dispatched_at <= at - GRACE))
        query = (select(Job.id, Job.due_at, Job.locked_until, Job.dispatched_at)
                 .where(*claimable, or_(soon, stale)).order_by(Job.due_at).limit(limit))
        with self.db.read() as session:  # most sweeps find nothing: no write transaction for that
            if session.execute(query.limit(1)).first() is None:
                return 0
        with self.db.transaction() as session:
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = [r for r in session.execute(query) if r.dispatched_at is None
                    or at - r.dispatched_at >= max(GRACE, r.dispatched_at - r.due_at)]
            if rows:
                session.execute(update(Job).where(Job.id.in_([r.id for r in rows])).values(dispatched_at=at)
                                .execution_options(synchronize_session=False))
        unsent = []
        for row in rows:
            if row.dispatched_at is not None:
                log.info("job %s still pending %.0f s after it was sent; sending it again", row.id,
                         (at - row.dispatched_at).total_seconds())
            if not self._send(row.id, ready_at(row.due_at, row.locked_until, at), at):
                unsent.append(row)
        if unsent:
            self._unmark(unsent, at)
        return len(rows) - len(unsent)

    def _unmark(self, rows, at: datetime) -> None:
        """Give the jobs the broker did not take their last real send back (unless a commit has
        dispatched them since), so that the next sweep after the outage sends them."""
        with self.db.transaction() as session:
            for row in rows:
                session.execute(update(Job).where(Job.id == row.id, Job.dispatched_at == at)
                                .values(dispatched_at=row.dispatched_at).execution_options(synchronize_session=False))


class Sweeper:
    """The periodic sweep as a daemon thread (one per `processcafe worker`); once a minute it also
    forgets instance leases left behind by dead workers."""

    def __init__(self, dispatcher: Dispatcher, interval: float = SWEEP_INTERVAL):
        self.dispatcher = dispatcher
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="processcafe-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _loop(self) -> None:
        cleared = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                self.dispatcher.sweep()
                if time.monotonic() - cleared >= LEASE_CLEANUP_INTERVAL:
                    cleared = time.monotonic()
                    leases.clear_left_behind(self.dispatcher.db)
            except Exception:  # the database or broker may be away for a while; keep sweeping
                log.exception("job sweep failed")

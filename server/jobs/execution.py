"""Claiming and running one job: the code path shared by the embedded thread runner and the
Celery task, so that both modes behave the same.

Every job is safe to run twice. Whoever runs a job first claims its row (an UPDATE that only
matches a pending, due job whose claim is free or expired: `claim_due` for the thread runner's
batches, `claim_and_run` for one Celery delivery), so a second delivery of the same job finds it
claimed or gone and does nothing. While it runs, the heartbeat renews the claim
(and the instance lease of a network job); a crashed worker's claim expires and the job runs again.
A job whose instance another live worker is advancing is put back for a moment (`BUSY`).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from .. import metrics
from ..models import Job
from ..models.jobs import FAILED, PENDING
from ..services import instances
from . import leases
from .context import JobContext
from .handlers import NETWORK_HANDLERS, run_step_job

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BUSY_RETRY = timedelta(seconds=0.3)  # how soon a job whose instance was busy is tried again


class Outcome(enum.Enum):
    RAN = "ran"  # the handler ran (it may have failed; failures are recorded on the job)
    NOT_CLAIMED = "not claimed"  # done, gone, not due, or claimed by another worker
    BUSY = "busy"  # another live worker holds the instance: put back, due again in BUSY_RETRY


def _claimable(at: datetime):
    return (Job.status == PENDING, Job.due_at <= at, or_(Job.locked_until.is_(None), Job.locked_until < at))


def claim_due(ctx: JobContext, batch: int) -> list[int]:
    """Claim up to `batch` due jobs for `ctx.worker_id` (the thread runner's poll)."""
    at = leases.now()
    query = select(Job.id).where(*_claimable(at)).order_by(Job.due_at, Job.id).limit(batch)
    with ctx.db.read() as session:  # most polls find nothing; don't take the write lock for that
        if session.scalars(query.limit(1)).first() is None:
            return []
    with ctx.db.transaction() as session:
        if ctx.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if ids:
            session.execute(update(Job).where(Job.id.in_(ids))
                            .values(locked_by=ctx.worker_id, locked_until=at + leases.JOB_LEASE,
                                    attempts=Job.attempts + 1)
                            .execution_options(synchronize_session=False))
    return ids


def claim_one(ctx: JobContext, job_id: int) -> bool:
    """Claim one job by id. Atomic: of two deliveries only one matches."""
    at = leases.now()
    with ctx.db.transaction() as session:
        return bool(session.execute(
            update(Job).where(Job.id == job_id, *_claimable(at))
            .values(locked_by=ctx.worker_id, locked_until=at + leases.JOB_LEASE, attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount)


def claim_and_run(ctx: JobContext, job_id: int, owner: str) -> Outcome:
    """Claim the job under a name of its own (`owner`, unique per delivery) and run it (a Celery
    delivery). A step job is claimed and run in one transaction: its row stays locked until the
    step commits, so another delivery waits and then finds it gone, and a failing step undoes the
    claim with everything else. The instance row is locked before the job row, the order in which
    every request takes them (a step deletes its instance's timer jobs), so they never deadlock.
    A network job's claim is committed first: its handler runs its own transactions around the
    network call."""
    ctx = replace(ctx, worker_id=owner)
    try:
        with ctx.db.transaction() as session:
            job = session.execute(select(Job.kind, Job.instance_id).where(Job.id == job_id)).first()
            if job is None:
                return Outcome.NOT_CLAIMED
            network = job.kind in NETWORK_HANDLERS
            if not network:
                outcome, due_at = _claim_and_step(ctx, session, job_id, job.instance_id)
    except Exception as err:
        log.warning("job %s failed: %s", job_id, err)
        _record_failure(ctx, job_id, err, count_attempt=True)
        return Outcome.RAN
    if network:
        return run_claimed(ctx, job_id) if claim_one(ctx, job_id) else Outcome.NOT_CLAIMED
    if outcome is Outcome.RAN:
        metrics.job_done(job.kind, due_at)
    return outcome


def _claim_and_step(ctx: JobContext, session, job_id: int, instance_id: str | None) -> tuple[Outcome, datetime | None]:
    free = not instance_id or leases.free_under_row_lock(session, instance_id, ctx.worker_id)
    at = leases.now()
    claimed = session.execute(
        update(Job).where(Job.id == job_id, *_claimable(at))
        .values(locked_by=ctx.worker_id, locked_until=at + leases.JOB_LEASE, attempts=Job.attempts + 1)
        .returning(Job.due_at).execution_options(synchronize_session=False)).first()
    if claimed is None:
        return Outcome.NOT_CLAIMED, None
    job = session.get(Job, job_id)
    if not free:
        _unclaim(job)
        return Outcome.BUSY, None
    run_step_job(session, ctx.store, job)
    return Outcome.RAN, claimed.due_at


def run_claimed(ctx: JobContext, job_id: int) -> Outcome:
    """Run a job that `ctx.worker_id` has claimed; anything it raises is recorded on the job."""
    try:
        with ctx.db.read() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != PENDING or job.locked_by != ctx.worker_id:
                return Outcome.NOT_CLAIMED
            kind, instance_id, due_at = job.kind, job.instance_id, job.due_at
        network = NETWORK_HANDLERS.get(kind)
        outcome = _run_step(ctx, job_id) if network is None else _run_network(ctx, job_id, instance_id, network)
        if outcome is Outcome.RAN:
            metrics.job_done(kind, due_at)
        return outcome
    except Exception as err:
        log.warning("job %s failed: %s", job_id, err)
        _record_failure(ctx, job_id, err)
        return Outcome.RAN


def _run_network(ctx: JobContext, job_id: int, instance_id: str | None, handler) -> Outcome:
    if instance_id is not None:
        taken = leases.acquire_instance(ctx.db, instance_id, ctx.worker_id)
        if taken is False:
            _put_back(ctx, job_id)
            return Outcome.BUSY
        if taken is None:  # the instance is gone: no lease to hold or release
            instance_id = None
    held = leases.Held(ctx.db, ctx.worker_id, job_id, instance_id)
    leases.HEARTBEAT.hold(held)
    job_ctx = replace(ctx, leased_instance=instance_id)
    finished = False
    try:
        handler(job_ctx, job_id)
        finished = True
    finally:
        leases.HEARTBEAT.drop(held)
        # released with the handler's last commit (`JobContext.let_go`), unless it failed or ended early
        if instance_id is not None and not (finished and job_ctx.let_go_called):
            leases.release_instance(ctx.db, instance_id, ctx.worker_id)
    return Outcome.RAN


def _run_step(ctx: JobContext, job_id: int) -> Outcome:
    held = leases.Held(ctx.db, ctx.worker_id, job_id, None)
    leases.HEARTBEAT.hold(held)  # a long step (a big loop, slow scripts) keeps its claim
    try:
        with ctx.db.transaction() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != PENDING or job.locked_by != ctx.worker_id:
                return Outcome.NOT_CLAIMED
            busy = bool(job.instance_id) and not leases.free_under_row_lock(session, job.instance_id,
                                                                             ctx.worker_id)
            if not busy:
                run_step_job(session, ctx.store, job)
    finally:
        leases.HEARTBEAT.drop(held)
    if busy:
        _put_back(ctx, job_id)
        return Outcome.BUSY
    return Outcome.RAN


def _put_back(ctx: JobContext, job_id: int) -> None:
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        if job is not None and job.locked_by == ctx.worker_id:
            _unclaim(job)


def _unclaim(job: Job) -> None:
    """Unclaim without counting an attempt; claimable again after BUSY_RETRY."""
    job.locked_by = None
    job.locked_until = leases.now() + BUSY_RETRY
    job.attempts = max(0, job.attempts - 1)


def _record_failure(ctx: JobContext, job_id: int, err: Exception, count_attempt: bool = False) -> None:
    """Note the error and schedule a retry with backoff (FAILED after MAX_ATTEMPTS). With
    `count_attempt` the claim was rolled back with the failed step, so the attempt is counted here."""
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        if job.locked_by not in (None, ctx.worker_id) and job.locked_until and job.locked_until > leases.now():
            return  # another worker has claimed it since: its run decides
        if count_attempt:
            job.attempts += 1
        job.last_error = f"{type(err).__name__}: {err}"[:2000]
        job.locked_by = None
        job.locked_until = None
        if job.attempts >= MAX_ATTEMPTS:
            job.status = FAILED
            if job.instance_id is not None:
                with session.no_autoflush:  # the instance is locked before the job row is written
                    instances.job_failed(session, ctx.store, job)
        else:
            job.due_at = leases.now() + timedelta(seconds=2 ** job.attempts)

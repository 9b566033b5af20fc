"""Leases: who may work on a job and on an instance right now, for how long.

A job claim (`jobs.locked_by`, `locked_until`) and an instance lease (`process_instances.lease_owner`,
`lease_expires_at`) both expire. A worker renews what it holds from a heartbeat thread every third
of the lease while the job runs, so a slow but live worker keeps its work, and a worker that died
(SIGKILL, a lost machine) frees it within one lease (default 10 s). This is the lesson of
SpiffArena's locks: a lock without expiry is stuck forever after a crash, and a lock freed by age
alone, without renewal, is taken from a worker that is still busy.

The instance lease keeps two job workers from advancing one instance at the same time across
transactions (a network job calls out between its transactions and holds no row lock then). Inside
one transaction the PostgreSQL row lock does that job; a step job only checks, under that row
lock, that no other live worker holds the lease (`free_under_row_lock`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select, update

from ..db import Database
from ..models import Job, ProcessInstance

log = logging.getLogger(__name__)


def _seconds(name: str, default: float) -> timedelta:
    return timedelta(seconds=float(os.environ.get(name, str(default))))


JOB_LEASE = _seconds("PROCESSCAFE_JOB_LEASE_SECONDS", 10)
INSTANCE_LEASE = _seconds("PROCESSCAFE_INSTANCE_LEASE_SECONDS", 10)


def now() -> datetime:
    return datetime.now(timezone.utc)


def _free(at: datetime, owner: str):
    return or_(ProcessInstance.lease_owner.is_(None), ProcessInstance.lease_expires_at < at,
               ProcessInstance.lease_owner == owner)


def acquire_instance(db: Database, instance_id: str, owner: str) -> bool | None:
    """Take the instance's lease when it is free, expired or already ours: True when taken, False
    when another live worker holds it, None when the instance no longer exists (nothing to hold;
    the job handler decides what its absence means)."""
    at = now()
    with db.transaction() as session:
        taken = session.execute(
            update(ProcessInstance).where(ProcessInstance.id == instance_id, _free(at, owner))
            .values(lease_owner=owner, lease_expires_at=at + INSTANCE_LEASE)
            .execution_options(synchronize_session=False)).rowcount
        if taken:
            return True
        exists = session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id))
        return False if exists is not None else None


def release_instance(db: Database, instance_id: str, owner: str) -> None:
    with db.transaction() as session:
        release_in(session, instance_id, owner)


def release_in(session, instance_id: str, owner: str) -> None:
    """Release the lease in the caller's transaction (when `owner` still holds it)."""
    session.execute(update(ProcessInstance)
                    .where(ProcessInstance.id == instance_id, ProcessInstance.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None)
                    .execution_options(synchronize_session=False))


def free_under_row_lock(session, instance_id: str, owner: str) -> bool:
    """In the caller's transaction: lock the instance row and tell whether no other live worker
    holds its lease. The row lock keeps anyone from taking the lease until this transaction ends."""
    query = select(ProcessInstance.lease_owner, ProcessInstance.lease_expires_at).where(
        ProcessInstance.id == instance_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None or row.lease_owner in (None, owner):
        return True
    return row.lease_expires_at is None or row.lease_expires_at < now()


def clear_left_behind(db: Database, older_than: timedelta = timedelta(seconds=60)) -> int:
    """Forget leases that expired a while ago (a worker died after its job's last commit and before
    the release): they bind nobody, but monitoring would count them as stuck forever."""
    with db.transaction() as session:
        return session.execute(
            update(ProcessInstance).where(ProcessInstance.lease_expires_at < now() - older_than)
            .values(lease_owner=None, lease_expires_at=None).execution_options(synchronize_session=False)).rowcount


@dataclass
class Held:
    db: Database
    owner: str
    job_id: int
    instance_id: str | None
    renewed: float = field(default_factory=time.monotonic)
    lost: bool = False


class Heartbeat:
    """One thread per process renewing the leases of the jobs running in it."""

    def __init__(self) -> None:
        self.interval = min(JOB_LEASE, INSTANCE_LEASE).total_seconds() / 3
        self._held: dict[int, Held] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, held: Held) -> None:
        with self._lock:
            self._held[id(held)] = held
            if self._pid != os.getpid() or not (self._thread and self._thread.is_alive()):
                self._pid = os.getpid()  # threads do not survive a fork: each process starts its own
                self._thread = threading.Thread(target=self._loop, name="processcafe-lease-heartbeat",
                                                daemon=True)
                self._thread.start()

    def drop(self, held: Held) -> None:
        with self._lock:
            self._held.pop(id(held), None)

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval / 2)
            with self._lock:
                due = [h for h in self._held.values() if time.monotonic() - h.renewed >= self.interval]
            for held in due:
                try:
                    self.renew(held)
                except Exception:  # the database may be away for a moment; the next beat tries again
                    log.exception("renewing the leases of job %s failed", held.job_id)

    @staticmethod
    def renew(held: Held) -> None:
        at = now()
        with held.db.transaction() as session:
            session.execute(update(Job).where(Job.id == held.job_id, Job.locked_by == held.owner)
                            .values(locked_until=at + JOB_LEASE).execution_options(synchronize_session=False))
            if held.instance_id is not None:
                kept = session.execute(
                    update(ProcessInstance).where(ProcessInstance.id == held.instance_id,
                                                  ProcessInstance.lease_owner == held.owner)
                    .values(lease_expires_at=at + INSTANCE_LEASE)
                    .execution_options(synchronize_session=False)).rowcount
                if not kept and not held.lost:
                    held.lost = True
                    log.warning("job %s lost its lease on instance %s (the worker stalled longer than the "
                                "lease); another worker may take over", held.job_id, held.instance_id)
        held.renewed = time.monotonic()


HEARTBEAT = Heartbeat()

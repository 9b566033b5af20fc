"""The embedded job runner: a thread in the server process that claims and runs due jobs.

A job is claimed by setting a lease (`locked_until`); a runner that dies mid-job leaves the
lease to expire and the job is claimed again. On PostgreSQL claims use SKIP LOCKED, so several
runners can share the table.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select, update

from ..db import Database
from ..models import Job
from ..models.jobs import FAILED, PENDING
from ..services.store import InstanceStore
from ..social.credentials import Vault
from ..social.media_store import MediaStore
from .context import JobContext
from .handlers import NETWORK_HANDLERS, run_step_job

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=float(os.environ.get("PROCESSCAFE_JOB_LEASE_SECONDS", "60")))
MAX_ATTEMPTS = 5


class JobRunner:
    def __init__(self, db: Database, store: InstanceStore, vault: Vault, media: MediaStore,
                 public_url: str = "", poll_interval: float = 0.5, batch: int = 20):
        self.db = db
        self.store = store
        self.poll_interval = poll_interval
        self.batch = batch
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self.context = JobContext(db, store, self.worker_id, vault, media, public_url)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        # after a fork (gunicorn workers) each process must claim jobs under its own name
        self.worker_id = self.context.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="processcafe-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Called after a commit that wrote a job due now, so it runs without waiting a poll."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_due()
            except Exception:  # keep the runner alive whatever a job or the database does
                log.exception("job runner pass failed")
                worked = 0
            if not worked:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    # -- one pass -------------------------------------------------------------------------------

    def run_due(self) -> int:
        ids = self.claim()
        for job_id in ids:
            self.run_one(job_id)
        return len(ids)

    def claim(self) -> list[int]:
        now = datetime.now(timezone.utc)
        query = (
            select(Job.id)
            .where(Job.status == PENDING, Job.due_at <= now,
                   or_(Job.locked_until.is_(None), Job.locked_until < now))
            .order_by(Job.due_at, Job.id)
            .limit(self.batch)
        )
        with self.db.read() as session:  # most polls find nothing; don't take the write lock for that
            if session.scalars(query.limit(1)).first() is None:
                return []
        with self.db.transaction() as session:
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if ids:
                session.execute(
                    update(Job).where(Job.id.in_(ids))
                    .values(locked_by=self.worker_id, locked_until=now + LEASE, attempts=Job.attempts + 1)
                )
        return ids

    def run_one(self, job_id: int) -> None:
        try:
            with self.db.read() as session:
                job = session.get(Job, job_id)
                if job is None or job.status != PENDING or job.locked_by != self.worker_id:
                    return
                kind = job.kind
            network = NETWORK_HANDLERS.get(kind)
            if network is not None:
                network(self.context, job_id)
                return
            with self.db.transaction() as session:
                job = session.get(Job, job_id)
                if job is None or job.status != PENDING or job.locked_by != self.worker_id:
                    return
                run_step_job(session, self.store, job)
        except Exception as err:
            log.warning("job %s failed: %s", job_id, err)
            self._record_failure(job_id, err)

    def _record_failure(self, job_id: int, err: Exception) -> None:
        with self.db.transaction() as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            job.last_error = f"{type(err).__name__}: {err}"[:2000]
            job.locked_by = None
            job.locked_until = None
            if job.attempts >= MAX_ATTEMPTS:
                job.status = FAILED
            else:
                job.due_at = datetime.now(timezone.utc) + timedelta(seconds=2 ** job.attempts)

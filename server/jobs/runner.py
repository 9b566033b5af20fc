"""The embedded job runner: a thread in the server process that claims and runs due jobs.

It polls the jobs table every `poll_interval` (0.5 s, so timers fire within a second of their due
time) and is woken at once after a commit that wrote a job due now. Claiming and running is
`execution`'s, shared with the Celery workers of the scaled-out mode. Several runners (one per
gunicorn worker) share the table: claims are leases, taken with SKIP LOCKED on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from ..db import Database
from ..services.store import InstanceStore
from ..social.credentials import Vault
from ..social.media_store import MediaStore
from . import execution
from .context import JobContext

log = logging.getLogger(__name__)


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
        """Claim a batch of due jobs and run them; the number run (jobs put back count not)."""
        ran = 0
        for job_id in self.claim():
            if self.run_one(job_id) is execution.Outcome.RAN:
                ran += 1
        return ran

    def claim(self) -> list[int]:
        return execution.claim_due(self.context, self.batch)

    def run_one(self, job_id: int) -> execution.Outcome:
        return execution.run_claimed(self.context, job_id)

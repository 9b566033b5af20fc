"""The scaled-out mode's Celery side: the app, the one task, and the worker's start-up.

A message carries only a job id. The task claims that job's row and runs it through
`execution.claim_and_run`, which shares the handlers, leases and failure handling with the
embedded thread runner. Timers are sent at most a few seconds early with an ETA, so a message a
worker holds until its ETA never outlives Redis's visibility timeout. Messages are
acknowledged late (after the job ran) and rejected back to the queue when the worker process
dies (`task_reject_on_worker_lost`), and each worker process takes one message at a time
(prefetch 1), so a killed worker's job goes to another worker; a message delivered twice finds
its job claimed or done and does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime

from celery import Celery, signals

from ..config import Settings
from .broker import transport_options
from .dispatch import Dispatcher, Sweeper
from .execution import claim_and_run

log = logging.getLogger(__name__)

TASK = "processcafe.run_job"


def make_celery(broker_url: str, queue: str) -> Celery:
    app = Celery("processcafe", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker outlives a broker outage of any length
        broker_connection_timeout=3,
        broker_transport_options=transport_options(broker_url),
        # a sender must not hang on a broker that is away: one retry on a fresh connection (the
        # pooled one may predate a broker restart), then the sweeper sends it later
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                   "interval_max": 0.5},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    return app


class CelerySender:
    """Sends job ids; one Celery app per process, made after any fork (broker connections are
    not to be shared between processes)."""

    def __init__(self, broker_url: str, queue: str):
        self.broker_url, self.queue = broker_url, queue
        self._app: Celery | None = None
        self._pid = 0

    def __call__(self, job_id: int, eta: datetime | None) -> None:
        if self._app is None or self._pid != os.getpid():
            self._app, self._pid = make_celery(self.broker_url, self.queue), os.getpid()
        self._app.send_task(TASK, args=[job_id], eta=eta, queue=self.queue)


# -- the worker side ------------------------------------------------------------------------------

_process: dict = {}  # this process's Flask app, made on first use after the fork


def _cafe():
    if _process.get("pid") != os.getpid():
        from ..app import create_app  # the worker builds the same app as the server: one code path

        app = create_app(Settings.from_env(job_runner="celery"))
        _process.update(pid=os.getpid(), cafe=app.extensions["processcafe"])
    return _process["cafe"]


def run_job(task, job_id: int) -> str:
    """Claim and run one job. A job put back because its instance was busy is sent again, with an
    ETA, by the commit that put it back (the dispatcher is installed in this process too)."""
    cafe = _cafe()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return claim_and_run(cafe.runner.context, job_id, owner).value


def worker_app(settings: Settings) -> Celery:
    """The app `processcafe worker` runs: the task plus a sweeper in the main process."""
    app = make_celery(settings.broker_url, settings.celery_queue)
    app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(run_job)
    sweeper: dict = {}

    @signals.worker_ready.connect(weak=False)
    def _start_sweeper(sender=None, **_):
        from ..db import Database

        db = Database(settings.database_url)
        sweeper["db"] = db
        sweeper["thread"] = Sweeper(Dispatcher(db, CelerySender(settings.broker_url, settings.celery_queue)))
        sweeper["thread"].start()
        log.info("job sweeper started (every %.1f s)", sweeper["thread"].interval)

    @signals.worker_process_init.connect(weak=False)
    def _forked(**_):
        if "db" in sweeper:  # a replacement child forked from the main process: not its connections
            sweeper["db"].dispose(close=False)
        _cafe()  # build the app now (about 0.2 s), not in the first job's latency

    @signals.worker_shutdown.connect(weak=False)
    def _stop_sweeper(**_):
        if "thread" in sweeper:
            sweeper["thread"].stop()

    return app

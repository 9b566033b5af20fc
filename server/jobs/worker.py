"""`processcafe worker`: a Celery worker of the scaled-out mode.

It does not migrate the database (several workers starting at once would race each other); it
waits a while for the schema the code expects, which `processcafe serve` or `processcafe db
upgrade` puts in place, and refuses to start without it.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from ..config import Settings
from ..db import Database
from ..migrations import is_current

log = logging.getLogger(__name__)


class WorkerSetupError(RuntimeError):
    pass


def wait_for_schema(settings: Settings, timeout: float) -> None:
    db = Database(settings.database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if is_current(db.engine):
                    return
                problem = "the database schema is not at the newest migration (run 'processcafe db upgrade')"
            except Exception as err:
                problem = f"the database does not answer ({type(err).__name__}); check DATABASE_URL"
            if time.monotonic() >= deadline:
                raise WorkerSetupError(problem)
            time.sleep(1)
    finally:
        db.dispose()


def run_worker(concurrency: int, loglevel: str, metrics_port: int | None, schema_wait: float,
               metrics_host: str = "127.0.0.1") -> None:
    settings = Settings.from_env(job_runner="celery")
    if not settings.broker_url:
        raise WorkerSetupError("set BROKER_URL, e.g. redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//")
    if settings.is_sqlite:
        log.warning("the scaled-out mode wants PostgreSQL (DATABASE_URL); SQLite serializes every writer")
    logging.getLogger().setLevel(loglevel.upper())  # Celery leaves the root logger alone (not hijacked)
    wait_for_schema(settings, schema_wait)
    if metrics_port:
        from prometheus_client import start_http_server

        from .. import metrics

        # before the pool forks: every child counts into this worker's folder
        metrics.use_multiprocess_dir(settings.data_dir / "metrics" / f"worker-{metrics_port}")
        start_http_server(metrics_port, addr=metrics_host, registry=metrics.events_registry())
    from .celery_app import worker_app

    app = worker_app(settings)
    app.worker_main([
        "worker", f"--concurrency={concurrency}", "--pool=prefork", f"--loglevel={loglevel}", "-Q",
        settings.celery_queue,
        "-n", f"processcafe-{os.getpid()}@{socket.gethostname()}", "--without-gossip", "--without-mingle",
    ])

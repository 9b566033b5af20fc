"""Serving the app with gunicorn: several worker processes, each with threads.

The app is built once in the master (migrations and first-start work happen there, once) and
forked into the workers. After the fork each worker drops the database connections it
inherited and, in the embedded mode, starts its own job-runner thread; runners share the jobs
table safely (leases, and SKIP LOCKED on PostgreSQL). In the scaled-out mode
(PROCESSCAFE_JOB_RUNNER=celery) the workers run no jobs: each commit hands its new jobs to the
broker, and `processcafe worker` runs them.

Before each fork the master freezes its objects out of the garbage collector's reach
(`gc.freeze`): the preloaded app is a large, long-lived heap that every full collection in a
worker would otherwise walk again. Measured on the throughput bench: about a fifth of a
worker's CPU per request.
"""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from .context import Cafe


def _cafe(app: Flask) -> Cafe:
    return app.extensions["processcafe"]


class CafeServer(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("pre_fork", _pre_fork)
        self.cfg.set("post_fork", _post_fork)
        self.cfg.set("worker_exit", _worker_exit)

    def load(self) -> Flask:
        return self.application


def _pre_fork(server, worker) -> None:
    gc.freeze()  # what the master holds now (the app) is never collected: workers skip it


def _post_fork(server, worker) -> None:
    cafe = _cafe(worker.app.application)
    cafe.db.dispose()  # connections must not be shared across processes
    if cafe.settings.job_runner == "thread":
        cafe.runner.start()


def _worker_exit(server, worker) -> None:
    _cafe(worker.app.application).runner.stop(timeout=5)


def serve(app: Flask, host: str, port: int, workers: int, threads: int) -> None:
    app.config["PROCESSCAFE_THREADS"] = threads  # live feed streams take at most half (server/api/feed_stream.py)
    CafeServer(app, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 120,
        "graceful_timeout": 20,
        "keepalive": 5,
        "preload_app": True,
        "proc_name": "processcafe",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }).run()

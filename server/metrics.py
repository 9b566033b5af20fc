"""Prometheus metrics at `GET /metrics` (prometheus_client, text format).

Two kinds, counted where they are correct:
- events (HTTP requests with their latency, jobs done with their latency from due time to done)
  are counted in the process where they happen. gunicorn runs several processes and a scrape
  reaches only one of them, so `processcafe serve` switches prometheus_client to its multiprocess
  mode (one file per process in `PROMETHEUS_MULTIPROC_DIR`, a folder under the data folder that is
  emptied at start) and a scrape adds up every process's files;
- state (instances by status, open tasks, the job backlog, social posts by channel and status,
  stuck leases) is the database's, the same for every process and every machine, so it is read
  from the database at scrape time rather than kept in counters that could drift.
Celery workers count their jobs in their own folder and serve them with `--metrics-port`.
Nothing here names a user, an instance or a credential: labels are methods, route patterns,
status codes, job kinds, instance statuses and channel names.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from .models import Job, OpenTask, ProcessInstance, SocialPost
from .models.jobs import FAILED, PENDING

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

HTTP_REQUESTS = Counter("processcafe_http_requests", "HTTP requests answered",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("processcafe_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
JOB_LATENCY = Histogram("processcafe_job_latency_seconds", "Time from a job's due time until it was done",
                        ["kind"], buckets=LATENCY_BUCKETS)


def use_multiprocess_dir(path: Path) -> None:
    """Count in files under `path` (emptied first: files of dead processes would add up forever).
    Call before any process counts anything; forked children inherit it."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    values.ValueClass = values.get_value_class()  # metric children made from now on write files


def job_done(kind: str, due_at: datetime | None) -> None:
    if due_at is not None:
        JOB_LATENCY.labels(kind).observe(max(0.0, (datetime.now(timezone.utc) - due_at).total_seconds()))


def events_registry() -> CollectorRegistry:
    """What this process (or, in multiprocess mode, every process of this server) counted."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class DatabaseCollector:
    """Gauges read from the database at scrape time."""

    def __init__(self, db):
        self.db = db

    def collect(self):
        now = datetime.now(timezone.utc)
        with self.db.read() as session:
            instances = session.execute(select(ProcessInstance.status, func.count())
                                        .group_by(ProcessInstance.status)).all()
            open_tasks = session.scalar(select(func.count()).select_from(OpenTask))
            by_kind = select(Job.kind, func.count(), func.min(Job.due_at)).group_by(Job.kind)
            due = session.execute(by_kind.where(Job.status == PENDING, Job.due_at <= now)).all()
            later = session.execute(by_kind.where(Job.status == PENDING, Job.due_at > now)).all()
            failed = session.execute(by_kind.where(Job.status == FAILED)).all()
            posts = session.execute(select(SocialPost.channel, SocialPost.status, func.count())
                                    .group_by(SocialPost.channel, SocialPost.status)).all()
            stuck = session.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.lease_owner.is_not(None), ProcessInstance.lease_expires_at < now))
        yield _gauge("processcafe_instances", "Process instances by status", ["status"],
                     [((status,), n) for status, n in instances])
        yield _gauge("processcafe_open_tasks", "Open user tasks", [], [((), open_tasks or 0)])
        yield _gauge("processcafe_jobs_backlog", "Pending jobs that are due now, by kind", ["kind"],
                     [((kind,), n) for kind, n, _ in due])
        yield _gauge("processcafe_jobs_scheduled", "Pending jobs due later (timers), by kind", ["kind"],
                     [((kind,), n) for kind, n, _ in later])
        yield _gauge("processcafe_jobs_failed", "Jobs that failed for good, by kind", ["kind"],
                     [((kind,), n) for kind, n, _ in failed])
        oldest = [_aware(first) for _, _, first in due if first is not None]
        yield _gauge("processcafe_jobs_oldest_due_seconds", "Age of the oldest due pending job", [],
                     [((), max(((now - t).total_seconds() for t in oldest), default=0.0))])
        yield _gauge("processcafe_social_posts", "Social posts by channel and status (sent, failed, ...)",
                     ["channel", "status"], [((channel, status), n) for channel, status, n in posts])
        yield _gauge("processcafe_instance_leases_expired", "Instance leases left by a worker that stopped",
                     [], [((), stuck or 0)])


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _gauge(name: str, documentation: str, labels: list[str], samples) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in samples:
        family.add_metric(list(label_values), value)
    return family


def render(db) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Proxy(events_registry()))
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)


class _Proxy:
    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def instrument(app: Flask) -> None:
    """Count every request by method, route pattern (never the raw path) and status."""

    @app.before_request
    def _start_timer() -> None:
        g.processcafe_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("processcafe_started", None)
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics_page():
        return Response(render(app.extensions["processcafe"].db), mimetype=CONTENT_TYPE_LATEST)

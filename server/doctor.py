"""`processcafe doctor`: is this installation able to run processes, and if not, why?

Each check says in plain words what it found and, for a problem, what to do. The command exits
non-zero when any check found a problem, so it also serves scripts and monitoring. It prints no
URL or credential: a broker or database address can carry a password.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from .config import Settings
from .db import Database
from .health import broker_check
from .migrations import is_current
from .models import Channel, Job, ProcessInstance
from .models.jobs import FAILED, PENDING
from .social.credentials import KEY_FILE, CredentialsUnreadable, Vault

OVERDUE = timedelta(seconds=60)  # a job due longer ago than this is not being run


@dataclass
class Finding:
    ok: bool
    text: str

    def __str__(self) -> str:
        return ("ok       " if self.ok else "PROBLEM  ") + self.text


def check(settings: Settings, ping_timeout: float = 2.0) -> list[Finding]:
    findings: list[Finding] = []
    db = Database(settings.database_url)
    try:
        findings += list(_database(db))
        if findings[-1].ok:
            findings += list(_backlog(db))
            findings += list(_credentials(db, settings))
    finally:
        db.dispose()
    if settings.broker_url:
        state = broker_check(settings.broker_url)
        findings.append(Finding(True, "the broker answers") if state == "ok" else Finding(
            False, "the broker (BROKER_URL) does not answer: start Redis or RabbitMQ, or correct BROKER_URL"))
        if state == "ok" and settings.job_runner == "celery":
            findings.append(_workers(settings.broker_url, settings.celery_queue, ping_timeout))
    elif settings.job_runner == "celery":
        findings.append(Finding(False, "PROCESSCAFE_JOB_RUNNER is celery but BROKER_URL is not set"))
    else:
        findings.append(Finding(True, f"jobs run in the server process (PROCESSCAFE_JOB_RUNNER={settings.job_runner})"))
    return findings


def _database(db: Database) -> Iterator[Finding]:
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as err:
        yield Finding(False, f"the database does not answer ({type(err).__name__}): start it, or correct "
                             "DATABASE_URL")
        return
    kind = "PostgreSQL" if db.is_postgres else db.engine.dialect.name
    yield Finding(True, f"the database answers ({kind})")
    yield _schema(db.engine)


def _schema(engine: Engine) -> Finding:
    if is_current(engine):
        return Finding(True, "the schema is at the newest migration")
    return Finding(False, "the schema is not at the newest migration: run 'processcafe db upgrade'")


def _backlog(db: Database) -> Iterator[Finding]:
    now = datetime.now(timezone.utc)
    unclaimed = (Job.locked_until.is_(None)) | (Job.locked_until < now)
    with db.read() as session:
        overdue = session.execute(select(Job.kind, func.count(), func.min(Job.due_at))
                                  .where(Job.status == PENDING, Job.due_at < now - OVERDUE, unclaimed)
                                  .group_by(Job.kind)).all()
        failed = session.execute(select(Job.kind, func.count()).where(Job.status == FAILED)
                                 .group_by(Job.kind)).all()
        abandoned = session.scalar(select(func.count()).select_from(Job).where(
            Job.status == PENDING, Job.locked_by.is_not(None), Job.locked_until < now))
        stuck = session.execute(select(ProcessInstance.lease_owner, func.count())
                                .where(ProcessInstance.lease_owner.is_not(None),
                                       ProcessInstance.lease_expires_at < now)
                                .group_by(ProcessInstance.lease_owner)).all()
    if overdue:
        oldest = min(first for _, _, first in overdue)
        kinds = ", ".join(f"{n} {kind}" for kind, n, _ in overdue)
        yield Finding(False, f"jobs are overdue and nobody runs them ({kinds}; the oldest was due "
                             f"{(now - oldest).total_seconds():.0f} s ago): is a job runner or worker running?")
    else:
        yield Finding(True, "no job is overdue")
    if failed:
        kinds = ", ".join(f"{n} {kind}" for kind, n in failed)
        yield Finding(False, f"jobs failed for good ({kinds}): see jobs.last_error; the instances "
                             "involved need an admin")
    else:
        yield Finding(True, "no job has failed for good")
    if abandoned:
        yield Finding(False, f"{abandoned} job(s) were claimed by a worker that stopped renewing its claim; "
                             "they run again once a worker sweeps them up (is one running?)")
    if stuck:
        owners = ", ".join(f"{owner} ({n})" for owner, n in stuck)
        yield Finding(False, f"instance leases expired without being released (held by {owners}): those "
                             "workers died mid-job; the next job on each instance takes the lease over")
    else:
        yield Finding(True, "no instance lease is left behind")


def _credentials(db: Database, settings: Settings) -> Iterator[Finding]:
    """Every machine needs the same credentials key; a worker with another one cannot post."""
    with db.read() as session:
        sealed = session.scalars(select(Channel).where(Channel.credentials.is_not(None))).all()
    if not sealed:
        return
    if not os.environ.get("PROCESSCAFE_CREDENTIALS_KEY") and not (Path(settings.data_dir) / KEY_FILE).exists():
        yield Finding(False, "channels have credentials but this machine has no credentials key: set "
                             "PROCESSCAFE_CREDENTIALS_KEY to the key the server uses")
        return
    vault = Vault.from_environment(Path(settings.data_dir))
    unreadable = []
    for channel in sealed:
        try:
            vault.open(channel.credentials)
        except CredentialsUnreadable:
            unreadable.append(channel.name)
    if unreadable:
        yield Finding(False, f"the credentials of channel(s) {', '.join(unreadable)} cannot be decrypted with "
                             "this machine's key: set PROCESSCAFE_CREDENTIALS_KEY to the key the server uses")
    else:
        yield Finding(True, f"the credentials of {len(sealed)} channel(s) can be decrypted here")


def _workers(broker_url: str, queue: str, timeout: float) -> Finding:
    """Workers that answer and consume this installation's queue (a broker may serve others too)."""
    from .jobs.celery_app import make_celery

    app = make_celery(broker_url, queue)
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as err:
        return Finding(False, f"could not ask the Celery workers ({type(err).__name__})")
    finally:
        app.close()
    names = sorted(name for name, queues in replies.items() if any(q.get("name") == queue for q in queues or []))
    if not names:
        return Finding(False, f"no Celery worker takes jobs from the queue {queue!r}: start one with "
                              "'processcafe worker' (same DATABASE_URL, BROKER_URL and PROCESSCAFE_CELERY_QUEUE)")
    return Finding(True, f"{len(names)} Celery worker(s) take jobs: {', '.join(names)}")

"""The application's shared objects, reachable from request handlers through `current_app`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from .config import Settings
from .db import Database
from .jobs.runner import JobRunner
from .services.store import InstanceStore
from .social.credentials import Vault
from .social.media_store import MediaStore


@dataclass
class Cafe:
    settings: Settings
    db: Database
    store: InstanceStore
    runner: JobRunner
    vault: Vault
    media: MediaStore

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction per request; the job runner is woken after it commits a job due now.
        (In the scaled-out mode the database's after-commit hook hands such jobs to Celery instead,
        for every transaction: server/jobs/dispatch.py.)"""
        with self.db.transaction() as session:
            yield session
            wake = session.info.get("wake_jobs", False)
        if wake:
            self.runner.wake()


def cafe() -> Cafe:
    return current_app.extensions["processcafe"]

"""The application's shared objects, reachable from request handlers through `current_app`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from flask import current_app
from sqlalchemy.orm import Session

from .config import Settings
from .db import Database, GroupRolledBack
from .jobs.runner import JobRunner
from .services.errors import Stale
from .services.store import PLAN_HOLDS, InstanceStore
from .social.credentials import Vault
from .social.media_store import MediaStore

Planned = TypeVar("Planned")
Result = TypeVar("Result")


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

    def optimistic(self, plan: Callable[[Session], Planned], write: Callable[[Session, Planned], Result],
                   attempts: int = 4) -> Result:
        """Plan from a read (engine work included), then write in a short transaction that checks
        nothing changed in between (`Stale`), planning again if it did. Writers wait for each
        other only while they write, not while the engine runs; on SQLite, where one writer holds
        the database at a time, that lets several requests run the engine at once, and writes that
        meet at the lock share one commit (`Database.write_together`). The last attempt plans
        inside the write transaction with `PLAN_HOLDS` set in the session's info: the plan then
        locks the instance it reads and takes the latest version from the database, not from a
        guess, so that write cannot be `Stale` and a busy instance cannot starve a request."""
        for _ in range(attempts - 1):
            with self.db.read() as session:
                planned = plan(session)
            try:
                result, wake = self.db.write_together(partial(self._write_and_wake, write=write, planned=planned))
            except (Stale, GroupRolledBack):
                continue
            if wake:
                self.runner.wake()
            return result
        with self.unit_of_work() as session:
            session.info[PLAN_HOLDS] = True  # what the plan reads, it holds until the write commits
            return write(session, plan(session))

    @staticmethod
    def _write_and_wake(session: Session, *, write: Callable[[Session, Planned], Result],
                        planned: Planned) -> tuple[Result, bool]:
        """`write`, and whether it left a job due now (its own flag: the session may be shared)."""
        session.info.pop("wake_jobs", None)
        result = write(session, planned)
        return result, session.info.pop("wake_jobs", False)


def cafe() -> Cafe:
    return current_app.extensions["processcafe"]

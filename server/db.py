"""Database engine and sessions.

SQLite allows one writer at a time. Write transactions start with BEGIN IMMEDIATE (so two writers
never deadlock upgrading a read lock) and are serialized by a lock shared by every thread and
every server process (a thread lock plus `flock` on a file next to the database), so a waiting
writer wakes the moment the previous one commits instead of sleeping in SQLite's busy handler.
Reads use plain deferred transactions and run alongside writers (WAL). Writes that threads of one
process submit while another writes are committed together (`Database.write_together`). On
PostgreSQL both are ordinary transactions; instances are locked with SELECT ... FOR UPDATE.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")
Result = TypeVar("Result")


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    synchronous = os.environ.get("PROCESSCAFE_SQLITE_SYNCHRONOUS", "FULL").upper()
    if synchronous not in SQLITE_SYNCHRONOUS:
        synchronous = "FULL"

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def dialect_insert(session: Session, target):
    """An INSERT for the session's database, so callers can add ON CONFLICT DO NOTHING (SQLite and
    PostgreSQL spell it the same way; SQLAlchemy's generic insert has no such clause)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(target)


class WriterLock:
    """One SQLite writer at a time across threads and processes (forked server workers included)."""

    def __init__(self, database_path: str):
        self.path = database_path + "-writer.lock"
        self.thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def _file(self) -> int:
        if self._pid != os.getpid():  # a forked worker needs its own open file for flock
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def across_processes(self) -> Iterator[None]:
        """The file lock alone, for a thread that holds `thread_lock`."""
        fcntl.flock(self._file(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._file(), fcntl.LOCK_UN)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Both locks: this thread's process, then the other processes."""
        with self.thread_lock, self.across_processes():
            yield


class GroupRolledBack(Exception):
    """Another write of the same group failed after it had written: the group's transaction was
    rolled back, and this write with it. Nothing of it is stored; plan it again."""


@dataclass
class _Write:
    """One thread's work in a group commit, and what became of it."""

    work: Callable[[Session], Any]
    result: Any = None
    error: BaseException | None = None
    done: bool = False


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, immediate=True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """Owns the engines and hands out transactional sessions."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.read_engine = _sqlite_engine(url, immediate=False) if self.is_sqlite else self.engine
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        path = self.engine.url.database
        self._writer = WriterLock(path) if self.is_sqlite and path and path != ":memory:" else None
        # called with the session after each commit (the scaled-out mode hands new jobs to Celery there)
        self.after_commit: list[Callable[[Session], None]] = []
        self._waiting_writes: list[_Write] = []
        self._waiting_lock = threading.Lock()

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work that may write: commit on success, roll back on any error."""
        with self._writer.held() if self._writer else nullcontext():
            session = self.sessions()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        for hook in self.after_commit:
            hook(session)

    def write_together(self, work: Callable[[Session], Result]) -> Result:
        """`work(session)` in a write transaction, committed together with the writes that other
        threads of this process submit meanwhile (group commit).

        On SQLite one writer holds the whole database and each commit waits for the disk: a
        thread that finds the writer lock taken queues its work, and whoever takes the lock next
        runs the whole queue in one transaction with one fsync. A work that raises before it has
        written anything (a refused check: `Stale`, a conflict) fails alone, its error raised in
        its own thread. One that raises after writing takes the group's transaction with it: the
        others raise `GroupRolledBack` and are planned again by their callers. Savepoints would
        spare them that, at a cost paid by every write (two more statements each).

        On PostgreSQL, or with after-commit hooks (the scaled-out mode), this is an ordinary
        `transaction`. `work` may run in another thread, and must not read `session.info` flags
        that an earlier write of the group may have set.
        """
        if self._writer is None or self.after_commit:
            with self.transaction() as session:
                return work(session)
        entry = _Write(work)
        with self._waiting_lock:
            self._waiting_writes.append(entry)
        with self._writer.thread_lock:
            if not entry.done:  # else an earlier holder of the lock wrote it
                with self._waiting_lock:
                    group, self._waiting_writes = self._waiting_writes, []
                with self._writer.across_processes():
                    self._commit_group(group)
        if entry.error is not None:
            raise entry.error
        return entry.result

    def _commit_group(self, group: list[_Write]) -> None:
        session = self.sessions()
        try:
            connection = session.connection().connection.driver_connection  # the transaction begins
            for entry in group:
                written = connection.total_changes  # rows inserted, updated or deleted so far
                try:
                    entry.result = entry.work(session)
                    if session.new or session.dirty or session.deleted:
                        session.flush()
                except Exception as err:
                    entry.error = err
                    if (connection.total_changes != written or session.new or session.dirty or session.deleted
                            or isinstance(err, DBAPIError)):
                        raise
            session.commit()
        except BaseException as err:
            session.rollback()
            for entry in group:
                if entry.error is None:
                    entry.error = GroupRolledBack(f"a write committed with this one failed: {err!r}")
            if not isinstance(err, Exception):
                raise
        finally:
            session.close()
            for entry in group:
                entry.done = True

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work; on SQLite it does not wait for writers."""
        session = self.read_sessions()
        try:
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable

    def dispose(self, close: bool = True) -> None:
        """Drop pooled connections; a forked child passes close=False so that it forgets the
        parent's connections without closing them under the parent."""
        self.engine.dispose(close=close)
        if self.read_engine is not self.engine:
            self.read_engine.dispose(close=close)

"""Database engine and sessions.

SQLite allows one writer at a time. Write transactions start with BEGIN IMMEDIATE (so two writers
never deadlock upgrading a read lock) and are serialized by a lock shared by every thread and
every server process (a thread lock plus `flock` on a file next to the database), so a waiting
writer wakes the moment the previous one commits instead of sleeping in SQLite's busy handler.
Reads use plain deferred transactions and run alongside writers (WAL). On PostgreSQL both are
ordinary transactions; instances are locked with SELECT ... FOR UPDATE.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")


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


class WriterLock:
    """One SQLite writer at a time across threads and processes (forked server workers included)."""

    def __init__(self, database_path: str):
        self.path = database_path + "-writer.lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def _file(self) -> int:
        if self._pid != os.getpid():  # a forked worker needs its own open file for flock
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self) -> WriterLock:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


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

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work that may write: commit on success, roll back on any error."""
        with self._writer or nullcontext():
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

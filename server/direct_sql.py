"""Sending the hot paths' Core statements to SQLite's driver directly.

On SQLite every write holds the one writer lock of the whole database, and the statements of a
write run while other threads of the process compete for the interpreter. Through a Session a
small INSERT costs about four times what the driver itself needs (measured: 33 µs against 8 µs
on the throughput bench's machine), and that difference is paid inside the lock, by every
server process waiting for it. So the statements the hot paths send (a start, a completion) are
compiled once per set of parameter names, their parameters converted by the columns' own types
(SQLAlchemy's bind processors: dates, JSON), and executed on the session's DBAPI connection, in
the transaction the session began. Elsewhere (PostgreSQL, statements this module does not
handle) they go through the session as usual; the results are the same.

Only statements whose every parameter the caller supplies qualify: a column default computed in
Python (an INSERT that leaves out `created_at`, say) or an expanding IN list goes the usual way.
A driver error is raised as SQLAlchemy raises it (`sqlalchemy.exc.IntegrityError`, ...), so
callers catch the same exceptions either way.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert

Params = dict[str, Any] | Sequence[dict[str, Any]]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # (parameter name, its type's conversion or None) in the order of the statement's placeholders
    parameters: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    def values(self, row: dict[str, Any]) -> tuple:
        return tuple(row[name] if process is None else process(row[name]) for name, process in self.parameters)


# meant for statements built once (module constants); one built per call would only fill the cache
_CACHE_LIMIT = 256
_cache: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Compiled | None]] = {}
_cache_lock = threading.Lock()


def _compile(statement: Executable, keys: tuple[str, ...], dialect) -> _Compiled | None:
    """The statement for these parameter names, or None when this module must not send it."""
    column_keys = list(keys) if isinstance(statement, Insert) else None
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    names = tuple(compiled.positiontup or ())
    if not set(names) <= set(keys) or any(bind.expanding for bind in compiled.binds.values()):
        return None
    return _Compiled(compiled.string, tuple(
        (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names))


def _compiled_for(statement: Executable, keys: tuple[str, ...], dialect) -> _Compiled | None:
    key = (id(statement), keys)
    hit = _cache.get(key)
    if hit is not None and hit[0] is statement:
        return hit[1]
    compiled = _compile(statement, keys, dialect)
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = (statement, compiled)  # the statement is held, so its id is never reused
    return compiled


def _as_sqlalchemy_error(err: sqlite3.Error, compiled: _Compiled, values: list[tuple], session: Session) -> DBAPIError:
    """The driver's error wrapped as SQLAlchemy wraps it (`IntegrityError` for a constraint, ...)."""
    return DBAPIError.instance(compiled.sql, values if len(values) > 1 else values[0], err, sqlite3.Error,
                               dialect=session.get_bind().dialect, ismulti=len(values) > 1)


def _direct(session: Session, statement: Executable, rows: Sequence[dict[str, Any]]):
    """(compiled statement, DBAPI connection) when the statement can go directly, else None."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or not rows:
        return None
    compiled = _compiled_for(statement, tuple(rows[0]), bind.dialect)
    if compiled is None:
        return None
    return compiled, session.connection().connection.driver_connection


def execute(session: Session, statement: Executable, params: Params) -> int:
    """Execute an INSERT, UPDATE or DELETE with one parameter dict or a list of them (every dict
    with the same keys). Returns the driver's row count: the rows an UPDATE or DELETE changed
    (an INSERT's count is -1 on PostgreSQL)."""
    rows = [params] if isinstance(params, dict) else list(params)
    direct = _direct(session, statement, rows)
    if direct is None:
        return session.execute(statement, params).rowcount
    compiled, connection = direct
    values = [compiled.values(row) for row in rows]
    cursor = connection.cursor()
    try:
        if len(values) == 1:
            cursor.execute(compiled.sql, values[0])
        else:
            cursor.executemany(compiled.sql, values)
        return cursor.rowcount
    except sqlite3.Error as err:
        raise _as_sqlalchemy_error(err, compiled, values, session) from err
    finally:
        cursor.close()


def scalar(session: Session, statement: Executable, params: dict[str, Any]) -> Any:
    """The first column of the first row a SELECT returns, or None. Values come back as the
    driver gives them: for text and numbers the same as through the session."""
    direct = _direct(session, statement, [params])
    if direct is None:
        return session.execute(statement, params).scalar()
    compiled, connection = direct
    values = compiled.values(params)
    try:
        row = connection.execute(compiled.sql, values).fetchone()
    except sqlite3.Error as err:
        raise _as_sqlalchemy_error(err, compiled, [values], session) from err
    return None if row is None else row[0]

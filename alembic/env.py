"""Alembic environment: the database URL comes from the caller or from DATABASE_URL."""

from __future__ import annotations

from contextlib import nullcontext

from sqlalchemy import text

from alembic import context
from server.config import Settings
from server.db import WriterLock, make_engine
from server.models import Base

config = context.config
target_metadata = Base.metadata
# Servers starting together on a new database would each run the migrations at once and fail on
# tables another created. On PostgreSQL this advisory lock makes the later ones wait, then find the
# schema current. On SQLite Alembic commits after each migration (no transactional DDL there), so
# the database's own write lock does not cover the whole upgrade: the server's writer lock (a file
# lock next to the database, server.db.WriterLock) is held for all of it instead.
MIGRATION_LOCK = 0x70636166  # "pcaf"


def _url() -> str:
    return config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    try:
        with WriterLock(path).held() if path and path != ":memory:" else nullcontext(), engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

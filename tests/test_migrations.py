"""The Alembic migrations and the SQLAlchemy models describe the same schema."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import make_engine
from server.migrations import is_current
from server.models import Base


def test_models_match_migrations(database_url):
    engine = make_engine(database_url)
    try:
        assert is_current(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], "models and migrations drifted; add a migration:\n" + "\n".join(
            map(str, differences))
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table(database_url):
    engine = make_engine(database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
    finally:
        engine.dispose()

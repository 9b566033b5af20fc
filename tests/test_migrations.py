"""The Alembic migrations and the SQLAlchemy models describe the same schema."""

import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alembic import command
from server.db import make_engine
from server.migrations import alembic_config, is_current, upgrade
from server.models import Base
from tests.conftest import PG_ADMIN_URL, _backend


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


@pytest.fixture
def empty_database_url(tmp_path):
    """A database without tables, for migrating step by step (PostgreSQL: one of its own)."""
    if _backend() != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    name = f"pc_migrate_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _one_definition(conn, tables) -> None:
    """A deployment with one definition (`p:1:dep`, key `p`) for instances to belong to."""
    conn.execute(tables["deployments"].insert(), [{"id": "dep", "name": "dep"}])
    conn.execute(tables["process_definitions"].insert(), [
        {"id": "p:1:dep", "key": "p", "version": 1, "dialect": "camunda", "deployment_id": "dep",
         "resource_name": "p.bpmn", "content_hash": "h", "specs_json": "{}"}])


def _one_waiting_instance(conn, tables) -> None:
    """Instance `i1` of that definition, waiting."""
    _one_definition(conn, tables)
    conn.execute(tables["process_instances"].insert(), [
        {"id": "i1", "definition_id": "p:1:dep", "definition_key": "p", "status": "waiting"}])


def test_0006_fills_instance_participants_from_existing_rows(empty_database_url):
    """Starters, assignees and candidates of open tasks and users of the history become
    participants, once each, with the instance's status, key and start time."""
    upgrade(empty_database_url, "0005")
    tables = Base.metadata.tables
    started = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            _one_definition(conn, tables)
            conn.execute(tables["process_instances"].insert(), [
                {"id": iid, "definition_id": "p:1:dep", "definition_key": "p", "status": status,
                 "started_by": starter, "started_at": started}
                for iid, status, starter in (("i1", "waiting", "ann"), ("i2", "completed", None))])
            conn.execute(tables["open_tasks"].insert(), [
                {"id": "t1", "instance_id": "i1", "definition_id": "p:1:dep", "definition_key": "p",
                 "bpmn_id": "task", "type": "UserTask", "assignee": "bob"}])
            conn.execute(tables["task_candidates"].insert(), [
                {"task_id": "t1", "kind": kind, "name": name, "instance_id": "i1"}
                for kind, name in (("group", "team"), ("user", "cat"), ("user", "ann"))])
            conn.execute(tables["history_events"].insert(), [
                {"instance_id": iid, "kind": kind, "user": user}
                for iid, kind, user in (("i1", "started", "ann"), ("i1", "task_claimed", "bob"),
                                        ("i2", "started", None), ("i2", "task_completed", "dan"),
                                        ("gone", "started", "eve"))])  # an instance deleted since
        upgrade(empty_database_url, "head")
        participants = tables["instance_participants"]
        with engine.connect() as conn:
            rows = conn.execute(sa.select(participants)).all()
    finally:
        engine.dispose()
    assert sorted((r.instance_id, r.party_kind, r.party_name, r.status) for r in rows) == [
        ("i1", "group", "team", "waiting"), ("i1", "user", "ann", "waiting"), ("i1", "user", "bob", "waiting"),
        ("i1", "user", "cat", "waiting"), ("i2", "user", "dan", "completed")]
    assert {(r.definition_key, r.started_at) for r in rows} == {("p", started)}


def test_0007_copies_creation_time_and_key_of_tasks_to_their_candidates(empty_database_url):
    """The candidate rows of open tasks get their task's `created_at` and `definition_key`, which
    order and filter a queue (services/task_search.py)."""
    upgrade(empty_database_url, "0006")
    tables = Base.metadata.tables
    first = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    second = datetime(2026, 1, 2, 3, 4, 6, tzinfo=timezone.utc)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(tables["deployments"].insert(), [{"id": "dep", "name": "dep"}])
            conn.execute(tables["process_definitions"].insert(), [
                {"id": f"{key}:1:dep", "key": key, "version": 1, "dialect": "camunda", "deployment_id": "dep",
                 "resource_name": f"{key}.bpmn", "content_hash": key, "specs_json": "{}"} for key in ("p", "q")])
            conn.execute(tables["process_instances"].insert(), [
                {"id": f"i{key}", "definition_id": f"{key}:1:dep", "definition_key": key, "status": "waiting"}
                for key in ("p", "q")])
            conn.execute(tables["open_tasks"].insert(), [
                {"id": tid, "instance_id": f"i{key}", "definition_id": f"{key}:1:dep", "definition_key": key,
                 "bpmn_id": "task", "type": "UserTask", "created_at": at}
                for tid, key, at in (("t1", "p", first), ("t2", "q", second))])
            conn.execute(sa.text("INSERT INTO task_candidates (task_id, kind, name, instance_id) VALUES "
                                 "('t1', 'group', 'team', 'ip'), ('t1', 'user', 'ann', 'ip'), "
                                 "('t2', 'group', 'team', 'iq')"))
        upgrade(empty_database_url, "head")
        with engine.connect() as conn:
            rows = conn.execute(sa.select(tables["task_candidates"])).all()
    finally:
        engine.dispose()
    assert sorted((r.task_id, r.kind, r.name, r.definition_key, r.created_at) for r in rows) == [
        ("t1", "group", "team", "p", first), ("t1", "user", "ann", "p", first), ("t2", "group", "team", "q", second)]


def test_0009_makes_the_instance_and_uploader_of_each_image_its_first_links(empty_database_url):
    """`media.instance_id` and `media.uploaded_by` become a row in `media_instances` and in
    `media_uploaders` (an instance deleted since gets none); a downgrade puts the earliest links
    back into the columns."""
    upgrade(empty_database_url, "0008")
    tables = Base.metadata.tables
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            _one_waiting_instance(conn, tables)
            conn.execute(sa.text(
                "INSERT INTO media (id, content_type, width, height, size, thumbnail_type, instance_id, uploaded_by, "
                "created_at) VALUES (:id, 'image/png', 1, 1, 1, 'image/webp', :instance, :user, :at)"), [
                {"id": "attached", "instance": "i1", "user": "dan", "at": at},
                {"id": "uploaded", "instance": None, "user": "eve", "at": at},
                {"id": "inbound", "instance": None, "user": None, "at": at},
                {"id": "orphan", "instance": "gone", "user": "ann", "at": at}])
        upgrade(empty_database_url, "head")
        with engine.connect() as conn:
            attached = conn.execute(sa.select(tables["media_instances"])).all()
            uploaders = conn.execute(sa.select(tables["media_uploaders"])).all()
            assert "instance_id" not in {c["name"] for c in sa.inspect(conn).get_columns("media")}
        assert [(r.instance_id, r.media_id, r.attached_by, r.created_at) for r in attached] == [
            ("i1", "attached", "dan", at)]
        assert sorted((r.media_id, r.username, r.created_at) for r in uploaders) == [
            ("attached", "dan", at), ("orphan", "ann", at), ("uploaded", "eve", at)]

        command.downgrade(alembic_config(empty_database_url), "0008")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, instance_id, uploaded_by FROM media ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("attached", "i1", "dan"), ("inbound", None, None),
                                            ("orphan", None, "ann"), ("uploaded", None, "eve")]
    finally:
        engine.dispose()


def test_upgrades_started_together_on_an_empty_database_all_succeed(empty_database_url):
    """Servers started together (several replicas, `processcafe serve` migrating on start) must not
    fail on tables another one is creating. On PostgreSQL an advisory lock queues them; before it,
    two of three failed with a duplicate key in pg_type."""
    cli = Path(sys.executable).parent / "processcafe"
    env = {**os.environ, "DATABASE_URL": empty_database_url}
    runs = [subprocess.Popen([str(cli), "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0].decode(errors="replace") for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], "\n".join(outputs)
    assert sum(output.count("Running upgrade  -> 0001") for output in outputs) == 1
    engine = make_engine(empty_database_url)
    try:
        assert is_current(engine)
    finally:
        engine.dispose()


def test_0010_closes_open_reviews_whose_step_has_ended(empty_database_url):
    """A review still `open` whose call failed, was cancelled or is gone becomes `cancelled`; one
    whose call is pending stays open, a decided one stays decided."""
    upgrade(empty_database_url, "0009")
    tables = Base.metadata.tables
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            _one_waiting_instance(conn, tables)
            conn.execute(tables["service_calls"].insert(), [
                {"id": call, "instance_id": "i1", "task_id": call, "bpmn_id": "review",
                 "operator": "social.collectReview", "params": {}, "request": {}, "status": status}
                for call, status in (("c-pending", "pending"), ("c-failed", "failed"), ("c-cancelled", "cancelled"),
                                     ("c-done", "completed"))])
            conn.execute(tables["reviews"].insert(), [
                {"id": review, "instance_id": "i1", "call_id": call, "bpmn_id": "review", "message": "m",
                 "rule": "first", "quorum": 1, "status": status}
                for review, call, status in (("r-pending", "c-pending", "open"), ("r-failed", "c-failed", "open"),
                                             ("r-cancelled", "c-cancelled", "open"), ("r-gone", "c-none", "open"),
                                             ("r-decided", "c-done", "decided"))])
        upgrade(empty_database_url, "head")
        with engine.connect() as conn:
            statuses = dict(conn.execute(sa.select(tables["reviews"].c.id, tables["reviews"].c.status)).all())
    finally:
        engine.dispose()
    assert statuses == {"r-pending": "open", "r-failed": "cancelled", "r-cancelled": "cancelled",
                        "r-gone": "cancelled", "r-decided": "decided"}

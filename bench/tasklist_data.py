"""Bulk data for bench/tasklist.py: a million instances and a hundred thousand open tasks in
PostgreSQL, written by INSERT ... SELECT over generate_series (no rows cross the network, so
loading takes a minute or two on 2 cores instead of the hours row-by-row inserts would).

Distributions (skewed, as real work is; `random()` is seeded, so every run loads the same data):

- 20 definition keys `proc_00`..`proc_19`, key k drawn as floor(20 * r^2): proc_00 holds ~22%
  of the instances, proc_19 ~1%;
- statuses: 70% completed, 2% terminated, 2% error, 0.5% running, 25.5% waiting;
- 5,000 users `u0000`..`u4999`, a starter drawn as floor(5000 * r^3): a few users start most
  instances (u0000 ~6%), most users start a handful;
- business keys `order-<n>` (unique), started one every 30 s over the last year;
- history: a `started` event per instance (by its starter) and a `task_completed` per ended
  instance (by a random user), 1.7 million rows;
- 100,000 open user tasks on waiting instances, 5 task names per process, 30% assigned (same
  skew as starters), the rest waiting for one of 50 groups `g00`..`g49` (floor(50 * r^2): g00
  ~14%), 20% with a second group and 10% also naming a user as candidate (the candidate rows copy
  their task's definition key and creation time, as the server writes them);
- instance participants (server/models/participants.py) as the server writes them: each
  instance's starter, the assignees and candidates of the open tasks and the users of the
  history, 1.9 million rows.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa


def _participants_backfill() -> str:
    """The INSERT ... SELECT of migration 0006 (alembic/versions is not a package)."""
    path = Path(__file__).resolve().parents[1] / "alembic" / "versions" / "0006_instance_participants.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKFILL


INSTANCES = 1_000_000
TASKS = 100_000
USERS, GROUPS, KEYS = 5000, 50, 20

KEY = "'proc_' || lpad(k::text, 2, '0')"
USER = f"'u' || lpad(floor({USERS} * power(random(), 3))::int::text, 4, '0')"
GROUP = f"'g' || lpad(floor({GROUPS} * power(random(), 2))::int::text, 2, '0')"

STEPS = [
    ("definitions", f"""
        INSERT INTO deployments (id, name, created_at) VALUES ('bench', 'bench', now());
        INSERT INTO process_definitions (id, key, version, name, dialect, deployment_id, resource_name,
                                         content_hash, specs_json, created_at)
        SELECT {KEY} || ':1:bench', {KEY}, 1, 'Process ' || k, 'camunda', 'bench', 'bench.bpmn', md5(k::text),
               '{{}}', now()
        FROM generate_series(0, {KEYS - 1}) k"""),
    ("instances", f"""
        INSERT INTO process_instances (id, definition_id, definition_key, business_key, status, revision, variables,
                                       started_by, started_at, updated_at, ended_at, end_reason)
        SELECT md5('i' || n)::uuid::text, {KEY} || ':1:bench', {KEY}, 'order-' || n,
               CASE WHEN r < 0.70 THEN 'completed' WHEN r < 0.72 THEN 'terminated' WHEN r < 0.74 THEN 'error'
                    WHEN r < 0.745 THEN 'running' ELSE 'waiting' END,
               1, json_build_object('amount', n % 1000, 'customer', 'c' || (n % 10000)), starter,
               started, started, CASE WHEN r < 0.72 THEN started + interval '1 hour' END,
               CASE WHEN r >= 0.70 AND r < 0.72 THEN 'terminated' END
        FROM (SELECT n, random() AS r, floor({KEYS} * power(random(), 2))::int AS k, {USER} AS starter,
                     now() - n * interval '30 seconds' AS started
              FROM generate_series(1, {INSTANCES}) n) s"""),
    ("history", f"""
        INSERT INTO history_events (instance_id, at, kind, "user", data)
        SELECT id, started_at, 'started', started_by, NULL FROM process_instances;
        INSERT INTO history_events (instance_id, at, kind, bpmn_id, name, element_type, "user")
        SELECT id, ended_at, 'task_completed', 'Task_0', 'Step 0', 'UserTask', {USER}
        FROM process_instances WHERE ended_at IS NOT NULL"""),
    ("tasks", f"""
        INSERT INTO open_tasks (id, instance_id, definition_id, definition_key, bpmn_id, name, type, assignee,
                                candidate_users, candidate_groups, extensions, created_at)
        SELECT md5('t' || id)::uuid::text, id, definition_id, definition_key, 'Task_' || (t % 5), 'Step ' || (t % 5),
               'UserTask', CASE WHEN random() < 0.3 THEN {USER} END, '[]', json_build_array(grp), '{{}}',
               started_at + interval '1 minute'
        FROM (SELECT id, definition_id, definition_key, started_at, row_number() OVER () AS t, {GROUP} AS grp
              FROM process_instances WHERE status = 'waiting' LIMIT {TASKS}) w;
        INSERT INTO task_candidates (task_id, kind, name, instance_id, definition_key, created_at)
        SELECT id, 'group', candidate_groups ->> 0, instance_id, definition_key, created_at FROM open_tasks;
        INSERT INTO task_candidates (task_id, kind, name, instance_id, definition_key, created_at)
        SELECT id, 'group', second, instance_id, definition_key, created_at
        FROM (SELECT id, instance_id, definition_key, created_at, candidate_groups ->> 0 AS first,
                     {GROUP} AS second, random() AS r
              FROM open_tasks) o WHERE r < 0.2 AND second <> first;
        INSERT INTO task_candidates (task_id, kind, name, instance_id, definition_key, created_at)
        SELECT id, 'user', who, instance_id, definition_key, created_at
        FROM (SELECT id, instance_id, definition_key, created_at, {USER} AS who, random() AS r FROM open_tasks) o
        WHERE r < 0.1"""),
    # what the server writes as these rows are made (server/services/participants.py): the
    # migration's backfill, read from the migration itself so the two cannot drift apart
    ("participants", _participants_backfill()),
]


def load(engine: sa.Engine, report=print) -> None:
    """Fill an empty, migrated database; then VACUUM ANALYZE so the planner knows the data."""
    import time

    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setseed(0.42)"))
        for name, sql in STEPS:
            started = time.perf_counter()
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(sa.text(statement))
            report(f"  loaded {name} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    report(f"  vacuum analyze in {time.perf_counter() - started:.1f} s")


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("process_instances", "open_tasks", "task_candidates", "history_events",
                              "instance_participants")}

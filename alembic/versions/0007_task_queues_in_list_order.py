"""task queues in list order

A group's queue may hold 20,000 open tasks; a page of it read every task id of the queue into a
hash and then walked all open tasks in creation order (bench/tasklist.py). `task_candidates`
gets copies of its task's `created_at` and `definition_key`, and indexes that order each user's
or group's rows (all of them, or those of one definition key) by creation, so a page of a queue
is the first rows of one index range; the assignee and definition key indexes of `open_tasks`
gain the same order (services/task_search.py). The copies are filled from the tasks; candidate
rows whose task is gone (none, with foreign keys enforced) are dropped.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 09:12:03.104511
"""
from alembic import op
import sqlalchemy as sa
import server.models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# correlated subqueries: UPDATE ... FROM is spelled differently by SQLite and PostgreSQL
BACKFILL = """
UPDATE task_candidates SET
    created_at = (SELECT t.created_at FROM open_tasks t WHERE t.id = task_candidates.task_id),
    definition_key = (SELECT t.definition_key FROM open_tasks t WHERE t.id = task_candidates.task_id)
"""


def upgrade() -> None:
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    op.execute("DELETE FROM task_candidates WHERE created_at IS NULL")
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.alter_column('definition_key', existing_type=sa.String(length=120), nullable=False)
        batch_op.alter_column('created_at', existing_type=server.models.base.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.drop_index('ix_task_candidates_names')
        batch_op.create_index('ix_task_candidates_names', ['kind', 'name', 'created_at', 'task_id'], unique=False)
        batch_op.create_index('ix_task_candidates_key', ['kind', 'name', 'definition_key', 'created_at', 'task_id'],
                              unique=False)

    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_open_tasks_assignee')
        batch_op.create_index('ix_open_tasks_assignee', ['assignee', 'created_at', 'id'], unique=False)
        batch_op.drop_index('ix_open_tasks_key')
        batch_op.create_index('ix_open_tasks_key', ['definition_key', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_open_tasks_key')
        batch_op.create_index('ix_open_tasks_key', ['definition_key'], unique=False)
        batch_op.drop_index('ix_open_tasks_assignee')
        batch_op.create_index('ix_open_tasks_assignee', ['assignee'], unique=False)

    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidates_key')
        batch_op.drop_index('ix_task_candidates_names')
        batch_op.create_index('ix_task_candidates_names', ['kind', 'name', 'task_id', 'instance_id'], unique=False)
        batch_op.drop_column('created_at')
        batch_op.drop_column('definition_key')

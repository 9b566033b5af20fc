"""history by task

A completion of a task id with no open row answers 409 when the id was a task (completed or
cancelled: the history names it) and 404 when it never was (services/tasks.py). That question
reads the history by task id, which needs an index; most history rows (the steps) carry no task
id, so the index holds only the rows that do.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 03:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

WITH_TASK = sa.text("task_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('history_events', schema=None) as batch_op:
        batch_op.create_index('ix_history_task', ['task_id'], unique=False, sqlite_where=WITH_TASK,
                              postgresql_where=WITH_TASK)


def downgrade() -> None:
    with op.batch_alter_table('history_events', schema=None) as batch_op:
        batch_op.drop_index('ix_history_task', sqlite_where=WITH_TASK, postgresql_where=WITH_TASK)

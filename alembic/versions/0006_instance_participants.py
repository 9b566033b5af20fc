"""instance participants

A row per user or group that took part in an instance, with copies of the instance's status,
definition key and start time, so a plain user's instance search is one index range scan per
party (server/models/participants.py). Filled here from what the other tables say: starters,
assignees of open tasks, candidates of open tasks and users named in the history. Candidates of
tasks that closed before this migration are not known any more; from now on they are kept.
The indexes are built after the rows are in, which is faster than keeping them up to date.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:57:21.512788
"""
from alembic import op
import sqlalchemy as sa
import server.models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# UNION (not UNION ALL) drops the duplicates, so the INSERT needs no ON CONFLICT clause (whose
# form differs between SQLite and PostgreSQL); the join drops rows of instances deleted since
BACKFILL = """
INSERT INTO instance_participants (instance_id, party_kind, party_name, status, definition_key, started_at)
SELECT i.id, p.party_kind, p.party_name, i.status, i.definition_key, i.started_at
FROM (SELECT id AS instance_id, 'user' AS party_kind, started_by AS party_name
      FROM process_instances WHERE started_by IS NOT NULL
      UNION SELECT instance_id, 'user', assignee FROM open_tasks WHERE assignee IS NOT NULL
      UNION SELECT instance_id, kind, name FROM task_candidates
      UNION SELECT instance_id, 'user', "user" FROM history_events WHERE "user" IS NOT NULL) p
JOIN process_instances i ON i.id = p.instance_id
"""


def upgrade() -> None:
    op.create_table('instance_participants',
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('party_kind', sa.String(length=8), nullable=False),
    sa.Column('party_name', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('definition_key', sa.String(length=120), nullable=False),
    sa.Column('started_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_instance_participants_instance_id_process_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'party_kind', 'party_name', name=op.f('pk_instance_participants'))
    )
    op.execute(BACKFILL)
    with op.batch_alter_table('instance_participants', schema=None) as batch_op:
        batch_op.create_index('ix_participants_key', ['party_kind', 'party_name', 'definition_key', sa.literal_column('started_at DESC'), 'instance_id'], unique=False)
        batch_op.create_index('ix_participants_started', ['party_kind', 'party_name', sa.literal_column('started_at DESC'), 'instance_id'], unique=False)
        batch_op.create_index('ix_participants_status', ['party_kind', 'party_name', 'status', sa.literal_column('started_at DESC'), 'instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('instance_participants', schema=None) as batch_op:
        batch_op.drop_index('ix_participants_status')
        batch_op.drop_index('ix_participants_started')
        batch_op.drop_index('ix_participants_key')

    op.drop_table('instance_participants')

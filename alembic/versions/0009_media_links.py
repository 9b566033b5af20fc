"""media links

Images are content-addressed: the same bytes sent twice are one `media` row, and that row kept
only the first sender and the first instance (`media.instance_id`, `media.uploaded_by`). The
people of a second instance the image was attached to could not read it, nor did their instance
list it. Now a row in `media_instances` per instance an image is attached to and a row in
`media_uploaders` per user who sent it say who may read it (server/access.py); the two columns
go. Each existing image's instance and uploader become its first links (an instance deleted
since is skipped, as its people could not read the image any more either).

The order matters on SQLite: dropping a column copies `media` into a new table and drops the old
one, and with foreign keys on, that drop would delete (ON DELETE CASCADE) every link already
pointing at `media`. So the links are filled first without their key to `media`, the columns go,
and then the links get that key. The downgrade likewise only adds columns while links exist.

`service_calls` gets an index by task id: an image sent to a step that already has one is a 409
only if the task id is known to have been such a step (server/social/images.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 10:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import server.models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FILL_INSTANCES = """
INSERT INTO media_instances (instance_id, media_id, attached_by, created_at)
SELECT m.instance_id, m.id, m.uploaded_by, m.created_at
FROM media m JOIN process_instances i ON i.id = m.instance_id
"""
FILL_UPLOADERS = """
INSERT INTO media_uploaders (media_id, username, created_at)
SELECT id, uploaded_by, created_at FROM media WHERE uploaded_by IS NOT NULL
"""
# downgrade: the earliest link stands for the first upload again
FILL_COLUMNS = """
UPDATE media SET
  instance_id = (SELECT l.instance_id FROM media_instances l WHERE l.media_id = media.id
                 ORDER BY l.created_at, l.instance_id LIMIT 1),
  uploaded_by = (SELECT u.username FROM media_uploaders u WHERE u.media_id = media.id
                 ORDER BY u.created_at, u.username LIMIT 1)
"""


def upgrade() -> None:
    op.create_table('media_instances',
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('media_id', sa.String(length=64), nullable=False),
    sa.Column('attached_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_media_instances_instance_id_process_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'media_id', name=op.f('pk_media_instances'))
    )
    op.create_table('media_uploaders',
    sa.Column('media_id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('media_id', 'username', name=op.f('pk_media_uploaders'))
    )
    op.execute(FILL_INSTANCES)
    op.execute(FILL_UPLOADERS)
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_instance_id'))
        batch_op.drop_column('uploaded_by')
        batch_op.drop_column('instance_id')
    with op.batch_alter_table('media_instances', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_media_instances_media_id_media'), 'media', ['media_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_media_instances_media', ['media_id', 'instance_id'], unique=False)
    with op.batch_alter_table('media_uploaders', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_media_uploaders_media_id_media'), 'media', ['media_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('service_calls', schema=None) as batch_op:
        batch_op.create_index('ix_service_calls_task', ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_service_calls_task')
    with op.batch_alter_table('media', schema=None) as batch_op:  # columns only: no copy of the table
        batch_op.add_column(sa.Column('instance_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('uploaded_by', sa.String(length=120), nullable=True))
    op.execute(FILL_COLUMNS)
    with op.batch_alter_table('media_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_media_instances_media')
    op.drop_table('media_uploaders')
    op.drop_table('media_instances')
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_instance_id'), ['instance_id'], unique=False)

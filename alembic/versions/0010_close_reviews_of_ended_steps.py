"""close reviews of ended steps

Since this version a review whose step ends without its decision (the step failed, a boundary
event or the instance's end took the process on, the instance was terminated) is `cancelled`
(server/social/reviews.py). Reviews left `open` before it, whose service call has failed or been
cancelled since (or is gone with its instance), are closed the same way, so they no longer show
as open while their votes are refused. Data only; the downgrade leaves them closed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 03:30:00.000000
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

CLOSE = """
UPDATE reviews SET status = 'cancelled'
WHERE status = 'open'
  AND NOT EXISTS (SELECT 1 FROM service_calls c WHERE c.id = reviews.call_id AND c.status = 'pending')
"""


def upgrade() -> None:
    op.execute(CLOSE)


def downgrade() -> None:
    pass

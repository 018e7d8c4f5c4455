"""event index for release breakdowns

Revision ID: 0005_breakdowns
Revises: 0004_chunks
"""

from alembic import op

revision = "0005_breakdowns"
down_revision = '0004_chunks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_release", ["project_id", "release", "timestamp"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_release")

"""index events by event id alone

Revision ID: 0007_event_id_index
Revises: 0006_symbol_sources
"""

from alembic import op

revision = "0007_event_id_index"
down_revision = "0006_symbol_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_event_id", ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_event_id")

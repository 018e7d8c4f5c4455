"""symbol tracking: debug files crashes needed, events waiting for them, merged issues

Revision ID: 0003_symbol_tracking
Revises: 0002_sessions
Create Date: 2026-12-04 23:10:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0003_symbol_tracking"
down_revision = '0002_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "symbol_need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("release", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("debug_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("code_file", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "release", "debug_id", name="uq_symbol_need"),
    )
    op.create_index("ix_symbol_need_debug_id", "symbol_need", ["project_id", "debug_id"])

    op.create_table(
        "event_symbol_wait",
        sa.Column("event_row_id", sa.Integer(), nullable=False),
        sa.Column("debug_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("lookup", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["event_row_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("event_row_id", "debug_id"),
    )
    op.create_index("ix_event_symbol_wait_debug_id", "event_symbol_wait", ["project_id", "debug_id"])
    op.create_index("ix_event_symbol_wait_ready", "event_symbol_wait", ["project_id", "ready"])

    # Plain ADD COLUMN of nullable columns, which SQLite does without rebuilding the tables.
    op.add_column("event", sa.Column("unsymbolicated_report", sa.LargeBinary(), nullable=True))
    op.add_column("issue", sa.Column("merged_into_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issue") as batch_op:
        batch_op.drop_column("merged_into_id")
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_column("unsymbolicated_report")
    op.drop_index("ix_event_symbol_wait_ready", table_name="event_symbol_wait")
    op.drop_index("ix_event_symbol_wait_debug_id", table_name="event_symbol_wait")
    op.drop_table("event_symbol_wait")
    op.drop_index("ix_symbol_need_debug_id", table_name="symbol_need")
    op.drop_table("symbol_need")

"""UUID mappings of bitcode builds

Revision ID: 0006_symbol_sources
Revises: 0005_breakdowns
Create Date: 2026-12-05 00:30:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_symbol_sources'
down_revision = '0005_breakdowns'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('debug_id_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('debug_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('original_debug_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('object_name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'debug_id', 'original_debug_id', name='uq_debug_id_mapping')
    )
    with op.batch_alter_table('debug_id_mapping', schema=None) as batch_op:
        batch_op.create_index('ix_debug_id_mapping_original', ['project_id', 'original_debug_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('debug_id_mapping', schema=None) as batch_op:
        batch_op.drop_index('ix_debug_id_mapping_original')

    op.drop_table('debug_id_mapping')

"""chunk assembly state for sentry-cli uploads

Revision ID: 0004_chunks
Revises: 0003_symbol_tracking
Create Date: 2026-12-04 23:10:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004_chunks'
down_revision = '0003_symbol_tracking'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chunk_assembly',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('checksum', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('dif', sa.Text(), nullable=True),
    sa.Column('blob_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'checksum', name='uq_chunk_assembly_checksum')
    )


def downgrade() -> None:
    op.drop_table('chunk_assembly')

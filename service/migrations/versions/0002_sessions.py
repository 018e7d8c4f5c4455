"""session counts: hourly aggregates, seen session states, distinct users

Revision ID: 0002_sessions
Revises: 0001
Create Date: 2026-12-04 22:48:38.279216
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002_sessions'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('session_hourly',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('hour', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('release', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('os_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('os_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('device_model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('started', sa.Integer(), nullable=False),
    sa.Column('errored', sa.Integer(), nullable=False),
    sa.Column('crashed', sa.Integer(), nullable=False),
    sa.Column('abnormal', sa.Integer(), nullable=False),
    sa.Column('exited', sa.Integer(), nullable=False),
    sa.Column('duration_total', sa.Float(), nullable=False),
    sa.Column('duration_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'release', 'hour', 'environment', 'os_name', 'os_version', 'device_model', name='uq_session_hourly_key')
    )
    with op.batch_alter_table('session_hourly', schema=None) as batch_op:
        batch_op.create_index('ix_session_hourly_project_hour', ['project_id', 'hour'], unique=False)

    op.create_table('session_seen',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('session_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('project_id', 'session_key', 'state')
    )
    with op.batch_alter_table('session_seen', schema=None) as batch_op:
        batch_op.create_index('ix_session_seen_started', ['started'], unique=False)

    op.create_table('session_user_bucket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('hour', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('release', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('exact_count', sa.Integer(), nullable=False),
    sa.Column('sketch', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'release', 'hour', 'environment', 'kind', name='uq_session_user_bucket_key')
    )
    with op.batch_alter_table('session_user_bucket', schema=None) as batch_op:
        batch_op.create_index('ix_session_user_bucket_project_hour', ['project_id', 'hour'], unique=False)

    op.create_table('session_user',
    sa.Column('bucket_id', sa.Integer(), nullable=False),
    sa.Column('user_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['bucket_id'], ['session_user_bucket.id'], ),
    sa.PrimaryKeyConstraint('bucket_id', 'user_hash')
    )


def downgrade() -> None:
    op.drop_table('session_user')
    with op.batch_alter_table('session_user_bucket', schema=None) as batch_op:
        batch_op.drop_index('ix_session_user_bucket_project_hour')

    op.drop_table('session_user_bucket')
    with op.batch_alter_table('session_seen', schema=None) as batch_op:
        batch_op.drop_index('ix_session_seen_started')

    op.drop_table('session_seen')
    with op.batch_alter_table('session_hourly', schema=None) as batch_op:
        batch_op.drop_index('ix_session_hourly_project_hour')

    op.drop_table('session_hourly')

"""launch handles: a practice software opens Bouquet on a patient (POST /api/launch, GET /launch)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('launch_handle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('professional', sa.String(length=20), nullable=False),
    sa.Column('patient', sa.JSON(), nullable=False),
    sa.Column('encounter', sa.String(length=256), nullable=True),
    sa.Column('return_url', sa.String(length=2000), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.Column('consumed_at', UtcDateTime(), nullable=True),
    sa.Column('consumed_by_id', sa.Integer(), nullable=True),
    sa.Column('patient_context_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['consumed_by_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['patient_context_id'], ['patient_context.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('handle_hash'),
    )
    with op.batch_alter_table('launch_handle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_launch_handle_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('launch_handle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_launch_handle_expires_at'))
    op.drop_table('launch_handle')

"""patient context: one row per context established for an account, pointed at by browser sessions

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('patient_context',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('patient', sa.JSON(), nullable=False),
    sa.Column('patient_ins', sa.String(length=80), nullable=False),
    sa.Column('source', sa.String(length=256), nullable=False),
    sa.Column('established_at', UtcDateTime(), nullable=False),
    sa.Column('established_by_id', sa.Integer(), nullable=False),
    sa.Column('acting_for_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['established_by_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['acting_for_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('patient_context', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_context_patient_ins'), ['patient_ins'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_context_established_by_id'), ['established_by_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_context', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_context_established_by_id'))
        batch_op.drop_index(batch_op.f('ix_patient_context_patient_ins'))
    op.drop_table('patient_context')

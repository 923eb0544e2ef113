"""SMART launch of other apps and token exchange: app launch handles, grants bound to a patient context

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_launch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('acting_for_id', sa.Integer(), nullable=True),
    sa.Column('patient_context_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.Column('used_at', UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['acting_for_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['patient_context_id'], ['patient_context.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('handle_hash'),
    )
    with op.batch_alter_table('oidc_authorization_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_context_id', sa.String(length=64), nullable=True))
    with op.batch_alter_table('oidc_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_context_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('audience', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('oidc_token', schema=None) as batch_op:
        batch_op.drop_column('audience')
        batch_op.drop_column('patient_context_id')
    with op.batch_alter_table('oidc_authorization_code', schema=None) as batch_op:
        batch_op.drop_column('patient_context_id')
    op.drop_table('app_launch')

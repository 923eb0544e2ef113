"""pending portal sign-ins, one row per authorization request the portal started

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Pending authorizations kept in the browser session's data before this migration are not
    # carried over: they live ten minutes, and a browser that had one just asks again.
    op.create_table('portal_pending_signin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('binding', sa.String(length=64), nullable=False),
    sa.Column('verifier', sa.String(length=200), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('next', sa.Text(), nullable=False),
    sa.Column('max_age', sa.Integer(), nullable=True),
    sa.Column('acr_values', sa.String(length=200), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('state_hash'),
    )
    with op.batch_alter_table('portal_pending_signin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_pending_signin_binding'), ['binding'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_pending_signin_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_pending_signin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_pending_signin_expires_at'))
        batch_op.drop_index(batch_op.f('ix_portal_pending_signin_binding'))
    op.drop_table('portal_pending_signin')

"""Pro Santé Connect: accounts linked by IdNat (`psc_identity`), PSC tokens of each sign-in, sealed
(`psc_session`)

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'psc_identity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('subject_name_id', sa.String(length=20), nullable=False),
        sa.Column('psc_sub', sa.String(length=200), nullable=False),
        sa.Column('linked_at', UtcDateTime(), nullable=False),
        sa.Column('last_signin_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id'),
        sa.UniqueConstraint('subject_name_id'),
    )
    op.create_table(
        'psc_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sid', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('psc_sid', sa.String(length=200), nullable=True),
        sa.Column('psc_sub', sa.String(length=200), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
        sa.Column('access_expires_at', UtcDateTime(), nullable=False),
        sa.Column('refresh_expires_at', UtcDateTime(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sid'),
    )
    with op.batch_alter_table('psc_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_psc_session_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_psc_session_psc_sid'), ['psc_sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_psc_session_psc_sub'), ['psc_sub'], unique=False)


def downgrade() -> None:
    op.drop_table('psc_session')
    op.drop_table('psc_identity')

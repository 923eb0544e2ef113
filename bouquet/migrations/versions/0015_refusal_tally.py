"""refusal tallies: authorization refusals per actor, source and kind per minute (bouquet.web.refusals)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('refusal_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('window_start', UtcDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('acting_for', sa.String(length=200), nullable=True),
    sa.Column('source_ip', sa.String(length=64), nullable=True),
    sa.Column('refusal', sa.String(length=300), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash', 'window_start', name='uq_refusal_tally_key_window'),
    )
    with op.batch_alter_table('refusal_tally', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refusal_tally_window_start'), ['window_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refusal_tally', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refusal_tally_window_start'))
    op.drop_table('refusal_tally')

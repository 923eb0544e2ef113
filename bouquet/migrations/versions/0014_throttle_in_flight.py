"""guesses being checked are held apart from failures (throttling counts only failures)

`guess_counter.in_flight` counts the guesses of a counter being verified right now, and
`in_flight_since` when the last one started: a guess no longer counts as a failure before it
fails (issue 13, item 12), while parallel guesses still cannot exceed the lock threshold.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('guess_counter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_flight', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('in_flight_since', UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('guess_counter', schema=None) as batch_op:
        batch_op.drop_column('in_flight_since')
        batch_op.drop_column('in_flight')

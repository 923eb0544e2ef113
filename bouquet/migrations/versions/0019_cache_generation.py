"""Generation counters of the workers' caches (`cache_generation`): OAuth clients and signing keys

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'cache_generation',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(table, [{'name': 'oidc_clients', 'generation': 0}, {'name': 'signing_keys', 'generation': 0}])


def downgrade() -> None:
    op.drop_table('cache_generation')

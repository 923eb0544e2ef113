"""prevention: a declared pregnancy carries its start (« date de début de grossesse »)

Revision ID: prevention_0004
Revises: prevention_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "prevention_0004"
down_revision = "prevention_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prevention_condition") as batch:
        batch.add_column(sa.Column("pregnancy_start", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prevention_condition") as batch:
        batch.drop_column("pregnancy_start")

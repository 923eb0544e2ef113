"""Coordination accounts: the role a non-health professional holds in their organisation

Social workers, DAC coordinators, médico-social staff and carers sign in with accounts of kind
`coordination` (a value of the existing `account.kind` column, no schema change); this adds the
role they hold in their organisation (« Assistante sociale », « Coordinatrice DAC », « Aidant »).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as table:
        table.add_column(sa.Column("coordination_role", sa.String(150), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite ≥ 3.35 and PostgreSQL): a batch copy of `account` would have to drop a
    # table that others reference, which SQLite refuses with foreign keys on.
    op.execute("ALTER TABLE account DROP COLUMN coordination_role")

"""OpenID conformance: PKCE required from every client unless a legacy confidential client is
registered without it (`oidc_client.pkce_required`); the professional's civility from the RPPS
(`account.civility_code`, PSC's `codeCivilite`)

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oidc_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pkce_required', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('civility_code', sa.String(length=10), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite ≥ 3.35 and PostgreSQL): a batch copy of `account` would have to drop a
    # table that others reference, which SQLite refuses with foreign keys on.
    op.execute("ALTER TABLE account DROP COLUMN civility_code")
    with op.batch_alter_table('oidc_client', schema=None) as batch_op:
        batch_op.drop_column('pkce_required')

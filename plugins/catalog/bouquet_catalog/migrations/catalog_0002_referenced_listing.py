"""catalog: the ANS's list of referenced solutions, as imported

Revision ID: catalog_0002
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_referenced_listing",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vendor_name", sa.String(200), nullable=False),
        sa.Column("vendor_siren", sa.String(9), nullable=True),
        sa.Column("solution_name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("software_version", sa.String(60), nullable=False),
        sa.Column("couloir", sa.String(40), nullable=False),
        sa.Column("software_type", sa.String(40), nullable=False),
        sa.Column("wave", sa.String(20), nullable=False),
        sa.Column("referenced_on", sa.String(10), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_catalog_referenced_listing_name_key", "catalog_referenced_listing", ["name_key"])


def downgrade() -> None:
    op.drop_index("ix_catalog_referenced_listing_name_key", table_name="catalog_referenced_listing")
    op.drop_table("catalog_referenced_listing")

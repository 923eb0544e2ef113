"""catalog: the ANS's list of referenced solutions, as imported; evidence documents and requirement decisions

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
    op.create_table(
        "catalog_evidence_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("solution_id", sa.Integer(), sa.ForeignKey("catalog_solution.id"), nullable=False),
        sa.Column("claim", sa.String(30), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("issued_on", sa.String(10), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(60), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_catalog_evidence_document_solution_id", "catalog_evidence_document", ["solution_id"])
    op.create_table(
        "catalog_requirement_decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("solution_id", sa.Integer(), sa.ForeignKey("catalog_solution.id"), nullable=False),
        sa.Column("revision_id", sa.Integer(), sa.ForeignKey("catalog_revision.id"), nullable=False),
        sa.Column("claim", sa.String(30), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_catalog_requirement_decision_solution_id", "catalog_requirement_decision", ["solution_id"])
    op.create_index("ix_catalog_requirement_decision_revision_id", "catalog_requirement_decision", ["revision_id"])


def downgrade() -> None:
    op.drop_table("catalog_requirement_decision")
    op.drop_table("catalog_evidence_document")
    op.drop_index("ix_catalog_referenced_listing_name_key", table_name="catalog_referenced_listing")
    op.drop_table("catalog_referenced_listing")

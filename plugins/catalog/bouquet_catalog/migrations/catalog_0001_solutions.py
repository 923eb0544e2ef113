"""catalog: vendors, their API clients, solutions, revisions, images and the review history

Revision ID: catalog_0001
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_vendor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("siren", sa.String(9), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "catalog_vendor_api_client",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vendor_id", sa.Integer(), sa.ForeignKey("catalog_vendor.id"), nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_catalog_vendor_api_client_vendor_id", "catalog_vendor_api_client", ["vendor_id"])
    op.create_table(
        "catalog_solution",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vendor_id", sa.Integer(), sa.ForeignKey("catalog_vendor.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("change_status", sa.String(20), nullable=True),
        sa.Column("published_revision_id", sa.Integer(), nullable=True),
        sa.Column("pending_revision_id", sa.Integer(), nullable=True),
        sa.Column("oidc_client_id", sa.String(100), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False, server_default=""),
        sa.Column("professions_key", sa.String(200), nullable=False),
        sa.Column("regions_key", sa.String(200), nullable=False),
        sa.Column("conformities_key", sa.String(200), nullable=False),
        sa.Column("referenced_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_catalog_solution_vendor_id", "catalog_solution", ["vendor_id"])
    op.create_index("ix_catalog_solution_status", "catalog_solution", ["status"])
    op.create_index("ix_catalog_solution_name_key", "catalog_solution", ["name_key"])
    op.create_index("ix_catalog_solution_category", "catalog_solution", ["category"])
    op.create_table(
        "catalog_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("solution_id", sa.Integer(), sa.ForeignKey("catalog_solution.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_catalog_revision_solution_id", "catalog_revision", ["solution_id"])
    op.create_table(
        "catalog_image",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision_id", sa.Integer(), sa.ForeignKey("catalog_revision.id"), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_catalog_image_revision_id", "catalog_image", ["revision_id"])
    op.create_table(
        "catalog_review_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("solution_id", sa.Integer(), sa.ForeignKey("catalog_solution.id"), nullable=False),
        sa.Column("revision_id", sa.Integer(), sa.ForeignKey("catalog_revision.id"), nullable=True),
        sa.Column("track", sa.String(10), nullable=False),
        sa.Column("transition", sa.String(30), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("actor_label", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
    )
    op.create_index("ix_catalog_review_event_solution_id", "catalog_review_event", ["solution_id"])


def downgrade() -> None:
    op.drop_table("catalog_review_event")
    op.drop_table("catalog_image")
    op.drop_table("catalog_revision")
    op.drop_table("catalog_solution")
    op.drop_table("catalog_vendor_api_client")
    op.drop_table("catalog_vendor")

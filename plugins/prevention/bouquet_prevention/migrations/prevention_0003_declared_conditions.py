"""prevention: risk conditions declared by professionals on the patient page

Revision ID: prevention_0003
Revises: prevention_0002
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "prevention_0003"
down_revision = "prevention_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prevention_condition",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("condition", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("declared_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("withdrawn_reason", sa.String(500), nullable=True),
    )
    op.create_index("ix_prevention_condition_patient_ins", "prevention_condition", ["patient_ins"])


def downgrade() -> None:
    op.drop_table("prevention_condition")

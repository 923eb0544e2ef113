"""prevention: the professionals' declared patients (médecin traitant), for the population view

Revision ID: prevention_0002
Revises: prevention_0001
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "prevention_0002"
down_revision = "prevention_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prevention_patient",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("professional_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("patient", sa.JSON(), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("declared_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("professional_id", "patient_ins", name="uq_prevention_patient"),
    )
    op.create_index("ix_prevention_patient_professional_id", "prevention_patient", ["professional_id"])


def downgrade() -> None:
    op.drop_table("prevention_patient")

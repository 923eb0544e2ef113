"""prevention: acts history, trusted CDS Hooks clients, JWT ids seen, CDS feedback

Revision ID: prevention_0001
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "prevention_0001"
down_revision = None
branch_labels = ("prevention",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prevention_act",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("act_code", sa.String(64), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_prevention_act_patient", "prevention_act", ["patient_ins", "performed_on"])

    op.create_table(
        "prevention_cds_client",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("iss", sa.String(500), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("disabled_at", UtcDateTime(), nullable=True),
    )

    op.create_table(
        "prevention_cds_jti",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("iss", "jti", name="uq_prevention_cds_jti"),
    )
    op.create_index("ix_prevention_cds_jti_expires_at", "prevention_cds_jti", ["expires_at"])

    op.create_table(
        "prevention_cds_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("card", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_at", UtcDateTime(), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.JSON(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_prevention_cds_feedback_card", "prevention_cds_feedback", ["card"])


def downgrade() -> None:
    op.drop_table("prevention_cds_feedback")
    op.drop_table("prevention_cds_jti")
    op.drop_table("prevention_cds_client")
    op.drop_table("prevention_act")

"""eparcours: a plan's life (suspension, end, the patient's withdrawal of consent) its PPCS, the team's message thread, documents

Revision ID: eparcours_0002
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "eparcours_0002"
down_revision = "eparcours_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eparcours_care_plan") as table:
        table.add_column(sa.Column("status_reason", sa.String(500), nullable=True))
        table.add_column(sa.Column("ended_on", sa.Date(), nullable=True))
        table.add_column(sa.Column("consent_withdrawn_on", sa.Date(), nullable=True))
        table.add_column(sa.Column("consent_withdrawal_method", sa.String(20), nullable=True))
        table.add_column(sa.Column("consent_withdrawal_note", sa.String(500), nullable=True))
        table.add_column(sa.Column("consent_withdrawal_recorded_by_id", sa.Integer(),
                                   sa.ForeignKey("account.id", name="fk_eparcours_care_plan_withdrawal_recorded_by"),
                                   nullable=True))
        table.add_column(sa.Column("ppcs", sa.JSON(), nullable=False, server_default="{}"))


    op.create_table(
        "eparcours_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("care_plan_id", sa.Integer(), sa.ForeignKey("eparcours_care_plan.id"), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("author_label", sa.String(200), nullable=False),
        sa.Column("acting_for_label", sa.String(200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_eparcours_message_care_plan_id", "eparcours_message", ["care_plan_id"])
    op.create_table(
        "eparcours_message_read",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("care_plan_id", sa.Integer(), sa.ForeignKey("eparcours_care_plan.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("last_read_id", sa.Integer(), nullable=False),
        sa.UniqueConstraint("care_plan_id", "account_id"),
    )
    op.create_index("ix_eparcours_message_read_care_plan_id", "eparcours_message_read", ["care_plan_id"])
    op.create_index("ix_eparcours_message_read_account_id", "eparcours_message_read", ["account_id"])
    op.create_table(
        "eparcours_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("care_plan_id", sa.Integer(), sa.ForeignKey("eparcours_care_plan.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(60), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("uploaded_by_label", sa.String(200), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_eparcours_document_care_plan_id", "eparcours_document", ["care_plan_id"])


def downgrade() -> None:
    op.drop_table("eparcours_document")
    op.drop_table("eparcours_message_read")
    op.drop_table("eparcours_message")
    with op.batch_alter_table("eparcours_care_plan") as table:
        for name in ("ppcs", "consent_withdrawal_recorded_by_id", "consent_withdrawal_note", "consent_withdrawal_method",
                     "consent_withdrawn_on", "ended_on", "status_reason"):
            table.drop_column(name)

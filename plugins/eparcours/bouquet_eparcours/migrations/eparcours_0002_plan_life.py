"""eparcours: a plan's life (suspension, end, the patient's withdrawal of consent) and its PPCS

Revision ID: eparcours_0002
"""

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    with op.batch_alter_table("eparcours_care_plan") as table:
        for name in ("ppcs", "consent_withdrawal_recorded_by_id", "consent_withdrawal_note", "consent_withdrawal_method",
                     "consent_withdrawn_on", "ended_on", "status_reason"):
            table.drop_column(name)

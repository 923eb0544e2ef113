"""eparcours: care plans, care teams, tasks and their timeline

Revision ID: eparcours_0001
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "eparcours_0001"
down_revision = None
branch_labels = ("eparcours",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eparcours_care_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("patient", sa.JSON(), nullable=False),
        sa.Column("pathway_id", sa.String(64), nullable=False),
        sa.Column("pathway_version", sa.String(40), nullable=False),
        sa.Column("pathway_title", sa.String(200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=False),
        sa.Column("consent_method", sa.String(20), nullable=False),
        sa.Column("consent_note", sa.String(500), nullable=True),
        sa.Column("included_at", UtcDateTime(), nullable=False),
        sa.Column("included_by_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
    )
    op.create_index("ix_eparcours_care_plan_patient_ins", "eparcours_care_plan", ["patient_ins"])
    op.create_index("ix_eparcours_care_plan_pathway_id", "eparcours_care_plan", ["pathway_id"])

    op.create_table(
        "eparcours_care_team_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("care_plan_id", sa.Integer(), sa.ForeignKey("eparcours_care_plan.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("role_label", sa.String(200), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.UniqueConstraint("care_plan_id", "role", "account_id"),
    )
    op.create_index("ix_eparcours_care_team_member_care_plan_id", "eparcours_care_team_member", ["care_plan_id"])
    op.create_index("ix_eparcours_care_team_member_account_id", "eparcours_care_team_member", ["account_id"])

    op.create_table(
        "eparcours_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("care_plan_id", sa.Integer(), sa.ForeignKey("eparcours_care_plan.id"), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.String(500), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("latest_on", sa.Date(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=True),
        sa.Column("performed_by_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_eparcours_task_care_plan_id", "eparcours_task", ["care_plan_id"])
    op.create_index("ix_eparcours_task_owner_id", "eparcours_task", ["owner_id"])
    op.create_index("ix_eparcours_task_status", "eparcours_task", ["status"])
    op.create_index("ix_eparcours_task_due_on", "eparcours_task", ["due_on"])

    op.create_table(
        "eparcours_task_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("care_plan_id", sa.Integer(), sa.ForeignKey("eparcours_care_plan.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("eparcours_task.id"), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("actor_label", sa.String(200), nullable=False),
        sa.Column("acting_for_label", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_eparcours_task_event_care_plan_id", "eparcours_task_event", ["care_plan_id"])
    op.create_index("ix_eparcours_task_event_task_id", "eparcours_task_event", ["task_id"])


def downgrade() -> None:
    op.drop_table("eparcours_task_event")
    op.drop_table("eparcours_task")
    op.drop_table("eparcours_care_team_member")
    op.drop_table("eparcours_care_plan")

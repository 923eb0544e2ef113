"""The tables: a patient's care plan, its care team, its tasks (FHIR Task statuses) and their timeline.

Tables are prefixed `eparcours_` so that no other plugin's `task` can clash with ours. Their
schema comes from the plugin's own Alembic branch (`migrations/`, label "eparcours").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bouquet.api.db import UtcDateTime, utcnow


class CarePlan(SQLModel, table=True):
    """One patient followed in one pathway, with the consent that allows it.

    `definition` is the pathway as it was when the patient was included, so that a later
    version of a region's package never changes a plan already under way. `patient` keeps the
    INS traits (`PatientContext.to_dict()`) so that task lists across patients can name them.
    """

    __tablename__ = "eparcours_care_plan"

    id: int | None = Field(default=None, primary_key=True)
    patient_ins: str = Field(max_length=80, index=True, description="'<oid>|<matricule>', as the audit trail names it")
    patient: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    pathway_id: str = Field(max_length=64, index=True)
    pathway_version: str = Field(max_length=40)
    pathway_title: str = Field(max_length=200)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=20, description="FHIR CarePlan status")
    reference_date: date = Field(description="What offsets count from: inclusion, hospital discharge…")
    consent_date: date
    consent_method: str = Field(max_length=20, description="How consent was obtained (see care_plans.CONSENT_METHODS)")
    consent_note: str | None = Field(default=None, max_length=500)
    included_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    included_by_id: int = Field(foreign_key="account.id")
    # The plan's life after inclusion (plan_lifecycle.py): why it was suspended or ended, and when.
    status_reason: str | None = Field(default=None, max_length=500)
    ended_on: date | None = None
    # The patient's withdrawal of consent ends the plan: when, how it was expressed, who recorded it.
    consent_withdrawn_on: date | None = None
    consent_withdrawal_method: str | None = Field(default=None, max_length=20)
    consent_withdrawal_note: str | None = Field(default=None, max_length=500)
    consent_withdrawal_recorded_by_id: int | None = Field(default=None, foreign_key="account.id")
    # The HAS personalised coordination plan (PPCS) of this patient: ppcs.py says what it holds.
    ppcs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))


class CareTeamMember(SQLModel, table=True):
    """An account holding one role of a plan's care team (coordinator, médecin traitant, infirmier…)."""

    __tablename__ = "eparcours_care_team_member"
    __table_args__ = (UniqueConstraint("care_plan_id", "role", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="eparcours_care_plan.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    role: str = Field(max_length=64)
    role_label: str = Field(max_length=200)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    added_by_id: int = Field(foreign_key="account.id")


class Task(SQLModel, table=True):
    """One occurrence of one step: who should do it, by when, in which FHIR Task status.

    `version` grows with every change: a form carries the version it was shown with, and a
    change made meanwhile by someone else is refused instead of overwritten.
    """

    __tablename__ = "eparcours_task"

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="eparcours_care_plan.id", index=True)
    step_id: str = Field(max_length=64)
    occurrence: int = Field(default=1, description="1 for the first occurrence of the step, 2 for the next…")
    title: str = Field(max_length=200)
    role: str = Field(max_length=64)
    required: bool = True
    owner_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    status: str = Field(max_length=20, index=True, description="FHIR Task status")
    status_reason: str | None = Field(default=None, max_length=500)
    due_on: date = Field(index=True, description="When the step is due")
    latest_on: date = Field(description="Past this day the task is overdue (due_on plus the step's window)")
    outputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    performed_on: date | None = None
    performed_by_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    version: int = 1


class TaskEvent(SQLModel, table=True):
    """One line of a plan's timeline: what was done, by whom (for whom), when."""

    __tablename__ = "eparcours_task_event"

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="eparcours_care_plan.id", index=True)
    task_id: int | None = Field(default=None, foreign_key="eparcours_task.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor_id: int = Field(foreign_key="account.id")
    actor_label: str = Field(max_length=200, description="The actor's name when it happened")
    acting_for_label: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=30, description="included, status, assigned, scheduled, note, created")
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class PlanMessage(SQLModel, table=True):
    """A message of a plan's thread between the members of its care team."""

    __tablename__ = "eparcours_message"

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="eparcours_care_plan.id", index=True)
    author_id: int = Field(foreign_key="account.id")
    author_label: str = Field(max_length=200)
    acting_for_label: str | None = Field(default=None, max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PlanMessageRead(SQLModel, table=True):
    """How far one account has read one plan's thread (for the unread counts)."""

    __tablename__ = "eparcours_message_read"
    __table_args__ = (UniqueConstraint("care_plan_id", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="eparcours_care_plan.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    last_read_id: int = 0


class PlanDocument(SQLModel, table=True):
    """A document attached to a plan (a letter, a report, an assessment), for its care team."""

    __tablename__ = "eparcours_document"

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="eparcours_care_plan.id", index=True)
    title: str = Field(max_length=200)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=60)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by_id: int = Field(foreign_key="account.id")
    uploaded_by_label: str = Field(max_length=200)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


MODELS = [CarePlan, CareTeamMember, Task, TaskEvent, PlanMessage, PlanMessageRead, PlanDocument]

"""The plugin's tables: the history of prevention acts, the trusted CDS Hooks clients, the JWT ids
already seen (replay protection) and the feedback CDS clients send. Created by the plugin's own
Alembic branch ("prevention", see `migrations/`), never on the fly.

The declared patient list (`prevention_patient`) says whose médecin traitant a professional is: the
population view « Prévention — mes patients » starts from it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from bouquet.api.db import UtcDateTime, utcnow

__all__ = ["CdsClient", "CdsFeedback", "CdsJwtId", "DeclaredCondition", "DeclaredPatient", "PreventionAct"]


class PreventionAct(SQLModel, table=True):
    """One act performed for a patient: recorded in the portal, or copied from the DMP."""

    __tablename__ = "prevention_act"
    __table_args__ = (Index("ix_prevention_act_patient", "patient_ins", "performed_on"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_ins: str = Field(max_length=80, description="'<oid>|<matricule>', as the audit trail names the patient")
    act_code: str = Field(max_length=64, description="A code of the catalogue (data/catalogue.yaml)")
    performed_on: date = Field(sa_column=Column(Date, nullable=False))
    recorded_by_id: int | None = Field(default=None, foreign_key="account.id",
                                       description="The account that recorded it (None for an import)")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    source: str = Field(default="portal", max_length=16, description="'portal' or 'dmp'")


class CdsClient(SQLModel, table=True):
    """A CDS client (practice software) trusted to call the CDS Hooks service: its JWT issuer and public keys."""

    __tablename__ = "prevention_cds_client"

    id: int | None = Field(default=None, primary_key=True)
    iss: str = Field(sa_column=Column(String(500), unique=True, nullable=False))
    name: str = Field(max_length=200, description="Who it is, for the operator")
    jwks: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False), description="Its public JWK Set")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CdsJwtId(SQLModel, table=True):
    """A `jti` already accepted from a client, kept until the JWT expires: a second use is a replay."""

    __tablename__ = "prevention_cds_jti"
    __table_args__ = (UniqueConstraint("iss", "jti", name="uq_prevention_cds_jti"),)

    id: int | None = Field(default=None, primary_key=True)
    iss: str = Field(max_length=500)
    jti: str = Field(max_length=255)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)


class CdsFeedback(SQLModel, table=True):
    """What a CDS client reported about one card (CDS Hooks 2.0 feedback)."""

    __tablename__ = "prevention_cds_feedback"

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(max_length=100)
    iss: str = Field(max_length=500)
    card: str = Field(max_length=100, index=True)
    outcome: str = Field(max_length=20, description="'accepted' or 'overridden'")
    outcome_at: datetime = Field(sa_type=UtcDateTime)
    accepted_suggestions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    override_reason: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DeclaredPatient(SQLModel, table=True):
    """A patient a professional declared as theirs (médecin traitant), with the INS traits the
    population view needs: fed by `bouquet prevention patients import` and the demo data."""

    __tablename__ = "prevention_patient"
    __table_args__ = (UniqueConstraint("professional_id", "patient_ins", name="uq_prevention_patient"),)

    id: int | None = Field(default=None, primary_key=True)
    professional_id: int = Field(foreign_key="account.id", index=True)
    patient_ins: str = Field(max_length=80, description="'<oid>|<matricule>', as the audit trail names the patient")
    patient: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False),
                                    description="The INS traits, as `PatientContext.to_dict()` gives them")
    relation: str = Field(default="medecin-traitant", max_length=32, description="'medecin-traitant'")
    declared_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DeclaredCondition(SQLModel, table=True):
    """A risk condition a professional declared for a patient on the patient page (who, when, from
    which source, and a pregnancy's start); withdrawn rather than deleted (who, when, why), so a
    correction stays traced."""

    __tablename__ = "prevention_condition"

    id: int | None = Field(default=None, primary_key=True)
    patient_ins: str = Field(max_length=80, index=True, description="'<oid>|<matricule>'")
    condition: str = Field(max_length=64, description="A condition code of the catalogue")
    source: str = Field(max_length=200, description="Where the professional knows it from, in their words")
    declared_by_id: int = Field(foreign_key="account.id")
    declared_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    withdrawn_by_id: int | None = Field(default=None, foreign_key="account.id")
    withdrawn_reason: str | None = Field(default=None, max_length=500)
    pregnancy_start: date | None = Field(default=None, sa_column=Column(Date, nullable=True),
                                         description="For `grossesse`: the start of the pregnancy (« date de "
                                                     "début de grossesse »), typed or computed from the "
                                                     "expected delivery date; None: term unknown")

"""The embedded DMP service's tables: records, documents, the patient's choices and the access trail.

Tables are prefixed `dmp_`. Their schema comes from the plugin's own Alembic branch
(`migrations/`, label "dmp"). Only the embedded service (`bouquet_dmp.service`) and `access`
write them; the portal's pages read the DMP through the MHD client, as they would a remote one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bouquet.api.db import UtcDateTime, utcnow


class DmpRecord(SQLModel, table=True):
    """A patient who has a DMP. `patient` holds `PatientContext.to_dict()` (the INS traits)."""

    __tablename__ = "dmp_record"

    patient_ins: str = Field(primary_key=True, max_length=80, description="'<oid>|<matricule>'")
    patient: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DmpDocument(SQLModel, table=True):
    """One document of a DMP, with its metadata (what a DocumentReference carries) and its content."""

    __tablename__ = "dmp_document"

    id: str = Field(primary_key=True, max_length=64)
    patient_ins: str = Field(max_length=80, index=True)
    status: str = Field(default="current", max_length=20, description="FHIR DocumentReference status")
    type_code: str = Field(max_length=20, description="LOINC code of the document type")
    class_code: str = Field(max_length=40, index=True, description="Document class (codes.CLASSES)")
    title: str = Field(max_length=300)
    content_type: str = Field(max_length=100)
    size: int
    sha1: str = Field(max_length=64, description="Base64 SHA-1 of the content, as FHIR's Attachment.hash")
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    author_idnat: str | None = Field(default=None, max_length=12, index=True)
    author_name: str = Field(max_length=200)
    author_profession: str | None = Field(default=None, max_length=20)
    service_date: date = Field(description="When the care the document reports on took place")
    indexed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    masked: bool = Field(default=False, description="Hidden by the patient from every professional but its author")
    submission_set_id: str = Field(max_length=64)


class DmpBlockedProfessional(SQLModel, table=True):
    """A professional the patient refuses access to their DMP."""

    __tablename__ = "dmp_blocked_professional"
    __table_args__ = (UniqueConstraint("patient_ins", "idnat_ps"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_ins: str = Field(max_length=80, index=True)
    idnat_ps: str = Field(max_length=12)
    blocked_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DmpEmergencyAccess(SQLModel, table=True):
    """A bris-de-glace access: who opened which DMP in an emergency, why, until when."""

    __tablename__ = "dmp_emergency_access"

    id: int | None = Field(default=None, primary_key=True)
    patient_ins: str = Field(max_length=80, index=True)
    idnat_ps: str = Field(max_length=12, index=True)
    actor_name: str = Field(max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class DmpAccessRule(SQLModel, table=True):
    """One cell of the access matrix: may this profession read documents of this class."""

    __tablename__ = "dmp_access_rule"

    profession: str = Field(primary_key=True, max_length=20, description="RPPS profession code, or 'secretaire'")
    class_code: str = Field(primary_key=True, max_length=40)
    allowed: bool = True


class DmpAccessEvent(SQLModel, table=True):
    """One access to a DMP, as the patient's access history shows it."""

    __tablename__ = "dmp_access_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    patient_ins: str = Field(max_length=80, index=True)
    actor_idnat: str | None = Field(default=None, max_length=12)
    actor_name: str = Field(max_length=200)
    actor_profession: str | None = Field(default=None, max_length=20)
    acting_for_name: str | None = Field(default=None, max_length=200)
    transaction: str = Field(max_length=40, description="search, retrieve, provide, emergency, patient")
    document_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=20, description="granted or denied")
    emergency: bool = False
    detail: str | None = Field(default=None, max_length=500)


MODELS = [DmpRecord, DmpDocument, DmpBlockedProfessional, DmpEmergencyAccess, DmpAccessRule, DmpAccessEvent]

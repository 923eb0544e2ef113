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
    medecin_traitant_idnat: str | None = Field(default=None, max_length=12,
                                               description="IdNat_PS of the patient's médecin traitant (sees masked documents)")
    emergency_opposed: bool = Field(default=False, description="The patient opposes bris de glace (CSP L. 1111-17 I)")
    regulation_opposed: bool = Field(default=False, description="The patient opposes access by the SAMU's regulating doctor")
    care_team_informed_at: datetime | None = Field(default=None, sa_type=UtcDateTime,
                                                   description="When the patient was informed of the care team's access")
    care_team_consent_at: datetime | None = Field(default=None, sa_type=UtcDateTime,
                                                  description="Initial consent to the care team's access (CE 15/10/2025 n° 490409)")
    care_team_consent_by: str | None = Field(default=None, max_length=200)
    care_team_consent_how: str | None = Field(default=None, max_length=40)


class DmpDocument(SQLModel, table=True):
    """One document of a DMP, with its metadata (what a DocumentReference carries) and its content."""

    __tablename__ = "dmp_document"

    id: str = Field(primary_key=True, max_length=64)
    patient_ins: str = Field(max_length=80, index=True)
    status: str = Field(default="current", max_length=20, description="FHIR DocumentReference status")
    type_code: str = Field(max_length=20, description="Document type (JDV_J66: LOINC or TRE_A05 code)")
    class_code: str = Field(max_length=40, index=True, description="Document class (JDV_J57 / TRE_A03 code)")
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
    masked: bool = Field(default=False, description="Masked to professionals: only its author, the médecin traitant, "
                                                    "those the patient gave the same rights, and bris de glace")
    hidden_from_patient_until: datetime | None = Field(
        default=None, sa_type=UtcDateTime, description="INVISIBLE_PATIENT: not shown to the patient before this moment")
    hidden_from_representatives: bool = Field(default=False, description="Invisible to the patient's legal representatives")
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
    mode: str = Field(default="bris-de-glace", max_length=20, description="bris-de-glace, or regulation (SAMU, centre 15)")


class DmpCareRelationship(SQLModel, table=True):
    """Why a professional takes care of the patient: a care-team membership, or the patient's consent at a
    consultation (who recorded it, when, how); `masked_rights`: the patient gave them the médecin traitant's rights."""

    __tablename__ = "dmp_care_relationship"

    id: int | None = Field(default=None, primary_key=True)
    patient_ins: str = Field(max_length=80, index=True)
    idnat_ps: str = Field(max_length=12, index=True)
    basis: str = Field(max_length=20, description="equipe-de-soins or consentement")
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    how: str = Field(max_length=40, description="oral, ecrit, electronique")
    valid_until: datetime | None = Field(default=None, sa_type=UtcDateTime, description="a consent: the consultation's day")
    masked_rights: bool = False


class DmpNotification(SQLModel, table=True):
    """The outbox of what the patient and the médecin traitant must be told (an emergency access);
    a sender (MSSanté) takes `pending` messages from here."""

    __tablename__ = "dmp_notification"

    id: int | None = Field(default=None, primary_key=True)
    patient_ins: str = Field(max_length=80, index=True)
    recipient: str = Field(max_length=20, description="patient or medecin-traitant")
    recipient_idnat: str | None = Field(default=None, max_length=12, index=True)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    emergency_access_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    status: str = Field(default="pending", max_length=20, description="pending, then sent by the channel that sends it")
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


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
    basis: str | None = Field(default=None, max_length=300, description="Why this caller may read: the answer shown in the history")


MODELS = [DmpRecord, DmpDocument, DmpBlockedProfessional, DmpEmergencyAccess, DmpCareRelationship, DmpNotification,
          DmpAccessEvent]

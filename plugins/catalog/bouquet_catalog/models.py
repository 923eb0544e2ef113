"""The tables: vendor organisations, their solutions, each solution's revisions, images and review history.

A solution points at two revisions: the *published* one (what professionals see) and the
*pending* one (what the vendor is writing or the operator is reviewing). Search columns on the
solution (`search_text`, `*_key`) are copied from the published revision when it is approved,
normalised (lower case, no accents) so that one LIKE works the same on SQLite and PostgreSQL.
Tables are prefixed `catalog_`; their schema comes from the plugin's Alembic branch "catalog".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from bouquet.api.db import UtcDateTime, utcnow


class Vendor(SQLModel, table=True):
    """A vendor organisation, known by its SIREN; its accounts are the vendor accounts with that SIREN."""

    __tablename__ = "catalog_vendor"

    id: int | None = Field(default=None, primary_key=True)
    siren: str = Field(max_length=9, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class VendorApiClient(SQLModel, table=True):
    """An OIDC client (client credentials, scope `catalog.submit`) through which a vendor's software calls the API."""

    __tablename__ = "catalog_vendor_api_client"

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="catalog_vendor.id", index=True)
    client_id: str = Field(max_length=100, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by: str = Field(max_length=200)


class Solution(SQLModel, table=True):
    """One solution of one vendor, its place in the review workflow, and its search columns."""

    __tablename__ = "catalog_solution"

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="catalog_vendor.id", index=True)
    status: str = Field(max_length=20, index=True, description="workflow.Status of the solution's track")
    change_status: str | None = Field(default=None, max_length=20,
                                      description="workflow.Status of a pending change to a published solution")
    published_revision_id: int | None = Field(default=None)
    pending_revision_id: int | None = Field(default=None)
    oidc_client_id: str | None = Field(default=None, max_length=100)
    # Search columns, from the published revision (empty until then).
    name: str = Field(default="", max_length=200)
    name_key: str = Field(default="", max_length=200, index=True)
    category: str = Field(default="", max_length=20, index=True)
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    professions_key: str = Field(default="", max_length=200, description="'|10|60|'")
    regions_key: str = Field(default="", max_length=200, description="'|FR|' or '|84|11|'")
    conformities_key: str = Field(default="", max_length=200, description="verified claims, '|segur|dmp|'")
    referenced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Revision(SQLModel, table=True):
    """One version of a solution's content, as the vendor wrote it (`content`, see `submissions.Content`).

    `claims` maps each conformity code to {"detail", "evidence", "status"}; the operator sets the
    status when approving. A revision is never edited once submitted: fixing it makes a new one.
    """

    __tablename__ = "catalog_revision"

    id: int | None = Field(default=None, primary_key=True)
    solution_id: int = Field(foreign_key="catalog_solution.id", index=True)
    number: int
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by: str = Field(max_length=200)


class Image(SQLModel, table=True):
    """A logo or screenshot of one revision, checked by decoding it, stored in the database."""

    __tablename__ = "catalog_image"

    id: int | None = Field(default=None, primary_key=True)
    revision_id: int = Field(foreign_key="catalog_revision.id", index=True)
    role: str = Field(max_length=20, description="logo or screenshot")
    position: int = 0
    content_type: str = Field(max_length=40)
    width: int
    height: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ReviewEvent(SQLModel, table=True):
    """One transition of the workflow: who, when, from which state to which, why."""

    __tablename__ = "catalog_review_event"

    id: int | None = Field(default=None, primary_key=True)
    solution_id: int = Field(foreign_key="catalog_solution.id", index=True)
    revision_id: int | None = Field(default=None, foreign_key="catalog_revision.id")
    track: str = Field(max_length=10, description="solution or change")
    transition: str = Field(max_length=30)
    from_status: str = Field(max_length=20)
    to_status: str = Field(max_length=20)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor_id: int | None = Field(default=None, foreign_key="account.id")
    actor_label: str = Field(max_length=200, description="who, as shown: name and role")
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReferencedListing(SQLModel, table=True):
    """One line of the ANS's published list of referenced solutions, as last imported (official_list.py).

    Every import replaces the previous lines: the list is the ANS's, not ours to edit.
    """

    __tablename__ = "catalog_referenced_listing"

    id: int | None = Field(default=None, primary_key=True)
    vendor_name: str = Field(max_length=200)
    vendor_siren: str | None = Field(default=None, max_length=9)
    solution_name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, index=True, description="normalised solution name, for matching")
    software_version: str = Field(default="", max_length=60)
    couloir: str = Field(default="", max_length=40)
    software_type: str = Field(default="", max_length=40)
    wave: str = Field(default="", max_length=20)
    referenced_on: str = Field(default="", max_length=10)
    source: str = Field(max_length=300, description="the file it came from")
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class EvidenceDocument(SQLModel, table=True):
    """A document a vendor gives as the proof of one claimed requirement (a CNDA attestation, a test report…)."""

    __tablename__ = "catalog_evidence_document"

    id: int | None = Field(default=None, primary_key=True)
    solution_id: int = Field(foreign_key="catalog_solution.id", index=True)
    claim: str = Field(max_length=30, description="the requirement it proves (a vocabulary.CONFORMITIES code)")
    kind: str = Field(max_length=20, description="evidence.KINDS")
    reference: str = Field(max_length=100, description="its number (attestation, report)")
    issued_on: str = Field(max_length=10, description="YYYY-MM-DD")
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=60)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    uploaded_by: str = Field(max_length=200)


class RequirementDecision(SQLModel, table=True):
    """The reviewer's decision on one claimed requirement of one revision; every decision is kept."""

    __tablename__ = "catalog_requirement_decision"

    id: int | None = Field(default=None, primary_key=True)
    solution_id: int = Field(foreign_key="catalog_solution.id", index=True)
    revision_id: int = Field(foreign_key="catalog_revision.id", index=True)
    claim: str = Field(max_length=30)
    decision: str = Field(max_length=20, description="accepted or refused")
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    decided_by: str = Field(max_length=200)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


MODELS = [Vendor, VendorApiClient, Solution, Revision, Image, ReviewEvent, ReferencedListing, EvidenceDocument,
          RequirementDecision]

"""Accounts: professionals, secretaries, vendors and administrators."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from bouquet.db import UtcDateTime, utcnow


class AccountKind(StrEnum):
    professional = "professional"
    secretary = "secretary"
    vendor = "vendor"
    admin = "admin"


KIND_LABELS = {
    AccountKind.professional: "Professionnel de santé",
    AccountKind.secretary: "Secrétaire",
    AccountKind.vendor: "Éditeur",
    AccountKind.admin: "Administrateur",
}


class Account(SQLModel, table=True):
    """A person who signs in. Professionals carry their RPPS identity (`idnat_ps` = "8" + RPPS)."""

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    kind: AccountKind = Field(sa_type=String(20), index=True)
    username: str = Field(max_length=150, unique=True, description="Sign-in name, lower case")
    given_name: str = Field(max_length=150)
    family_name: str = Field(max_length=150)
    email: str | None = Field(default=None, max_length=254)
    idnat_ps: str | None = Field(default=None, max_length=12, unique=True)
    profession_code: str | None = Field(default=None, max_length=10, description="RPPS code, e.g. 10 médecin")
    profession_label: str | None = Field(default=None, max_length=100)
    profession_category: str | None = Field(default=None, max_length=10, description="C civil, M militaire, E étudiant")
    specialty_code: str | None = Field(default=None, max_length=20, description="Savoir-faire, e.g. SM54")
    specialty_label: str | None = Field(default=None, max_length=150)
    practice_sites: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    organisation: str | None = Field(default=None, max_length=200, description="Vendor organisation (SIREN)")
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disabled_reason: str | None = Field(default=None, max_length=500)

    @property
    def display_name(self) -> str:
        prefix = "Dr " if self.kind == AccountKind.professional and self.profession_code in {"10", "21", "40"} else ""
        return f"{prefix}{self.given_name} {self.family_name}".strip()

    @property
    def label(self) -> str:
        """How the audit trail names this account."""
        return f"account:{self.id} ({self.display_name})"

    @property
    def active(self) -> bool:
        return self.disabled_at is None

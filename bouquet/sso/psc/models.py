"""Pro Santé Connect's tables: which account a PSC identity is linked to, and the PSC tokens of each
signed-in Bouquet session (sealed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from bouquet.foundation.db import UtcDateTime, utcnow


class PscIdentity(SQLModel, table=True):
    """An account's link to PSC, by IdNat (`SubjectNameID`): made at its first PSC sign-in (audited)."""

    __tablename__ = "psc_identity"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", unique=True)
    subject_name_id: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    psc_sub: str = Field(max_length=200, description="PSC's `sub` at the link (its format is PSC's)")
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_signin_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PscSession(SQLModel, table=True):
    """The PSC side of one Bouquet sign-in (`sid`): PSC's session id and sub, and its tokens sealed
    with AES-GCM under a key derived for "psc-tokens" (the sid as associated data)."""

    __tablename__ = "psc_session"

    id: int | None = Field(default=None, primary_key=True)
    sid: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    account_id: int = Field(foreign_key="account.id", index=True)
    psc_sid: str | None = Field(default=None, max_length=200, index=True)
    psc_sub: str = Field(max_length=200, index=True)
    sealed: str = Field(sa_column=Column(Text, nullable=False))
    access_expires_at: datetime = Field(sa_type=UtcDateTime)
    refresh_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

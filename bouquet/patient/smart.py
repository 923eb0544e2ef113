"""SMART-style launch of other applications from Bouquet, with the patient in context.

    from bouquet.patient.smart import app_launch_url

    url = await app_launch_url(ctx, client_id, "https://app.example/launch")
    # → https://app.example/launch?iss=<base>/fhir&launch=<handle>   (a patient in context)
    # → https://app.example/launch                                  (no patient: unchanged)

The application then follows SMART App Launch 2 (EHR launch): it reads
`<iss>/.well-known/smart-configuration`, sends the browser to `/authorize` with scope `launch`
(and `openid fhirUser patient/Patient.read`), `launch=<handle>` and `aud=<iss>`, receives
`patient` in the token response, and reads `<iss>/Patient/<patient>` with its access token.

A handle is 256 bits of randomness of which only the SHA-256 is stored, in `app_launch`, bound to
the account, whom a secretary acts for, the patient context and the client; it lives
`LAUNCH_LIFETIME` and is consumed when the authorization code is issued (any worker can do it).

With scope `fhirUser`, the ID token's `fhirUser` claim is `<iss>/Practitioner/<IdNat_PS>`, which the
same access token reads.

The Patient resource id handed to applications is the patient context's opaque random id,
written with FHIR's id alphabet (`_` → `.`): never the NIR.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import Column, ForeignKey, String, update
from sqlmodel import Field, Session, SQLModel, col, select

from bouquet.foundation.db import UtcDateTime, utcnow
from bouquet.patient.context import PatientContextRecord, audit_ins, patient_of
from bouquet.sso.oidc.patients import (  # noqa: F401  (SMART's identifiers, re-exported for the patient layer)
    FHIR_PATH,
    LaunchRefused,
    fhir_base,
    patient_context_id_of,
    patient_resource_id,
    practitioner_id,
    practitioner_url,
)
from bouquet.sso.oidc.tokens import hash_secret, new_secret

if TYPE_CHECKING:
    from bouquet.web.context import RequestContext

LAUNCH_LIFETIME = timedelta(minutes=5)
#: Expired handles are kept this long (as the provider keeps expired tokens) before they are deleted.
KEEP_EXPIRED = timedelta(days=1)


class AppLaunch(SQLModel, table=True):
    """One launch of an application from Bouquet with the patient in context (its handle, hashed)."""

    __tablename__ = "app_launch"

    id: int | None = Field(default=None, primary_key=True)
    handle_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    client_id: str = Field(max_length=100)
    account_id: int = Field(foreign_key="account.id")
    acting_for_id: int | None = Field(default=None, foreign_key="account.id")
    patient_context_id: str = Field(sa_column=Column(String(64), ForeignKey("patient_context.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)



def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query (an existing query and fragment are kept)."""
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def create_launch(session: Session, *, client_id: str, account_id: int, acting_for_id: int | None,
                  patient_context_id: str) -> str:
    """Store a new launch in the caller's transaction; returns the handle (shown only here)."""

    handle, now = new_secret(), utcnow()
    session.add(AppLaunch(handle_hash=hash_secret(handle), client_id=client_id, account_id=account_id,
                          acting_for_id=acting_for_id, patient_context_id=patient_context_id, created_at=now,
                          expires_at=now + LAUNCH_LIFETIME))
    session.flush()
    return handle


async def app_launch_url(ctx: RequestContext, client_id: str, launch_uri: str) -> str:
    """The URL that opens application `client_id` at `launch_uri` with the patient in context.

    With a patient in context (`ctx.patient`), stores a launch handle bound to the signed-in
    account (and whom they act for), that patient context and the client, audits it
    ("smart.app_launch"), and returns `launch_uri` with `iss` and `launch` added to its query.
    Without a patient (or nobody signed in), returns `launch_uri` unchanged.
    """
    if ctx.patient is None or ctx.patient_context_id is None or ctx.account is None or ctx.account.id is None:
        return launch_uri

    account_id, acting_for_id = ctx.account.id, ctx.acting_for.id if ctx.acting_for else None
    context_id, patient_ins, audit = ctx.patient_context_id, audit_ins(ctx.patient), ctx.audit

    def store() -> str:
        with ctx.db.write() as session:
            handle = create_launch(session, client_id=client_id, account_id=account_id, acting_for_id=acting_for_id,
                                   patient_context_id=context_id)
            audit.write_in(session, "smart.app_launch", patient_ins=patient_ins, resource=f"client:{client_id}",
                           details={"patient_context": context_id})
            return handle

    handle = await ctx.db.run(store)
    return with_query(launch_uri, {"iss": fhir_base(ctx.settings.base_url), "launch": handle})


def check_launch(session: Session, handle: str, *, client_id: str, account_id: int, acting_for_id: int | None,
                 consume: bool, now: datetime | None = None) -> str:
    """The patient context id of a usable launch handle; consumes it (once, on any worker) if asked.

    Raises `LaunchRefused` for a handle unknown, expired, already used, made for another client or
    another person (or for them acting for someone else), or whose patient context was closed.
    """

    now = now or utcnow()
    row = session.exec(select(AppLaunch).where(AppLaunch.handle_hash == hash_secret(handle[:200]))).first()
    if row is None or row.client_id != client_id or row.account_id != account_id or row.acting_for_id != acting_for_id:
        raise LaunchRefused("unknown launch")
    if row.used_at is not None:
        raise LaunchRefused("launch already used")
    if row.expires_at <= now:
        raise LaunchRefused("launch expired")
    record = session.get(PatientContextRecord, row.patient_context_id)
    if record is None or record.ended_at is not None:
        raise LaunchRefused("patient context closed")
    if consume:
        done = session.execute(update(AppLaunch).where(AppLaunch.id == row.id, col(AppLaunch.used_at).is_(None))
                               .values(used_at=now)).rowcount
        if not done:
            raise LaunchRefused("launch already used")
    return row.patient_context_id



class SmartPatients:
    """The patient layer's answers to the provider (`bouquet.sso.oidc.patients.PatientBinding`)."""

    def check_launch(self, session: Session, handle: str, *, client_id: str, account_id: int,
                     acting_for_id: int | None, consume: bool) -> str:
        return check_launch(session, handle, client_id=client_id, account_id=account_id,
                            acting_for_id=acting_for_id, consume=consume)

    def label(self, session: Session, patient_context_id: str) -> str | None:
        record = session.get(PatientContextRecord, patient_context_id)
        patient = patient_of(record) if record is not None else None
        if patient is None:
            return None
        born = "née" if patient.traits.sex.value == "F" else "né"
        return f"{patient.display_name}, {born} le {patient.traits.birth_date.strftime('%d/%m/%Y')}"

    def held_by(self, session: Session, patient_context_id: str, account_id: int,
                acting_for_id: int | None) -> bool:
        record = session.get(PatientContextRecord, patient_context_id)
        return (record is not None and record.ended_at is None and record.established_by_id == account_id
                and record.acting_for_id == acting_for_id)

    def audit_ins(self, session: Session, patient_context_id: str) -> str | None:
        record = session.get(PatientContextRecord, patient_context_id)
        return record.patient_ins if record is not None else None

    def purge(self, session: Session, now: datetime) -> int:
        from sqlalchemy import delete

        return session.execute(delete(AppLaunch).where(AppLaunch.expires_at < now - KEEP_EXPIRED)).rowcount

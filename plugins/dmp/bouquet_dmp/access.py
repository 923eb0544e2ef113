"""What the DMP lets a caller see, why, and the trace of every access (CSP L. 1111-15 to L. 1111-17,
R. 1111-46; arrêté of 26 October 2023 and its matrix, `matrix`; Conseil d'État, 15 October 2025, n° 490409).

In order: a professional the patient blocked (or a secretary acting for one) is refused everything,
even in an emergency. Otherwise a caller reads the DMP only while taking care of the patient:
- a member of the care team — the médecin traitant, a professional recorded in the care team, one another
  plugin names in the patient's care team (`dmp_care_team`: e-parcours' plans), a practice software's launch
  attesting a consultation — once the patient was informed and gave the
  initial consent to the care team's access (recorded: who, when, how);
- anyone else with the patient's explicit consent at this consultation (recorded: who, when, how);
- or under an emergency access (bris de glace, or the SAMU's regulation), unless the patient opposed it.
Then each document is visible when the matrix lets the caller's profession read its type; a document
the patient masked only to its author, the médecin traitant, a professional the patient gave the same
rights, or under an emergency access. Every answer says why, in French, and the history keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bouquet.api.db import Database, utcnow
from bouquet.api.patient import PatientContext
from bouquet_dmp import matrix
from bouquet_dmp.care_team import CareTeamSource
from bouquet_dmp.display import duration
from bouquet_dmp.identity import Caller
from bouquet_dmp.models import (
    DmpAccessEvent,
    DmpBlockedProfessional,
    DmpCareRelationship,
    DmpDocument,
    DmpEmergencyAccess,
    DmpNotification,
    DmpRecord,
)

GRANTED, DENIED = "granted", "denied"
PARIS = ZoneInfo("Europe/Paris")
CARE_TEAM, CONSENT = "equipe-de-soins", "consentement"
BRIS_DE_GLACE, REGULATION = "bris-de-glace", "regulation"
CONSENT_WAYS = {"oral": "oralement", "ecrit": "par écrit", "electronique": "par voie électronique"}

NOT_PROFESSIONAL = ("Seul un professionnel qui prend en charge le patient accède au DMP (CSP L. 1111-17 III, "
                    "R. 1111-46) : un secrétaire n'y accède pas.")
NO_CARE = ("Vous ne faites pas partie de l'équipe de soins de ce patient : recueillez son consentement explicite à "
           "cette consultation pour consulter son DMP (CSP L. 1110-4 III, R. 1111-46).")
NO_INITIAL_CONSENT = ("Le patient n'a pas encore donné son consentement initial à l'accès de son équipe de soins à son DMP "
                      "(CSP R. 1111-46 ; Conseil d'État, 15 octobre 2025, n° 490409) : informez-le et recueillez-le.")


@dataclass(frozen=True)
class Standing:
    """Where a caller stands with one patient's DMP right now, and why."""

    blocked: bool
    emergency_until: datetime | None
    care: str | None = None
    care_refusal: str | None = None
    masked_rights: bool = False
    emergency_mode: str | None = None

    @property
    def emergency(self) -> bool:
        return self.emergency_until is not None

    @property
    def may_read(self) -> bool:
        return not self.blocked and (self.care is not None or self.emergency)

    @property
    def why(self) -> str:
        """The answer to « why may I read this? » for the history."""
        if self.emergency:
            return ("accès en urgence (régulation SAMU – centre 15)" if self.emergency_mode == REGULATION
                    else "accès en urgence (bris de glace)")
        return self.care or (self.care_refusal or "")


def _day_end(now: datetime) -> datetime:
    return now.astimezone(PARIS).replace(hour=23, minute=59, second=59, microsecond=0)


def standing_of(session: Session, caller: Caller, care_team: CareTeamSource | None = None) -> Standing:
    return standings_of(session, [caller], care_team)[caller.patient]


def standings_of(session: Session, callers: list[Caller], care_team: CareTeamSource | None = None) -> dict[str, Standing]:
    """Where each caller stands, by patient ('<oid>|<matricule>'): one caller, several patients, four queries
    (and what `care_team`, the other plugins' care teams, answers for them)."""
    if not callers:
        return {}
    first, patients = callers[0], [caller.patient for caller in callers]
    idnats = [idnat for idnat in (first.idnat, first.for_idnat) if idnat]
    blocked = set(session.exec(select(DmpBlockedProfessional.patient_ins).where(
        col(DmpBlockedProfessional.patient_ins).in_(patients),
        col(DmpBlockedProfessional.idnat_ps).in_(idnats))).all()) if idnats else set()
    emergencies: dict[str, DmpEmergencyAccess] = {}
    relations: dict[str, list[DmpCareRelationship]] = {}
    records: dict[str, DmpRecord] = {}
    teams: dict[str, str] = {}
    if first.idnat and first.kind == "professional":
        for found in session.exec(select(DmpEmergencyAccess).where(
                col(DmpEmergencyAccess.patient_ins).in_(patients), DmpEmergencyAccess.idnat_ps == first.idnat,
                DmpEmergencyAccess.expires_at > utcnow()).order_by(col(DmpEmergencyAccess.expires_at))):
            emergencies[found.patient_ins] = found  # the latest ending wins
        for relation in session.exec(select(DmpCareRelationship).where(
                col(DmpCareRelationship.patient_ins).in_(patients), DmpCareRelationship.idnat_ps == first.idnat)):
            relations.setdefault(relation.patient_ins, []).append(relation)
        records = {record.patient_ins: record for record in session.exec(
            select(DmpRecord).where(col(DmpRecord.patient_ins).in_(patients)))}
        if care_team is not None:
            teams = care_team(session, patients, first.idnat)
    return {caller.patient: _standing(caller, caller.patient in blocked, emergencies.get(caller.patient),
                                      records.get(caller.patient), relations.get(caller.patient, []),
                                      teams.get(caller.patient))
            for caller in callers}


def _standing(caller: Caller, blocked: bool, emergency: DmpEmergencyAccess | None, record: DmpRecord | None,
              relations: list[DmpCareRelationship], team_elsewhere: str | None = None) -> Standing:
    now = utcnow()
    until, mode = (emergency.expires_at, emergency.mode) if emergency is not None else (None, None)
    if caller.kind != "professional" or not caller.idnat:
        return Standing(blocked, until, care_refusal=NOT_PROFESSIONAL, emergency_mode=mode)
    current = [r for r in relations if r.valid_until is None or r.valid_until > now]
    masked_rights = any(r.masked_rights for r in relations)
    consent = next((r for r in current if r.basis == CONSENT), None)
    team = None
    if record is not None and record.medecin_traitant_idnat == caller.idnat:
        team, masked_rights = "médecin traitant", True
    elif any(r.basis == CARE_TEAM for r in current):
        team = "membre de l'équipe de soins"
    elif team_elsewhere:
        team = team_elsewhere
    elif caller.attested_care:
        team = "équipe de soins : consultation attestée par le logiciel du professionnel"
    if team is not None and record is not None and record.care_team_consent_at is not None:
        care = (f"{team} ; patient informé, consentement initial recueilli le "
                f"{record.care_team_consent_at.astimezone(PARIS):%d/%m/%Y} par {record.care_team_consent_by}")
        return Standing(blocked, until, care=care, masked_rights=masked_rights, emergency_mode=mode)
    if consent is not None:
        care = (f"consentement du patient recueilli {CONSENT_WAYS.get(consent.how, consent.how)} le "
                f"{consent.recorded_at.astimezone(PARIS):%d/%m/%Y à %H:%M} par {consent.recorded_by}")
        return Standing(blocked, until, care=care, masked_rights=masked_rights, emergency_mode=mode)
    refusal = NO_INITIAL_CONSENT if team is not None else NO_CARE
    return Standing(blocked, until, care_refusal=refusal, masked_rights=masked_rights, emergency_mode=mode)


def decide(document: DmpDocument, caller: Caller, standing: Standing) -> tuple[bool, str]:
    """Whether `caller` may see `document` (its metadata and its content), and why not, in French."""
    if standing.blocked or document.patient_ins != caller.patient:
        return False, "accès refusé par le patient"
    if not standing.may_read:
        return False, standing.care_refusal or NO_CARE
    answer = matrix.decide(caller.matrix_profession, document.type_code)
    if not answer.allowed:
        return False, answer.reason
    if document.masked and not (standing.emergency or standing.masked_rights
                                or (caller.idnat is not None and caller.idnat == document.author_idnat)):
        return False, "document masqué par le patient"
    return True, answer.reason


def visible(document: DmpDocument, caller: Caller, standing: Standing) -> bool:
    return decide(document, caller, standing)[0]


def grant_emergency(session: Session, caller: Caller, reason: str, minutes: int,
                    mode: str = BRIS_DE_GLACE) -> DmpEmergencyAccess:
    """Record an emergency access for `caller` (a professional), and tell the patient and the médecin traitant.
    The caller checked the patient's opposition first (`opposed`)."""
    assert caller.idnat is not None
    now = utcnow()
    access = DmpEmergencyAccess(patient_ins=caller.patient, idnat_ps=caller.idnat, actor_name=caller.name,
                                reason=reason, granted_at=now, expires_at=now + timedelta(minutes=minutes), mode=mode)
    session.add(access)
    session.flush()
    what = "en régulation (SAMU – centre 15)" if mode == REGULATION else "en urgence (bris de glace)"
    body = (f"{caller.name} a accédé {what} au DMP le {now.astimezone(PARIS):%d/%m/%Y à %H:%M}, "
            f"pour {duration(minutes)}. Motif : {reason}")
    session.add(DmpNotification(patient_ins=caller.patient, recipient="patient", subject=f"Accès {what} à votre DMP",
                                body=body, emergency_access_id=access.id, created_at=now))
    record = session.get(DmpRecord, caller.patient)
    if record is not None and record.medecin_traitant_idnat and record.medecin_traitant_idnat != caller.idnat:
        patient = PatientContext.from_dict(record.patient)
        session.add(DmpNotification(patient_ins=caller.patient, recipient="medecin-traitant",
                                    recipient_idnat=record.medecin_traitant_idnat,
                                    subject=f"Accès {what} au DMP de votre patient {patient.display_name}"[:200], body=body,
                                    emergency_access_id=access.id, created_at=now))
    return access


def opposed(record: DmpRecord, mode: str) -> bool:
    return record.regulation_opposed if mode == REGULATION else record.emergency_opposed


def record_consent(session: Session, caller: Caller, how: str, *, care_team: bool = False) -> str:
    """Record the patient's consent given to `caller` now: for this consultation, or (care team) the initial consent
    to the care team's access. Returns what was recorded, in French."""
    assert caller.idnat is not None and how in CONSENT_WAYS
    now = utcnow()
    if care_team:
        record = session.get(DmpRecord, caller.patient)
        assert record is not None
        record.care_team_informed_at = record.care_team_informed_at or now
        record.care_team_consent_at, record.care_team_consent_by, record.care_team_consent_how = now, caller.name[:200], how
        session.add(record)
        return f"information et consentement initial à l'accès de l'équipe de soins, recueillis {CONSENT_WAYS[how]}"
    session.add(DmpCareRelationship(patient_ins=caller.patient, idnat_ps=caller.idnat, basis=CONSENT,
                                    recorded_by=caller.name[:200], recorded_at=now, how=how, valid_until=_day_end(now)))
    return f"consentement à cette consultation, recueilli {CONSENT_WAYS[how]}"


def trace(session: Session, caller: Caller, transaction: str, outcome: str, *, document_id: str | None = None,
          emergency: bool = False, detail: str | None = None, basis: str | None = None) -> None:
    """Add one line to the patient's access history (inside the caller's transaction)."""
    session.add(DmpAccessEvent(
        patient_ins=caller.patient, actor_idnat=caller.idnat, actor_name=caller.name[:200],
        actor_profession=caller.matrix_profession, acting_for_name=caller.for_name, transaction=transaction,
        document_id=document_id, outcome=outcome, emergency=emergency, detail=(detail or None) and detail[:500],
        basis=(basis or None) and basis[:300]))


def history(session: Session, patient_ins: str, limit: int = 200) -> list[DmpAccessEvent]:
    """The patient's access history, most recent first."""
    return list(session.exec(select(DmpAccessEvent).where(DmpAccessEvent.patient_ins == patient_ins)
                             .order_by(col(DmpAccessEvent.at).desc(), col(DmpAccessEvent.id).desc()).limit(limit)).all())


def notifications(session: Session, patient_ins: str) -> list[DmpNotification]:
    return list(session.exec(select(DmpNotification).where(DmpNotification.patient_ins == patient_ins)
                             .order_by(col(DmpNotification.created_at).desc(), col(DmpNotification.id).desc())).all())


def notifications_for(db: Database, idnat_ps: str, since: datetime, limit: int = 20) -> list[DmpNotification]:
    """What the médecin traitant `idnat_ps` was told since `since` (the home page shows it), most recent first."""
    with db.session() as session:
        return list(session.exec(select(DmpNotification).where(DmpNotification.recipient_idnat == idnat_ps,
                                                               DmpNotification.created_at >= since)
                                 .order_by(col(DmpNotification.created_at).desc()).limit(limit)).all())


# --- the patient's choices (made in their own space; here for the demo, the tests and operators) ---

def _record(session: Session, patient_ins: str) -> DmpRecord:
    record = session.get(DmpRecord, patient_ins)
    if record is None:
        raise KeyError(patient_ins)
    return record


def set_medecin_traitant(db: Database, patient_ins: str, idnat_ps: str | None) -> None:
    with db.write() as session:
        record = _record(session, patient_ins)
        record.medecin_traitant_idnat = idnat_ps
        session.add(record)


def set_opposition(db: Database, patient_ins: str, *, emergency: bool | None = None, regulation: bool | None = None) -> None:
    with db.write() as session:
        record = _record(session, patient_ins)
        if emergency is not None:
            record.emergency_opposed = emergency
        if regulation is not None:
            record.regulation_opposed = regulation
        session.add(record)


def add_to_care_team(db: Database, patient_ins: str, idnat_ps: str, recorded_by: str, *, masked_rights: bool = False) -> None:
    """The patient's care team now includes `idnat_ps` (`masked_rights`: with the médecin traitant's rights on masked documents)."""
    with db.write() as session:
        session.add(DmpCareRelationship(patient_ins=patient_ins, idnat_ps=idnat_ps, basis=CARE_TEAM,
                                        recorded_by=recorded_by[:200], how="ecrit", masked_rights=masked_rights))


def record_initial_consent(db: Database, patient_ins: str, recorded_by: str, how: str = "ecrit") -> None:
    with db.write() as session:
        record = _record(session, patient_ins)
        record.care_team_informed_at = record.care_team_consent_at = utcnow()
        record.care_team_consent_by, record.care_team_consent_how = recorded_by[:200], how
        session.add(record)


def block(db: Database, patient_ins: str, idnat_ps: str) -> None:
    with db.write() as session:
        exists = session.exec(select(DmpBlockedProfessional).where(
            DmpBlockedProfessional.patient_ins == patient_ins, DmpBlockedProfessional.idnat_ps == idnat_ps)).first()
        if exists is None:
            session.add(DmpBlockedProfessional(patient_ins=patient_ins, idnat_ps=idnat_ps))


def unblock(db: Database, patient_ins: str, idnat_ps: str) -> None:
    with db.write() as session:
        for row in session.exec(select(DmpBlockedProfessional).where(
                DmpBlockedProfessional.patient_ins == patient_ins, DmpBlockedProfessional.idnat_ps == idnat_ps)):
            session.delete(row)


def mask(db: Database, document_id: str, masked: bool = True) -> None:
    with db.write() as session:
        document = session.get(DmpDocument, document_id)
        if document is None:
            raise KeyError(document_id)
        document.masked = masked
        session.add(document)

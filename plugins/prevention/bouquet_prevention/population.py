"""A professional's patients and where each stands: what the population view « Prévention — mes
patients » and its CSV export show.

A professional's patients are those they declared (médecin traitant: table `prevention_patient`,
fed by `bouquet prevention patients import` and the demo data) and those whose context they
opened in the portal (core table `patient_context`: established by them, or by a secretary
acting for them). Everything is read in bulk (a handful of queries for 10,000 patients) and
evaluated in one pass; the functions taking a `Session` are blocking.

The acts are those recorded in the portal and, passed in as `external`, those other plugins hold
(`prevention_external_acts_bulk`, e.g. the DMP's vaccination records, asked once for the whole
list by the page, keyed by '<oid>|<matricule>' as `ListedPatient.ins`). Conditions are those the
practice software sent with a patient it launched (coded, in the stored context) and those
professionals declared (`prevention_condition`, read in bulk); other plugins' conditions
come through `prevention_conditions_bulk` (one call for the list), passed in as `external_conditions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlmodel import Session

from bouquet.api.db import utcnow
from bouquet.api.patient import PatientContext, PatientContextRecord
from bouquet_prevention.condition_declarations import declared_reported_by_patient
from bouquet_prevention.conditions import reported_of_codings
from bouquet_prevention.engine import (
    Act,
    Engine,
    Outcome,
    PatientFacts,
    Status,
    index_acts,
)
from bouquet_prevention.history import acts_by_patient
from bouquet_prevention.models import DeclaredPatient
from bouquet_prevention.pregnancy import Reported, resolve

__all__ = ["DECLARED", "OPENED", "STATUS_FILTERS", "ListedPatient", "PopulationRow", "declare", "evaluate",
           "patients_of"]

DECLARED, OPENED = "medecin-traitant", "ouvert"
RELATION_LABELS = {DECLARED: "Médecin traitant", OPENED: "Dossier ouvert"}
#: The status filter's values: "" is what needs doing now (due or overdue).
STATUS_FILTERS: dict[str, frozenset[Status]] = {
    "": frozenset({Status.DUE, Status.OVERDUE}),
    "overdue": frozenset({Status.OVERDUE}),
    "due": frozenset({Status.DUE}),
    "upcoming": frozenset({Status.UPCOMING}),
}


@dataclass(frozen=True, slots=True)
class ListedPatient:
    """One patient of the list, with the traits the rules and the screen need."""

    ins: str  # '<oid>|<matricule>'
    birth_name: str
    given_names: tuple[str, ...]
    birth_date: date
    sex: str
    relations: frozenset[str]
    traits: dict[str, Any]  # PatientContext.to_dict(), to open the patient from the list
    conditions: frozenset[str] = frozenset()  # coded by the practice software's launch
    pregnancy_starts: tuple[date, ...] = ()   # a pregnancy's start the launch dated

    @property
    def display_name(self) -> str:
        return f"{self.birth_name} {' '.join(name.title() for name in self.given_names)}"

    @property
    def matricule(self) -> str:
        return self.ins.partition("|")[2]

    @property
    def ins_shareable(self) -> bool:
        """Whether the INS may leave the portal (a file, the audit trail): only for a qualified
        identity (RNIV; `bouquet.api.patient`). A patient declared from a file without
        `identity_status`, or opened with another status, is named by traits instead."""
        return self.traits.get("identity_status") == "qualifiee"


@dataclass(frozen=True, slots=True)
class PopulationRow:
    """One patient and one rule that concerns them now."""

    patient: ListedPatient
    outcome: Outcome

    @property
    def date(self) -> date | None:
        return self.outcome.since or self.outcome.when


def _listed(ins: str, traits: dict[str, Any], relation: str) -> ListedPatient | None:
    try:
        given = traits["given_names"]
        coded = _coded_conditions(traits)
        return ListedPatient(ins, str(traits["birth_name"]), tuple(given) if isinstance(given, list) else (str(given),),
                             date.fromisoformat(traits["birth_date"]), str(traits["sex"]), frozenset({relation}),
                             traits, coded.codes, coded.starts)
    except (KeyError, TypeError, ValueError):
        return None  # the stored traits were validated when written; an unreadable row is left out


def _coded_conditions(traits: dict[str, Any]) -> Reported:
    """The catalogue conditions among the codes a launch stored with the patient (`conditions`), with
    a dated pregnancy's start."""
    coded = traits.get("conditions")
    if not isinstance(coded, list) or not coded:
        return Reported()
    return reported_of_codings((c["system"], c["code"]) for c in coded
                               if isinstance(c, dict) and isinstance(c.get("system"), str)
                               and isinstance(c.get("code"), str))


def patients_of(session: Session, professional_id: int) -> list[ListedPatient]:
    """The professional's patients (declared, or opened by them or for them), each once, by name."""
    found: dict[str, ListedPatient] = {}
    connection = session.connection()  # plain rows: the ORM's per-row work would double the time
    mine, contexts = DeclaredPatient.__table__, PatientContextRecord.__table__  # type: ignore[attr-defined]
    declared = connection.execute(select(mine.c.patient_ins, mine.c.patient)
                                  .where(mine.c.professional_id == professional_id)).all()
    for ins, traits in declared:
        listed = _listed(ins, traits, DECLARED)
        if listed is not None:
            found[ins] = listed
    opened = connection.execute(
        select(contexts.c.patient_ins, contexts.c.patient)
        .where(or_(contexts.c.acting_for_id == professional_id,
                   and_(contexts.c.established_by_id == professional_id, contexts.c.acting_for_id.is_(None))))
        .order_by(contexts.c.established_at.desc())).all()
    for ins, traits in opened:
        known = found.get(ins)
        if known is not None:
            coded = _coded_conditions(traits)
            conditions = known.conditions | coded.codes
            starts = tuple(sorted({*known.pregnancy_starts, *coded.starts}))
            if OPENED not in known.relations or conditions != known.conditions or starts != known.pregnancy_starts:
                found[ins] = ListedPatient(known.ins, known.birth_name, known.given_names, known.birth_date, known.sex,
                                           known.relations | {OPENED}, known.traits, conditions, starts)
            continue
        listed = _listed(ins, traits, OPENED)
        if listed is not None:
            found[ins] = listed
    return sorted(found.values(), key=lambda p: (p.birth_name, p.given_names, p.birth_date, p.ins))


def evaluate(session: Session, engine: Engine, patients: Sequence[ListedPatient], on: date,
             statuses: frozenset[Status], rule_id: str = "",
             external: Mapping[str, Sequence[Act]] | None = None,
             external_conditions: Mapping[str, Reported | Iterable[str]] | None = None) -> list[PopulationRow]:
    """Every (patient, rule) whose status is in `statuses` (and whose rule is `rule_id`, if given):
    overdue first, then by date, then by name. The acts of all the patients are read at once;
    `external` adds acts held elsewhere, by `ListedPatient.ins`; `external_conditions` other plugins'
    conditions (codes, or `Reported` with a pregnancy's start). A pregnancy's term: a declaration's
    first, then the launch's, then another plugin's (`pregnancy.resolve`, on `on`)."""
    acts = acts_by_patient(session, (patient.ins for patient in patients))
    declared = declared_reported_by_patient(session, (patient.ins for patient in patients))
    others = {ins: value if isinstance(value, Reported) else Reported.of(value)
              for ins, value in (external_conditions or {}).items()}
    for ins, more in (external or {}).items():
        if ins in acts:
            acts[ins] = [*acts[ins], *more]
    rows: list[PopulationRow] = []
    keys: list[tuple[bool, date]] = []
    overdue = Status.OVERDUE
    for patient in patients:
        mine, theirs = declared.get(patient.ins), others.get(patient.ins)
        if mine is None and theirs is None and not patient.pregnancy_starts:
            facts = PatientFacts(patient.birth_date, patient.sex, patient.conditions)
        else:
            conditions, start = resolve([mine or Reported(), Reported(patient.conditions, patient.pregnancy_starts),
                                         theirs or Reported()], on)
            facts = PatientFacts(patient.birth_date, patient.sex, conditions, start)
        for outcome in engine.evaluate(facts, index_acts(acts[patient.ins]), on):
            if outcome.status in statuses and (not rule_id or outcome.rule.id == rule_id):
                rows.append(PopulationRow(patient, outcome))
                keys.append((outcome.status is not overdue, outcome.since or outcome.when or date.max))
    # A stable sort on precomputed keys: patients stay by name within a date.
    return [rows[i] for i in sorted(range(len(rows)), key=keys.__getitem__)]


def declare(session: Session, professional_id: int, patients: Iterable[PatientContext],
            relation: str = DECLARED) -> tuple[int, int]:
    """Declare `patients` as the professional's (insert, or refresh the traits of those already there),
    in the caller's transaction; returns (added, updated)."""
    wanted = {f"{p.ins.oid}|{p.ins.matricule}": p for p in patients}
    table = DeclaredPatient.__table__  # type: ignore[attr-defined]
    existing = dict(session.connection().execute(select(table.c.patient_ins, table.c.id)
                                                 .where(table.c.professional_id == professional_id)).all())
    now = utcnow()
    new = [{"professional_id": professional_id, "patient_ins": ins, "patient": _traits(p), "relation": relation,
            "declared_at": now} for ins, p in wanted.items() if ins not in existing]
    changed = [{"row_id": existing[ins], "patient": _traits(p), "relation": relation}
               for ins, p in wanted.items() if ins in existing]
    if new:
        session.execute(insert(DeclaredPatient), new)
    if changed:
        session.connection().execute(
            update(table).where(table.c.id == bindparam("row_id"))
            .values(patient=bindparam("patient"), relation=bindparam("relation")), changed)
    return len(new), len(changed)


def _traits(patient: PatientContext) -> dict[str, Any]:
    traits = patient.to_dict()
    traits.pop("established_at", None)
    traits["source"] = "prevention"
    return traits

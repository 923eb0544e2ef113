"""Fictitious patients for development and demonstrations, with test INS (OID 1.2.250.1.213.1.4.10).

The patient page's test form offers them, and plugins may reuse them for their own demonstration
data (a DMP document, a pathway, a prevention alert), so their INS never change: the birth dates
are fixed, and ages therefore move with the calendar. On 28 November 2026 they are 66 (MARTIN, in
the organised-screening and vaccination age ranges), 7 (MOREAU-LEROY, a child), 84, 41 and 33.
The keys are computed, never typed, and the traits agree with the matricule (sex, year and month
of birth, birthplace), as the INS rules require.
"""

from __future__ import annotations

from datetime import date

from bouquet.patient.ins import OID_NIR_TEST, Ins, with_key
from bouquet.patient.model import PatientContext, PatientTraits

__all__ = ["DEMO_PATIENTS", "DEMO_SOURCE", "by_matricule"]

#: The `source` of a context opened from this list.
DEMO_SOURCE = "demo"


def _patient(first13: str, birth_name: str, given_names: str, birth_date: date, sex: str,
             birthplace: str) -> PatientContext:
    traits = PatientTraits(birth_name, given_names, birth_date, sex, birthplace)  # type: ignore[arg-type]
    # Fictitious identities, treated as qualified so that every feature can be shown with them.
    return PatientContext(Ins(with_key(first13), OID_NIR_TEST), traits, source=DEMO_SOURCE, identity_status="qualifiee")


#: Five fictitious patients; every INS is a test INS (never a real person's).
DEMO_PATIENTS: tuple[PatientContext, ...] = (
    # Woman born in Lyon (69123).
    _patient("2601069123045", "MARTIN", "MARIE CLAIRE", date(1960, 10, 2), "F", "69123"),
    # Boy born in Nantes (44109); a double-barrelled birth name.
    _patient("1190444109231", "MOREAU-LEROY", "LUCAS ADAM", date(2019, 4, 17), "M", "44109"),
    # Man born in Paris 14e (75114), three first names.
    _patient("1420175114087", "LEFEBVRE", "JEAN PIERRE ANDRE", date(1942, 1, 25), "M", "75114"),
    # Woman born in Ajaccio (2A004): the Corsican department in the key computation.
    _patient("285072A004112", "SANTONI", "ANTONIA", date(1985, 7, 8), "F", "2A004"),
    # Woman born in Senegal (99341): a birth abroad, an apostrophe in the name.
    _patient("2930399341019", "N'DIAYE", "AMINATA FATOU", date(1993, 3, 30), "F", "99341"),
)


def by_matricule(matricule: str) -> PatientContext | None:
    """The demonstration patient with this 15-character test matricule, or None."""
    return next((patient for patient in DEMO_PATIENTS if patient.ins.matricule == matricule), None)

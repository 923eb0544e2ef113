"""How the patient in context reads on screen, in French: the banner's words, dates and numbers.

Dates and times are those of metropolitan France, where the portal's users work; the INS is
grouped as on a carte Vitale (1 85 05 78 006 084 91) so that it can be read aloud and compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from bouquet.foundation.times import PARIS, format_datetime
from bouquet.patient.ins import OID_NIR_DEMO
from bouquet.patient.model import IDENTITY_STATUSES, PatientContext, Sex

__all__ = ["PARIS", "PatientDisplay", "age_label", "group_matricule", "patient_display"]

_WORD = re.compile(r"[A-Z]+")

# Where a context came from, for the sources the core itself uses; others are client names.
SOURCE_LABELS = {
    "manual": "saisie manuelle",
    "demo": "patient de démonstration",
}


@dataclass(frozen=True, repr=False)  # reprs reach logs and tracebacks: no patient data in them
class PatientDisplay:
    """Every piece of the banner, ready to print."""

    birth_name: str
    given_names: str
    short_name: str
    sex_label: str
    born_label: str
    age_label: str
    ins: str
    ins_kind: str
    oid: str
    oid_label: str
    fictitious_label: str | None
    birthplace_label: str | None
    source_label: str
    established_label: str | None
    identity_status_label: str = "Statut de l'identité non transmis"
    ins_shared: bool = False


def patient_display(patient: PatientContext, today: date | None = None) -> PatientDisplay:
    """The banner's words for `patient`; ages are counted on `today` (default: today in Paris)."""
    traits, ins = patient.traits, patient.ins
    today = today or datetime.now(PARIS).date()
    female = traits.sex is Sex.FEMALE
    fictitious = None
    if ins.is_test:
        fictitious = "Patient fictif : INS de démonstration" if ins.oid == OID_NIR_DEMO else "Patient fictif : INS de test"
    return PatientDisplay(
        birth_name=traits.birth_name,
        given_names=" ".join(_first_name_case(name) for name in traits.given_names),
        short_name=patient.display_name,
        sex_label="Féminin" if female else "Masculin",
        born_label=f"{'Née' if female else 'Né'} le {traits.birth_date:%d/%m/%Y}",
        age_label=age_label(traits.birth_date, today),
        ins=group_matricule(ins.matricule),
        ins_kind=ins.kind,
        oid=ins.oid,
        oid_label=ins.label,
        fictitious_label=fictitious,
        birthplace_label=_birthplace(traits.birthplace, female),
        source_label=SOURCE_LABELS.get(patient.source, patient.source),
        established_label=_when(patient.established_at),
        identity_status_label=IDENTITY_STATUSES.get(patient.identity_status or "", "Statut de l'identité non transmis"),
        ins_shared=patient.ins_shareable,
    )


def age_label(born: date, today: date) -> str:
    """In years from two years old ("66 ans"), in months before ("18 mois", "moins d'un mois")."""
    if today < born:
        return "date de naissance à venir"
    months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
    if months >= 24:
        return f"{months // 12} ans"
    if months >= 1:
        return f"{months} mois"
    return "moins d'un mois"


def group_matricule(matricule: str) -> str:
    """The 15 characters grouped as sex, year, month, department, commune, order, key."""
    parts = (matricule[0], matricule[1:3], matricule[3:5], matricule[5:7], matricule[7:10], matricule[10:13],
             matricule[13:])
    return " ".join(parts)


def _first_name_case(name: str) -> str:
    # INS first names are in capitals; "JEAN-PIERRE" reads better as "Jean-Pierre".
    return _WORD.sub(lambda match: match.group().capitalize(), name)


def _birthplace(code: str | None, female: bool) -> str | None:
    if code is None:
        return None
    if code.startswith("99"):
        return f"{'Née' if female else 'Né'} à l'étranger (pays, code INSEE {code})"
    return f"Commune de naissance : code INSEE {code}"


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return f"le {format_datetime(moment)}"

"""The test-patient form of the patient page: open a fictitious patient by their INS, for
development and demonstrations.

It accepts only the test and demonstration authorities (OID …4.10 and …4.11): a real patient
comes from the practice software, never from typing. Every field is checked on its own, so that
each error shows next to its field at once, then the whole context (traits against matricule).
"""

from __future__ import annotations

import re
from typing import Any

from bouquet.patient import demo as demo_patients
from bouquet.patient.ins import OID_LABELS, OID_NIR_DEMO, OID_NIR_TEST, Ins, InsError
from bouquet.patient.model import (
    PatientContext,
    PatientContextError,
    Sex,
    normalise_name,
)

__all__ = ["FIELDS", "TEST_OIDS", "parse"]

#: The authorities this form accepts, with their French labels.
TEST_OIDS = {oid: OID_LABELS[oid] for oid in (OID_NIR_TEST, OID_NIR_DEMO)}
#: The form's fields, in the order they are shown.
FIELDS = ("demo", "ins", "oid", "birth_name", "given_names", "birth_date", "sex", "birthplace")
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse(values: dict[str, str]) -> tuple[PatientContext | None, dict[str, str]]:
    """The patient the form describes and no errors, or None and French errors by field name.

    `demo` (a matricule of `bouquet.patient.demo`) picks a demonstration patient and the other
    fields are ignored; otherwise the fields describe the patient.
    """
    if values.get("demo"):
        patient = demo_patients.by_matricule(values["demo"])
        return (patient, {}) if patient else (None, {"demo": "Choisissez un patient dans la liste."})
    errors: dict[str, str] = {}
    oid = values.get("oid", "")
    if oid not in TEST_OIDS:
        errors["oid"] = ("Ce formulaire n'ouvre que des patients fictifs : choisissez l'autorité « NIR de test » "
                         "ou « NIR de démonstration ». Un vrai patient s'ouvre depuis votre logiciel métier.")
    _check(errors, "ins", lambda: Ins.parse(values.get("ins"), oid if oid in TEST_OIDS else OID_NIR_TEST))
    _check(errors, "birth_name", lambda: normalise_name(values.get("birth_name", ""), "birth_name"))
    given_names = values.get("given_names", "").split()
    if not given_names:
        errors["given_names"] = "Saisissez au moins un prénom."
    for name in given_names:
        _check(errors, "given_names", lambda name=name: normalise_name(name, "given_names"))
    _check(errors, "sex", lambda: Sex.parse(values.get("sex", "")))
    birth_date = _iso_date(values.get("birth_date", ""))
    if not birth_date:
        errors["birth_date"] = "Saisissez la date de naissance (JJ/MM/AAAA)."
    if errors:
        return None, errors
    payload: dict[str, Any] = {**values, "birth_date": birth_date, "source": None}
    try:
        return PatientContext.from_dict(payload), {}
    except PatientContextError as error:
        # Whatever the context still refuses (date, birthplace, traits against matricule) names its field.
        return None, {error.field if error.field in FIELDS else "ins": error.message}


def _check(errors: dict[str, str], field: str, validate: Any) -> None:
    try:
        validate()
    except InsError as error:
        errors.setdefault(error.field if error.field in FIELDS else field, error.message)


def _iso_date(value: str) -> str:
    """"AAAA-MM-JJ" as a date field sends it, or from "JJ/MM/AAAA" as a person types it."""
    value = value.strip()
    match = _FRENCH_DATE.fullmatch(value)
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return value

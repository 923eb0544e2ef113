"""Conditions a patient has, from coded problem lists: FHIR `Condition` resources (CDS Hooks
prefetch, a FHIR Bundle at the command line) and codings sent by the practice software's launch,
mapped to the catalogue's condition codes through `data/conditions.yaml` (ICD-10 categories by
prefix, SNOMED CT concepts exactly, Bouquet's own code system `urn:bouquet:prevention:condition`).

A pregnancy's term comes with them (`pregnancy.py`): from a launch, a coding of
`urn:bouquet:prevention:grossesse:date-debut` or `…:date-prevue-accouchement` whose code is the day
(YYYY-MM-DD); from FHIR, the `onsetDateTime` (or `onsetPeriod.start`) of a Condition that means
`grossesse`, read as the start of the pregnancy (« date de début de grossesse », not the last
menstrual period). A date that is not a full day is ignored (the pregnancy then has no term).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bouquet_prevention.catalogue import Catalogue, default_catalogue
from bouquet_prevention.pregnancy import DUE_SYSTEM, GROSSESSE, START_SYSTEM, Reported, start_from_due

__all__ = ["CONDITION_SYSTEM", "ICD10_SYSTEMS", "SNOMED_SYSTEM", "ConditionCodes", "conditions_of_fhir",
           "default_condition_codes", "full_day", "reported_of_codings", "reported_of_fhir"]

CONDITIONS_FILE = Path(__file__).parent / "data" / "conditions.yaml"
#: Bouquet's own condition codes as a FHIR code system (the code is the catalogue's condition code).
CONDITION_SYSTEM = "urn:bouquet:prevention:condition"
SNOMED_SYSTEM = "http://snomed.info/sct"
ICD10_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-fr",
                           "urn:oid:2.16.840.1.113883.6.3", "urn:oid:1.2.250.1.213.2.33"})
#: A Condition in one of these clinical statuses is not (or no longer) the patient's.
_INACTIVE = frozenset({"inactive", "remission", "resolved"})
_REFUTED = frozenset({"refuted", "entered-in-error"})


@dataclass(frozen=True)
class ConditionCodes:
    """The codings that mean each condition of the catalogue."""

    icd10: Mapping[str, str]   # normalised code prefix -> condition
    snomed: Mapping[str, str]  # concept id -> condition
    known: frozenset[str]

    def condition_for(self, system: str, code: str) -> str | None:
        """The catalogue's condition a coding means, or None."""
        code = code.strip()
        if system == CONDITION_SYSTEM:
            return code if code in self.known else None
        if system == SNOMED_SYSTEM:
            return self.snomed.get(code)
        if system in ICD10_SYSTEMS:
            normalised = code.upper().replace(".", "")
            for length in range(len(normalised), 2, -1):  # the longest prefix wins (Z92.6 before Z92)
                if (found := self.icd10.get(normalised[:length])) is not None:
                    return found
        return None

    def conditions_for(self, codings: Iterable[Mapping[str, Any]]) -> set[str]:
        found = set()
        for coding in codings:
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str) and (c := self.condition_for(system, code)):
                found.add(c)
        return found


def load_condition_codes(path: Path, catalogue: Catalogue) -> ConditionCodes:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    icd10: dict[str, str] = {}
    snomed: dict[str, str] = {}
    for condition, entry in (raw.get("conditions") or {}).items():
        if condition not in catalogue.conditions:
            continue  # a proposal for rules to come
        for code in entry.get("icd10") or ():
            icd10.setdefault(str(code).upper().replace(".", ""), condition)
        for code in entry.get("snomed") or ():
            snomed.setdefault(str(code), condition)
    return ConditionCodes(icd10, snomed, frozenset(catalogue.conditions))


@cache
def default_condition_codes() -> ConditionCodes:
    return load_condition_codes(CONDITIONS_FILE, default_catalogue())


def full_day(value: Any) -> date | None:
    """The day of "YYYY-MM-DD" or a FHIR dateTime starting with it; None for anything else."""
    if not isinstance(value, str) or len(value) < 10 or (len(value) > 10 and value[10] != "T"):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def reported_of_codings(pairs: Iterable[tuple[str, str]], codes: ConditionCodes | None = None) -> Reported:
    """What a launch's (system, code) pairs say: conditions, and the dated pregnancy's start."""
    codes = codes or default_condition_codes()
    found: set[str] = set()
    starts: list[date] = []
    for system, code in pairs:
        if system in (START_SYSTEM, DUE_SYSTEM):
            if (day := full_day(code.strip())) is not None and len(code.strip()) == 10:
                starts.append(day if system == START_SYSTEM else start_from_due(day))
            else:
                found.add(GROSSESSE)  # a pregnancy all the same, its term unreadable
        elif (condition := codes.condition_for(system, code)) is not None:
            found.add(condition)
    return Reported.of(found, starts)


def reported_of_fhir(resources: Iterable[Any], codes: ConditionCodes | None = None) -> Reported:
    """The catalogue's conditions among FHIR Condition resources (active, not refuted or entered in
    error), and the start of a pregnancy Condition that has an onset."""
    codes = codes or default_condition_codes()
    found: set[str] = set()
    starts: list[date] = []
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("resourceType") != "Condition":
            continue
        if _status(resource, "clinicalStatus") in _INACTIVE or _status(resource, "verificationStatus") in _REFUTED:
            continue
        code = resource.get("code")
        if isinstance(code, dict) and isinstance(code.get("coding"), list):
            these = codes.conditions_for(c for c in code["coding"] if isinstance(c, dict))
            found |= these
            if GROSSESSE in these:
                period = resource.get("onsetPeriod")
                onset = full_day(resource.get("onsetDateTime")) or (
                    full_day(period.get("start")) if isinstance(period, dict) else None)
                if onset is not None:
                    starts.append(onset)
    return Reported.of(found, starts)


def conditions_of_fhir(resources: Iterable[Any], codes: ConditionCodes | None = None) -> set[str]:
    """The catalogue's conditions among FHIR Condition resources (active, not refuted or entered in error)."""
    return set(reported_of_fhir(resources, codes).codes)


def _status(resource: dict[str, Any], name: str) -> str | None:
    value = resource.get(name)
    if isinstance(value, dict) and isinstance(value.get("coding"), list):
        for coding in value["coding"]:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return coding["code"]
    return None

"""Conditions a patient has, from coded problem lists: FHIR `Condition` resources (CDS Hooks
prefetch, a FHIR Bundle at the command line) and codings sent by the practice software's launch,
mapped to the catalogue's condition codes through `data/conditions.yaml` (ICD-10 categories by
prefix, SNOMED CT concepts exactly, Bouquet's own code system `urn:bouquet:prevention:condition`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bouquet_prevention.catalogue import Catalogue, default_catalogue

__all__ = ["CONDITION_SYSTEM", "ICD10_SYSTEMS", "SNOMED_SYSTEM", "ConditionCodes", "conditions_of_fhir",
           "default_condition_codes"]

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


def conditions_of_fhir(resources: Iterable[Any], codes: ConditionCodes | None = None) -> set[str]:
    """The catalogue's conditions among FHIR Condition resources (active, not refuted or entered in error)."""
    codes = codes or default_condition_codes()
    found: set[str] = set()
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("resourceType") != "Condition":
            continue
        if _status(resource, "clinicalStatus") in _INACTIVE or _status(resource, "verificationStatus") in _REFUTED:
            continue
        code = resource.get("code")
        if isinstance(code, dict) and isinstance(code.get("coding"), list):
            found |= codes.conditions_for(c for c in code["coding"] if isinstance(c, dict))
    return found


def _status(resource: dict[str, Any], name: str) -> str | None:
    value = resource.get(name)
    if isinstance(value, dict) and isinstance(value.get("coding"), list):
        for coding in value["coding"]:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return coding["code"]
    return None

"""The document types the DMP accepts (JDV_J66) and their classes (JDV_J57, TRE_A03), as data.

`data/habilitations/document-types.csv` lists each type with its code system, its label, its
class and the value set it was read from (`SOURCES.md` beside it). Loaded once per process: it is
the published terminology, not a setting.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "habilitations"
TYPES_FILE = DATA / "document-types.csv"
LOINC = "http://loinc.org"
#: The DMP's document classes (JDV_J57_ClassCode_DMP draws its codes from TRE_A03_ClasseDocument).
CLASS_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
VACCINATION_TYPE = "87273-9"


@dataclass(frozen=True)
class DocumentType:
    code: str
    system: str
    label: str
    class_code: str
    class_label: str


@cache
def types() -> dict[str, DocumentType]:
    """Every type the DMP accepts, by code, in the file's order."""
    with TYPES_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["type_code"]: DocumentType(row["type_code"], row["type_system"], row["label"],
                                           row["class_code"], row["class_label"]) for row in rows}


@cache
def classes() -> dict[str, str]:
    """The DMP's classes (numeric codes of TRE_A03), by code, sorted by code."""
    found = {t.class_code: t.class_label for t in types().values() if t.class_code.isdigit()}
    return dict(sorted(found.items(), key=lambda item: int(item[0])))


def type_of(code: str) -> DocumentType | None:
    return types().get(code)


def class_of(type_code: str) -> str:
    """The class of a type ('' when the value sets give it none, as for 101881-1)."""
    found = types().get(type_code)
    return found.class_code if found and found.class_code.isdigit() else ""

"""The ANS's published list of referenced solutions: importing it, and which catalogue entries it confirms.

`bouquet catalog import-referenced FILE` reads a CSV (comma or semicolon, UTF-8, header line) or a
JSON file (a list of objects). The ANS publishes its list of Ségur-referenced solutions, but the
exact layout of that file could not be found from here: the importer reads the columns below,
accepting a few spellings for each, and refuses a file that lacks one of the required ones (saying
which) rather than guessing. Every line is checked before anything is written; an import replaces
the previous one in a single transaction.

A catalogue entry is confirmed by a line when the solution's name matches (case and accents
ignored), the vendor matches (by SIREN when both have one, else by name), and, when the entry
declares a Ségur software version, the major version is the same.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, delete, select

from bouquet_catalog.models import ReferencedListing, Revision, Solution, Vendor
from bouquet_catalog.referencing import WAVES, major
from bouquet_catalog.text import fold

#: field → the column names accepted for it (folded: lower case, no accents).
COLUMNS: dict[str, tuple[str, ...]] = {
    "vendor_name": ("editeur", "raison sociale editeur", "vendor"),
    "vendor_siren": ("siren", "siren editeur"),
    "solution_name": ("solution", "nom de la solution", "solution name", "logiciel"),
    "software_version": ("version", "version referencee", "version de la solution"),
    "couloir": ("couloir",),
    "software_type": ("type de logiciel", "type", "dispositif"),
    "wave": ("vague",),
    "referenced_on": ("date de referencement", "date", "referenced on"),
}
REQUIRED = ("vendor_name", "solution_name", "software_version")
MAX_LINES = 20_000
MAX_BYTES = 10 * 1024 * 1024


class ListRefused(ValueError):
    """The file cannot be imported; `message` says why, in French (with the line at fault)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Confirmation:
    """A catalogue entry confirmed by a line of the official list."""

    solution_id: int
    name: str
    listing: ReferencedListing


def parse(path: Path) -> list[dict[str, str]]:
    """The lines of the file as {field: value}; ListRefused when the file is not usable."""
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ListRefused(f"Le fichier dépasse {MAX_BYTES // (1024 * 1024)} Mo.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ListRefused("Le fichier n'est pas en UTF-8.") from None
    records = _json_records(text) if path.suffix.lower() == ".json" else _csv_records(text)
    if len(records) > MAX_LINES:
        raise ListRefused(f"Le fichier compte plus de {MAX_LINES} lignes.")
    lines = []
    for number, record in enumerate(records, start=2 if path.suffix.lower() != ".json" else 1):
        folded = {fold(str(key)).strip(): str(value if value is not None else "").strip() for key, value in record.items()}
        line = {field: next((folded[name] for name in names if name in folded), "") for field, names in COLUMNS.items()}
        missing = [field for field in REQUIRED if not line[field]]
        if missing:
            raise ListRefused(f"Ligne {number} : {', '.join(_LABELS[field] for field in missing)} manquant(s). "
                              "Rien n'a été importé.")
        siren = line["vendor_siren"].replace(" ", "")
        if siren and not (len(siren) == 9 and siren.isdigit()):
            raise ListRefused(f"Ligne {number} : le SIREN « {line['vendor_siren'][:20]} » n'a pas 9 chiffres. "
                              "Rien n'a été importé.")
        line["vendor_siren"] = siren
        line["wave"] = _wave(line["wave"])
        lines.append(line)
    return lines


def replace(session: Session, lines: list[dict[str, str]], source: str) -> int:
    """Replace the imported list with `lines` (in the caller's transaction); the number of lines."""
    session.exec(delete(ReferencedListing))  # type: ignore[call-overload]
    for line in lines:
        session.add(ReferencedListing(
            vendor_name=line["vendor_name"][:200], vendor_siren=line["vendor_siren"] or None,
            solution_name=line["solution_name"][:200], name_key=fold(line["solution_name"])[:200],
            software_version=line["software_version"][:60], couloir=line["couloir"][:40],
            software_type=line["software_type"][:40], wave=line["wave"][:20], referenced_on=line["referenced_on"][:10],
            source=source[:300]))
    session.flush()
    return len(lines)


def confirming(session: Session, solution: Solution) -> ReferencedListing | None:
    """The line of the official list that confirms this catalogue entry (its pending content, else published)."""
    revision = session.get(Revision, solution.pending_revision_id or solution.published_revision_id or 0)
    vendor = session.get(Vendor, solution.vendor_id)
    if revision is None or vendor is None:
        return None
    content = revision.content or {}
    key = fold(str(content.get("name") or ""))[:200]
    declared = ((content.get("segur") or {}).get("software_version")) or content.get("version")
    for line in session.exec(select(ReferencedListing).where(ReferencedListing.name_key == key)
                             .order_by(col(ReferencedListing.id))).all():
        same_vendor = (line.vendor_siren == vendor.siren) if line.vendor_siren else (fold(line.vendor_name) == fold(vendor.name))
        if same_vendor and (not declared or major(line.software_version) == major(str(declared))):
            return line
    return None


def confirmations(session: Session) -> list[Confirmation]:
    """Every catalogue entry the imported list confirms, by name."""
    found = []
    for solution in session.exec(select(Solution).order_by(col(Solution.id))).all():
        line = confirming(session, solution)
        if line is not None:
            revision = session.get(Revision, solution.pending_revision_id or solution.published_revision_id or 0)
            found.append(Confirmation(solution.id, str((revision.content if revision else {}).get("name", "")), line))  # type: ignore[arg-type]
    return sorted(found, key=lambda c: fold(c.name))


def wave_label(line: ReferencedListing) -> str:
    return WAVES.get(line.wave, line.wave or "vague non précisée")


_LABELS = {"vendor_name": "éditeur", "solution_name": "solution", "software_version": "version"}


def _wave(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"vague-{digits}" if digits else ""


def _csv_records(text: str) -> list[dict[str, Any]]:
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise ListRefused("Le fichier est vide.")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    headers = {fold(name or "").strip() for name in reader.fieldnames or []}
    missing = [_LABELS[field] for field in REQUIRED if not headers & set(COLUMNS[field])]
    if missing:
        raise ListRefused(f"Colonnes manquantes : {', '.join(missing)} (attendu par exemple : "
                          "editeur;siren;solution;version;couloir;type de logiciel;vague;date de referencement).")
    return list(reader)


def _json_records(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError:
        raise ListRefused("Le fichier n'est pas du JSON valide.") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ListRefused("Le fichier JSON doit être une liste d'objets, un par solution référencée.")
    return data

"""Provisioning professionals from the RPPS directory's public extract.

The ANS publishes `PS_LibreAcces_Personne_activite_<date>.txt` on annuaire.sante.fr: UTF-8,
'|'-separated, a header line, one row per activity of a person (a person practising at two sites
has two rows), often with a trailing '|'. Columns are found by their header name, never by
position, since new extracts add columns.

How an import behaves:

- Rows are grouped by person ("Identification nationale PP", the IdNat_PS) wherever they are in
  the file: a first pass counts each person's rows, the second imports a person as soon as their
  last row is read. Memory grows with the number of people, not of rows.
- A person is imported whole or not at all: if any of their rows is invalid (bad Luhn key,
  missing name, an ADELI rather than RPPS identifier…), every row of that person is rejected and
  their account is left as it was. Each rejected row is reported with its line number and reason.
- People are written 1,000 per transaction (their existing accounts preloaded in one query); a
  database error rolls back that batch only, whose people are then reported as rejected.
- The account's username is the IdNat_PS. Imported professionals get no password: they get in
  through an invitation. People missing from the file are left untouched.
- Importing the same file twice changes nothing the second time: "0 created, 0 updated".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import String, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, or_

from bouquet.foundation.db import Database, utcnow
from bouquet.sso.accounts import Account, AccountKind, is_idnat_ps

log = logging.getLogger("bouquet.sso.rpps")

BATCH_SIZE = 1000
# Our name for each column we read -> its header in the ANS extract.
# The header of PS_LibreAcces_Personne_activite as the ANS publishes it (2024), trailing '|' included.
PUBLISHED_HEADER = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|"
    "Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|"
    "Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|"
    "Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|"
    "Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|"
    "Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|"
    "Complément destinataire (coord. structure)|Complément point géographique (coord. structure)|"
    "Numéro Voie (coord. structure)|Indice répétition voie (coord. structure)|Code type de voie (coord. structure)|"
    "Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|Mention distribution (coord. structure)|"
    "Bureau cedex (coord. structure)|Code postal (coord. structure)|Code commune (coord. structure)|"
    "Libellé commune (coord. structure)|Code pays (coord. structure)|Libellé pays (coord. structure)|"
    "Téléphone (coord. structure)|Téléphone 2 (coord. structure)|Télécopie (coord. structure)|"
    "Adresse e-mail (coord. structure)|Code Département (structure)|Libellé Département (structure)|"
    "Ancien identifiant de la structure|Autorité d'enregistrement|Code secteur d'activité|Libellé secteur d'activité|"
    "Code section tableau pharmaciens|Libellé section tableau pharmaciens|Code rôle|Libellé rôle|"
    "Code genre activité|Libellé genre activité|"
)


COLUMNS = {
    "id_type": "Type d'identifiant PP",
    "rpps": "Identifiant PP",
    "idnat": "Identification nationale PP",
    "family_name": "Nom d'exercice",
    "given_name": "Prénom d'exercice",
    "civility_code": "Code civilité",
    "profession_code": "Code profession",
    "profession_label": "Libellé profession",
    "category_code": "Code catégorie professionnelle",
    "specialty_type": "Code type savoir-faire",
    "specialty_code": "Code savoir-faire",
    "specialty_label": "Libellé savoir-faire",
    "mode_code": "Code mode exercice",
    "mode": "Libellé mode exercice",
    "siret": "Numéro SIRET site",
    "siren": "Numéro SIREN site",
    "finess": "Numéro FINESS site",
    "finess_legal": "Numéro FINESS établissement juridique",
    "structure_id": "Identifiant technique de la structure",
    "company_name": "Raison sociale site",
    "brand": "Enseigne commerciale site",
    "place": "Complément point géographique (coord. structure)",
    "street_number": "Numéro Voie (coord. structure)",
    "street_repeat": "Indice répétition voie (coord. structure)",
    "street_type_code": "Code type de voie (coord. structure)",
    "street_type": "Libellé type de voie (coord. structure)",
    "street": "Libellé Voie (coord. structure)",
    "cedex": "Bureau cedex (coord. structure)",
    "postal_code": "Code postal (coord. structure)",
    "commune_code": "Code commune (coord. structure)",
    "commune": "Libellé commune (coord. structure)",
    "sector_code": "Code secteur d'activité",
    "sector": "Libellé secteur d'activité",
    "role_code": "Code rôle",
    "role": "Libellé rôle",
}
REQUIRED = ("id_type", "idnat", "family_name", "given_name", "profession_code")
RPPS_ID_TYPE = "8"
# "Code type savoir-faire" of the ordinal specialty, preferred as the account's specialty.
ORDINAL_SPECIALTY = "S"
# The identity fields an import owns; it never touches passwords, e-mail or the disabled state.
IDENTITY_FIELDS = ("given_name", "family_name", "civility_code", "profession_code", "profession_label",
                   "profession_category", "specialty_code", "specialty_label", "practice_sites")
MAX_NAME = 150


class ImportFileError(ValueError):
    """The file cannot be imported at all (unreadable, or a required column is missing)."""


@dataclass(frozen=True)
class Rejection:
    line: int
    idnat: str
    reason: str


@dataclass
class ImportReport:
    """What an import did: people created, updated, unchanged, and every rejected row with its reason."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_people: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.rows} rows read: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.rejected_people} people rejected ({len(self.rejections)} rows).")


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    problem: str | None


@dataclass
class _Person:
    idnat: str
    rows: list[_Row] = field(default_factory=list)


class _Header:
    """The position of each column we read, found by header name."""

    def __init__(self, line: str) -> None:
        names = [name.strip() for name in line.rstrip("\r\n").lstrip("\ufeff").split("|")]
        if names and names[-1] == "":
            names.pop()  # the extract ends every line with '|'
        self.width = len(names)
        positions = {name: index for index, name in enumerate(names)}
        missing = [COLUMNS[key] for key in REQUIRED if COLUMNS[key] not in positions]
        if missing:
            raise ImportFileError("this is not an RPPS 'PS_LibreAcces_Personne_activite' extract: missing column(s) "
                                  + ", ".join(repr(name) for name in missing))
        self.index = {key: positions[name] for key, name in COLUMNS.items() if name in positions}
        self.idnat_index = self.index["idnat"]

    def split(self, line: str) -> list[str] | None:
        """The fields of a data line, or None when their count does not match the header."""
        fields = line.rstrip("\r\n").split("|")
        if len(fields) == self.width + 1 and fields[-1] == "":
            fields.pop()
        return fields if len(fields) == self.width else None

    def idnat(self, line: str) -> str:
        fields = line.split("|", self.idnat_index + 1)
        return fields[self.idnat_index].strip() if len(fields) > self.idnat_index else ""

    def values(self, fields: list[str]) -> dict[str, str]:
        values = {key: fields[index].strip() for key, index in self.index.items()}
        for key in COLUMNS.keys() - values.keys():
            values[key] = ""
        return values


def _problem(values: dict[str, str]) -> str | None:
    """Why this row cannot be imported (in English, for the operator), or None."""
    id_type, idnat = values["id_type"], values["idnat"]
    if id_type != RPPS_ID_TYPE:
        kind = " (ADELI)" if id_type == "0" else ""
        return f"unknown identifier type {id_type!r}{kind}: only RPPS professionals (type 8) are imported"
    if len(idnat) != 12 or not idnat.isdigit() or not idnat.startswith(RPPS_ID_TYPE):
        return f"malformed Identification nationale PP {idnat!r}: expected '8' followed by the 11-digit RPPS number"
    if not is_idnat_ps(idnat):
        return f"bad Luhn key in RPPS number {idnat[1:]}"
    if values["rpps"] and values["rpps"] != idnat[1:]:
        return f"Identifiant PP {values['rpps']!r} does not match Identification nationale PP {idnat!r}"
    if not values["family_name"]:
        return "missing name (Nom d'exercice)"
    if not values["given_name"]:
        return "missing first name (Prénom d'exercice)"
    if len(values["family_name"]) > MAX_NAME or len(values["given_name"]) > MAX_NAME:
        return f"name longer than {MAX_NAME} characters"
    if not values["profession_code"]:
        return "missing profession code (Code profession)"
    return None


def _site(values: dict[str, str]) -> dict[str, str] | None:
    """One practice site from an activity row (None for a person with no recorded activity)."""
    if not (values["structure_id"] or values["company_name"] or values["siret"] or values["finess"]):
        return None
    street = " ".join(part for part in (values["street_number"], values["street_repeat"],
                                        values["street_type"] or values["street_type_code"], values["street"]) if part)
    commune = values["commune"]
    if not commune and values["cedex"]:
        # Some structures only have "75015 PARIS" in the cedex office field.
        commune = values["cedex"].removeprefix(values["postal_code"]).strip()
    site = {
        "structure_id": values["structure_id"], "name": values["company_name"] or values["brand"],
        "siret": values["siret"], "siren": values["siren"], "finess": values["finess"],
        "finess_legal": values["finess_legal"], "address": street or values["place"],
        "postal_code": values["postal_code"], "commune_code": values["commune_code"], "commune": commune,
        "mode_code": values["mode_code"], "mode": values["mode"], "role_code": values["role_code"],
        "role": values["role"], "sector_code": values["sector_code"], "sector": values["sector"],
    }
    return {key: value for key, value in site.items() if value}


def _identity(person: _Person) -> dict[str, Any]:
    """The account fields of a valid person, from their rows (person fields from the first row)."""
    first = person.rows[0].values
    with_specialty = [row.values for row in person.rows if row.values["specialty_code"]]
    specialty = next((v for v in with_specialty if v["specialty_type"] == ORDINAL_SPECIALTY),
                     with_specialty[0] if with_specialty else None)
    sites: list[dict[str, str]] = []
    for row in person.rows:
        site = _site(row.values)
        if site is not None and site not in sites:
            sites.append(site)
    return {
        "given_name": first["given_name"], "family_name": first["family_name"],
        "civility_code": first["civility_code"] or None,
        "profession_code": first["profession_code"], "profession_label": first["profession_label"] or None,
        "profession_category": first["category_code"] or None,
        "specialty_code": specialty["specialty_code"] if specialty else None,
        "specialty_label": (specialty["specialty_label"] or None) if specialty else None,
        "practice_sites": sites,
    }


def _open(path: Path) -> Iterator[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            yield from lines
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text ({exc.reason}): the ANS extract is UTF-8") from exc
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _row_counts(path: Path) -> tuple[_Header, dict[str, int]]:
    """First pass: the header, and how many rows each person has."""
    lines = _open(path)
    first = next(lines, None)
    if first is None:
        raise ImportFileError(f"{path} is empty")
    header = _Header(first)
    counts: dict[str, int] = {}
    for line in lines:
        if line.strip():
            key = header.idnat(line)
            counts[key] = counts.get(key, 0) + 1
    return header, counts


def _people(path: Path, report: ImportReport) -> Iterator[_Person]:
    """Second pass: each person, complete, as soon as their last row has been read."""
    header, remaining = _row_counts(path)
    open_people: dict[str, _Person] = {}
    for number, line in enumerate(_open(path), start=1):
        if number == 1 or not line.strip():
            continue
        report.rows += 1
        fields = header.split(line)
        if fields is None:
            values = dict.fromkeys(COLUMNS, "")
            values["idnat"] = header.idnat(line)
            found = line.rstrip("\r\n").count("|") + 1
            row = _Row(number, values, f"expected {header.width} fields, found {found}")
        else:
            values = header.values(fields)
            row = _Row(number, values, _problem(values))
        key = values["idnat"]
        if not key:
            report.rejections.append(Rejection(number, "", "missing Identification nationale PP"))
            report.rejected_people += 1
            continue
        person = open_people.setdefault(key, _Person(key))
        person.rows.append(row)
        remaining[key] = remaining.get(key, 1) - 1
        if remaining[key] <= 0:
            del open_people[key], remaining[key]
            yield person
    # Only if the file changed between the two passes: import what was read rather than lose it.
    yield from open_people.values()


def _reject_person(report: ImportReport, person: _Person, reason: str | None = None) -> None:
    """Report every row of `person`: its own problem, else why the person as a whole was refused."""
    bad = next((row for row in person.rows if row.problem), None)
    for row in person.rows:
        if reason is not None:
            why = reason
        elif row.problem:
            why = row.problem
        else:
            assert bad is not None
            why = f"another row of this person is invalid (line {bad.line})"
        report.rejections.append(Rejection(row.line, person.idnat, why))
    report.rejected_people += 1


def _among(column: Any, keys: list[str], postgresql: bool) -> Any:
    """`column IN keys`; on PostgreSQL as `= ANY(array)`, one parameter that the driver does not
    have to parse again for every batch, instead of a thousand."""
    if postgresql:
        return column == any_(bindparam(None, keys, type_=ARRAY(String)))
    return col(column).in_(keys)


def _write_batch(db: Database, batch: list[_Person], report: ImportReport) -> None:
    """Create or update the accounts of up to BATCH_SIZE valid people in one transaction."""
    identities = {person.idnat: _identity(person) for person in batch}
    keys = list(identities)
    created = updated = unchanged = 0
    refused: list[tuple[_Person, str]] = []
    try:
        with db.write() as session:
            columns = [Account.id, Account.idnat_ps, Account.username, Account.kind,
                       *(getattr(Account, name) for name in IDENTITY_FIELDS)]
            postgresql = session.get_bind().dialect.name == "postgresql"
            existing = session.execute(select(*columns).where(
                or_(_among(Account.idnat_ps, keys, postgresql), _among(Account.username, keys, postgresql)))).all()
            by_idnat = {row.idnat_ps: row for row in existing if row.idnat_ps}
            usernames = {row.username: row for row in existing}
            now = utcnow()
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for person in batch:
                identity, current = identities[person.idnat], by_idnat.get(person.idnat)
                if current is None:
                    taken = usernames.get(person.idnat)
                    if taken is not None:
                        refused.append((person, f"username {person.idnat} is already used by account {taken.id}"))
                        continue
                    inserts.append({"kind": AccountKind.professional.value, "username": person.idnat,
                                    "idnat_ps": person.idnat, "created_at": now, **identity})
                elif current.kind != AccountKind.professional:
                    refused.append((person, f"account {current.id} with this IdNat_PS is a {current.kind}, "
                                            "not a professional"))
                elif any(getattr(current, name) != value for name, value in identity.items()):
                    updates.append({"account_id": current.id, "updated_at": now, **identity})
                else:
                    unchanged += 1
            # Core statements with the same keys in every row: one executemany per batch. (The ORM's
            # bulk insert would split a batch wherever a row has a None the previous one had not.)
            table = Account.__table__
            if inserts:
                session.execute(insert(table), inserts)
            if updates:
                session.execute(update(table).where(table.c.id == bindparam("account_id"))
                                .values({name: bindparam(name) for name in (*IDENTITY_FIELDS, "updated_at")}),
                                updates)
            created, updated = len(inserts), len(updates)
    except SQLAlchemyError as exc:
        log.error("RPPS import: batch of %d people rolled back: %s", len(batch), exc)
        reason = f"database error, batch of {len(batch)} people rolled back: {type(exc).__name__}: " \
                 + str(exc).splitlines()[0][:200]
        for person in batch:
            _reject_person(report, person, reason)
        return
    report.created += created
    report.updated += updated
    report.unchanged += unchanged
    for person, reason in refused:
        _reject_person(report, person, reason)


def import_file(db: Database, path: Path | str, *, batch_size: int = BATCH_SIZE,
                progress: Callable[[ImportReport], None] | None = None) -> ImportReport:
    """Import an RPPS `PS_LibreAcces_Personne_activite` extract; see the module docstring.

    Raises `ImportFileError` before writing anything when the file cannot be imported at all.
    """
    report = ImportReport()
    batch: list[_Person] = []
    for person in _people(Path(path), report):
        if any(row.problem for row in person.rows):
            _reject_person(report, person)
            continue
        batch.append(person)
        if len(batch) >= batch_size:
            _write_batch(db, batch, report)
            batch = []
            if progress is not None:
                progress(report)
    if batch:
        _write_batch(db, batch, report)
    report.rejections.sort(key=lambda rejection: rejection.line)
    return report

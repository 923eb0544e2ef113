"""`bouquet prevention patients import FILE --professional NAME`: declare a professional's patients
(médecin traitant) from a CSV file, for the population view.

The file is UTF-8 (a BOM is fine), separated by `;` or `,`, with a header naming the columns as the
launch API does: `ins`, `oid`, `birth_name`, `given_names` (space-separated), `birth_date`
(YYYY-MM-DD), `sex` (F or M), and optionally `birthplace` (INSEE code). Every row is checked as a
patient context is (INS key, traits consistent with the matricule); one bad row refuses the whole
file, naming each line and field at fault, and nothing is written. Patients already declared get
their traits refreshed. The import is audited.
"""

from __future__ import annotations

import csv
import getpass
import io
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlmodel import or_, select

from bouquet.api.keys import audit_key
from bouquet.api.patient import PatientContext, PatientContextError

__all__ = ["ImportRefused", "add_commands", "read_patients"]

REQUIRED = ("ins", "oid", "birth_name", "given_names", "birth_date", "sex")
MAX_PROBLEMS_SHOWN = 20


class ImportRefused(Exception):
    """The file cannot be imported; `problems` are French sentences naming the line and the field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_patients(text: str, today: date) -> list[PatientContext]:
    """Every row of the CSV `text` as a checked patient context, or ImportRefused listing every problem."""
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first_line.count(";") > first_line.count(",") else ",")
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportRefused([f"en-tête : colonne{'s' if len(missing) > 1 else ''} manquante{'s' if len(missing) > 1 else ''}"
                             f" : {', '.join(missing)}"])
    patients, problems = [], []
    for line, row in enumerate(reader, start=2):
        values: dict[str, Any] = {key.strip(): (value or "").strip() for key, value in row.items() if key}
        values["given_names"] = values["given_names"].split()
        try:
            patients.append(PatientContext.from_dict(values, today=today))
        except PatientContextError as exc:
            problems.append(f"ligne {line}, champ « {exc.field} » : {exc.message}")
    if problems:
        raise ImportRefused(problems)
    if not patients:
        raise ImportRefused(["le fichier ne contient aucun patient"])
    return patients


def add_commands(prevention: click.Group) -> None:
    """Add `patients import` to the `bouquet prevention` group."""

    @prevention.group("patients")
    def patients() -> None:
        """The professionals' declared patients (médecin traitant)."""

    @patients.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--professional", required=True, help="The professional's user name or RPPS number (IdNat_PS).")
    def import_command(file: Path, professional: str) -> None:
        """Declare the patients of FILE (CSV) as PROFESSIONAL's: all of them, or none if a row is wrong."""
        from bouquet.api import audit as audit
        from bouquet.api.accounts import Account
        from bouquet.api.db import Database
        from bouquet.api.settings import load_settings
        from bouquet_prevention import clock
        from bouquet_prevention.population import declare

        try:
            found = read_patients(file.read_text(encoding="utf-8"), clock.today())
        except UnicodeDecodeError:
            raise click.ClickException(f"{file.name} : le fichier doit être encodé en UTF-8.") from None
        except ImportRefused as refused:
            shown = refused.problems[:MAX_PROBLEMS_SHOWN]
            more = len(refused.problems) - len(shown)
            raise click.ClickException(f"{file.name} refusé, rien n'a été importé :\n  " + "\n  ".join(shown)
                                       + (f"\n  … et {more} autre(s) problème(s)" if more > 0 else "")) from None
        settings = load_settings()
        db = Database(settings.database_url)
        try:
            with db.write() as session:
                account = session.exec(select(Account).where(or_(
                    Account.username == professional.strip().lower(), Account.idnat_ps == professional.strip()))).first()
                if account is None or account.kind != "professional" or account.id is None:
                    raise click.ClickException(f"aucun professionnel « {professional} » : rien n'a été importé.")
                username = account.username
                added, updated = declare(session, account.id, found)
                audit.append(session, audit_key(settings), audit.AuditRecord(
                    actor=_cli_actor(), action="prevention.patients_imported", resource=file.name,
                    acting_for=None, details={"professional": username, "rows": len(found), "added": added,
                                              "updated": updated}))
        finally:
            db.dispose()
        click.echo(f"{len(found)} patients declared for {username}: {added} added, {updated} refreshed.")


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"

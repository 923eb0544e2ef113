"""Time `bouquet accounts import` on a synthetic RPPS extract, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_rpps_import.py                 # 200,000 people, ~300,000 rows
    .venv/bin/python bench/bench_rpps_import.py --people 20000 --backends sqlite

The file has the real `PS_LibreAcces_Personne_activite` header (trailing '|' included), people
with one to four activities, about 1% rows with a bad Luhn key and 2% ADELI rows, as the real
extract has. Three runs per backend: the first import (everything created), the same file again
(everything unchanged), and a file where 5% of the people changed name (updated). PostgreSQL is
a throw-away server (`bouquet.testing.postgres`). Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bouquet.foundation.db import Database
from bouquet.migrations import upgrade
from bouquet.plugins import Plugins
from bouquet.sso import rpps
from bouquet.sso.accounts import luhn_key

HEADER = rpps.PUBLISHED_HEADER
COLUMNS = HEADER.rstrip("|").split("|")
FAMILY = ["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT",
          "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL", "FOURNIER", "GIRARD"]
GIVEN = ["MARIE", "JEAN", "PIERRE", "ANNE", "CLAIRE", "LUC", "SOPHIE", "PAUL", "JULIE", "NICOLAS", "CAMILLE", "LEA"]
PROFESSIONS = [("10", "Médecin", ("S", "Spécialité ordinale", "SM54", "Médecine générale")),
               ("60", "Infirmier", None), ("21", "Pharmacien", None), ("40", "Chirurgien-Dentiste", None),
               ("70", "Masseur-Kinésithérapeute", None), ("50", "Sage-Femme", None)]
STREETS = [("Rue", "DE LA REPUBLIQUE"), ("Avenue", "JEAN JAURES"), ("Boulevard", "VICTOR HUGO"), ("Place", "DU MARCHE")]
COMMUNES = [("69002", "69382", "Lyon"), ("75015", "75115", "Paris"), ("13001", "13201", "Marseille"),
            ("33000", "33063", "Bordeaux"), ("59000", "59350", "Lille")]
# Activities per person: weights for 1, 2, 3 and 4 rows (about 1.5 rows per person).
ACTIVITIES = ([1, 2, 3, 4], [60, 30, 8, 2])


def _idnat(n: int) -> str:
    body = f"1{n:09d}"
    return "8" + body + luhn_key(body)


def _rows(people: int, seed: int, renamed: float) -> Iterator[str]:
    rng = random.Random(seed)
    rename = random.Random(seed + 1)
    for n in range(people):
        idnat = _idnat(n)
        id_type = "8"
        if rng.random() < 0.02:  # ADELI professionals are in the extract too
            id_type, idnat = "0", f"0{690000000 + n}"
        elif rng.random() < 0.01:
            idnat = idnat[:-1] + str((int(idnat[-1]) + 1) % 10)  # a bad Luhn key
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        if renamed and rename.random() < renamed:
            family += "-NOUVEAU"
        code, label, specialty = rng.choice(PROFESSIONS)
        for activity in range(rng.choices(*ACTIVITIES)[0]):
            values = dict.fromkeys(COLUMNS, "")
            street, (postal, insee, commune) = rng.choice(STREETS), rng.choice(COMMUNES)
            structure = f"R{n:09d}{activity:02d}"
            values.update({
                "Type d'identifiant PP": id_type, "Identifiant PP": idnat[1:], "Identification nationale PP": idnat,
                "Code civilité": "M", "Libellé civilité": "Monsieur", "Nom d'exercice": family,
                "Prénom d'exercice": given, "Code profession": code, "Libellé profession": label,
                "Code catégorie professionnelle": "C", "Libellé catégorie professionnelle": "Civil",
                "Code mode exercice": "L" if activity == 0 else "S",
                "Libellé mode exercice": "Libéral" if activity == 0 else "Salarié",
                "Identifiant technique de la structure": structure, "Raison sociale site": f"CABINET {family} {n}",
                "Numéro Voie (coord. structure)": str(rng.randint(1, 200)),
                "Libellé type de voie (coord. structure)": street[0], "Libellé Voie (coord. structure)": street[1],
                "Code postal (coord. structure)": postal, "Code commune (coord. structure)": insee,
                "Libellé commune (coord. structure)": commune, "Libellé secteur d'activité": "Cabinet individuel",
                "Autorité d'enregistrement": "CNOM/CNOM/CNOM",
            })
            if specialty:
                values.update(zip(["Code type savoir-faire", "Libellé type savoir-faire", "Code savoir-faire",
                                   "Libellé savoir-faire"], specialty, strict=True))
            yield "|".join(values[column] for column in COLUMNS) + "|"


def generate(path: Path, people: int, seed: int = 2026, renamed: float = 0.0) -> int:
    """Write a synthetic extract; returns its number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for line in _rows(people, seed, renamed):
            out.write(line + "\n")
            count += 1
    return count


def _run(db: Database, path: Path) -> tuple[float, rpps.ImportReport]:
    started = time.perf_counter()
    report = rpps.import_file(db, path)
    return time.perf_counter() - started, report


def bench(url: str, files: dict[str, Path]) -> list[tuple[str, float, rpps.ImportReport]]:
    db = Database(url)
    try:
        upgrade(db.engine, Plugins([]))
        return [(label, *_run(db, path)) for label, path in files.items()]
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-rpps-") as tmp:
        folder = Path(tmp)
        first, renamed = folder / "extract.txt", folder / "extract-renamed.txt"
        started = time.perf_counter()
        rows = generate(first, options.people)
        generate(renamed, options.people, renamed=0.05)
        size = first.stat().st_size / 1e6
        print(f"Generated {rows} rows for {options.people} people ({size:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        files = {"first import": first, "same file again": first, "5% renamed": renamed}
        results: dict[str, list[tuple[str, float, rpps.ImportReport]]] = {}
        for backend in options.backends.split(","):
            if backend == "sqlite":
                results["SQLite"] = bench(f"sqlite:///{folder / 'bench.db'}", files)
            else:
                from bouquet.testing.postgres import ThrowawayPostgres

                with ThrowawayPostgres() as server:
                    results["PostgreSQL"] = bench(server.url, files)

    print(f"\n{rows:,} rows, {options.people:,} people; {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}\n")
    print("| database | run | time (s) | rows/s | created | updated | unchanged | rejected people |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, runs in results.items():
        for label, seconds, report in runs:
            print(f"| {backend} | {label} | {seconds:.1f} | {report.rows / seconds:,.0f} | {report.created:,} | "
                  f"{report.updated:,} | {report.unchanged:,} | {report.rejected_people:,} |")


if __name__ == "__main__":
    main()

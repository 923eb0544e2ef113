"""Search over 10,000 referenced solutions, on SQLite and (if BENCH_POSTGRES_URL is set, or a throw-away
server can start) PostgreSQL. Prints the median and p95 of each query kind.

    .venv/bin/python plugins/catalog/bench/bench_search.py [--size N] [--sqlite-only]

`--size` (default 10,000) makes a quick check possible; the numbers in docs/benchmarks.md are for 10,000.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from bouquet_catalog import solutions
from bouquet_catalog.models import Revision, Solution, Vendor
from bouquet_catalog.vocabulary import CATEGORIES, CONFORMITIES, PROFESSIONS, REGIONS

from bouquet.api.db import Database
from bouquet.api.migrations import upgrade
from bouquet.api.plugins import Plugins

N, RUNS = 10_000, 50
WORDS = ("télésurveillance cardiaque dossier patient officine radiologie coordination parcours agenda "
         "téléconsultation diabète insuffisance rénale messagerie sécurisée vaccination pédiatrie gériatrie "
         "kinésithérapie orthophonie ordonnance facturation laboratoire imagerie santé numérique").split()
QUERIES = {
    "un mot (« telesurveillance »)": solutions.Query(text="telesurveillance"),
    "deux mots accentués (« Diabète pédiatrie »)": solutions.Query(text="Diabète pédiatrie"),
    "mot + filtres (catégorie, profession, région, conformité)": solutions.Query(
        text="coordination", category="EPARCOURS", profession="60", region="84", conformity="hds"),
    "filtres seuls (profession + région)": solutions.Query(profession="10", region="11"),
    "aucun résultat (« zzzz »)": solutions.Query(text="zzzz"),
}


def fill(db: Database, size: int, *, rng: random.Random | None = None, siren: str = "999000003",
         vendor_name: str = "Éditions Santé Numérique") -> None:
    """`size` referenced solutions of one vendor, indexed by the catalogue's own code (bench/generate_region.py
    fills a region's catalogue with it too)."""
    rng = rng or random.Random(9)
    with db.write() as session:
        vendor = Vendor(siren=siren, name=vendor_name)
        session.add(vendor)
        session.flush()
        for n in range(size):
            content = {"name": f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {n}",
                       "category": rng.choice(list(CATEGORIES)), "version": "1.0",
                       "description": " ".join(rng.choices(WORDS, k=60)),
                       "professions": rng.sample(list(PROFESSIONS), 3), "regions": rng.sample(list(REGIONS), 2),
                       "claims": {code: {"detail": "", "evidence": "x", "status": "verified"}
                                  for code in rng.sample(list(CONFORMITIES), 3)}}
            solution = Solution(vendor_id=vendor.id, status="referenced")  # type: ignore[arg-type]
            session.add(solution)
            session.flush()
            revision = Revision(solution_id=solution.id, number=1, content=content, created_by="bench")  # type: ignore[arg-type]
            session.add(revision)
            session.flush()
            solution.published_revision_id = revision.id
            solutions.index(solution, content, vendor.name)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def measure(db: Database) -> dict[str, tuple[float, float, int]]:
    out = {}
    for label, query in QUERIES.items():
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            with db.session() as session:
                results = solutions.search(session, query)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        out[label] = (statistics.median(times), times[int(len(times) * 0.95) - 1], results.total)
    return out


def run(name: str, url: str, size: int) -> None:
    db = Database(url)
    upgrade(db.engine, Plugins(["catalog"]))
    fill(db, size)
    print(f"\n{name} — {size} solutions référencées, {RUNS} exécutions par requête (ms)")
    print("| requête | médiane | p95 | résultats |\n| --- | ---: | ---: | ---: |")
    for label, (median, p95, total) in measure(db).items():
        print(f"| {label} | {median:.1f} | {p95:.1f} | {total} |")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=N, help=f"solutions to create (default {N})")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.size)
    if args.sqlite_only:
        return
    from bouquet.testing.postgres import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        run("PostgreSQL", server.create_database("bench"), args.size)


if __name__ == "__main__":
    main()

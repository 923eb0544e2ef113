"""A region's data at scale, on PostgreSQL, for `bench_region.py` and `audit verify` at 10 million events.

At `--scale 1` (the issue's region): 100,000 professional accounts, 1,000,000 patient contexts over
500,000 distinct patients (valid test INS: OID 1.2.250.1.213.1.4.10, the key computed, the traits
agreeing with the matricule), 10,000,000 audit events **chained and sealed exactly as the sealer does**
(`bouquet.foundation.audit._mac` and `_link` under the audit key derived from the secret key, so
`bouquet audit verify` checks them), and what the measured pages read:

- the bench doctor (`bench.doctor`, IdNat_PS `810000000009`) with 2,000 declared patients
  (« Prévention — mes patients », médecin traitant) and a context opened for each, 0 to 6 prevention
  acts per patient, and a DMP for each (the documents of the demo DMP of MARTIN Marie Claire copied);
- 10,000 referenced catalogue solutions (`--scale` scales them, at least 200) with their search columns;
- every plugin's demonstration data (`bouquet demo`: the demo accounts, DMPs, catalogue, prevention).

Everything is written with `COPY` (accounts, contexts, declared patients, acts, audit events) or one
`INSERT … SELECT` (DMP documents); the catalogue goes through its own indexing code. `--scale 0.01`
is a quick run (1,000 accounts, 10,000 contexts, 100,000 events: about half a minute).

    .venv/bin/python bench/generate_region.py --url postgresql+psycopg://…/bench [--scale 1] [--seed 20]
    .venv/bin/python bench/generate_region.py --scale 0.01     # into a throw-away PostgreSQL, then dropped

The data is fictitious: names drawn from a fixed list, test INS only. The figures of a full run are
in docs/benchmarks.md (« Région »).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "catalog" / "bench"))

from _common import SECRET  # noqa: E402
from bench_search import fill  # noqa: E402  # plugins/catalog/bench: its referenced solutions

from bouquet.foundation import audit  # noqa: E402
from bouquet.foundation.db import Database  # noqa: E402
from bouquet.foundation.keys import derive_key  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.patient.demo import DEMO_PATIENTS  # noqa: E402
from bouquet.patient.ins import OID_NIR_TEST, Ins, with_key  # noqa: E402
from bouquet.patient.model import PatientContext, PatientTraits  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402
from bouquet.sso.accounts import luhn_key  # noqa: E402

#: The plugins a region runs (and whose tables and demo data the generator fills).
PLUGINS = "dmp,prevention,catalog,eparcours"
#: The issue's region, at `--scale 1`.
ACCOUNTS, CONTEXTS, AUDIT_EVENTS, SOLUTIONS = 100_000, 1_000_000, 10_000_000, 10_000
#: The bench doctor's patients: the population view measured (not scaled, unless contexts are fewer).
POPULATION = 2_000
DOCTOR_USERNAME, DOCTOR_IDNAT = "bench.doctor", "810000000009"

FAMILY = ("MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS MOREAU LAURENT SIMON MICHEL LEFEBVRE LEROY "
          "ROUX DAVID BERTRAND MOREL FOURNIER GIRARD BONNET DUPONT LAMBERT FONTAINE ROUSSEAU VINCENT MULLER "
          "LEFEVRE FAURE ANDRE MERCIER BLANC GUERIN BOYER GARNIER CHEVALIER FRANCOIS LEGRAND GAUTHIER GARCIA "
          "PERRIN ROBIN CLEMENT MORIN NICOLAS HENRY ROUSSEL MATHIEU GAUTIER MASSON N'DIAYE SANTONI").split()
GIVEN_F = "MARIE ANNE CAMILLE LEA MANON CHLOE EMMA INES SARAH JULIE CLAIRE SOPHIE NATHALIE ISABELLE AMINATA".split()
GIVEN_M = "JEAN PIERRE LUCAS HUGO LOUIS GABRIEL ARTHUR THOMAS NICOLAS JULIEN PAUL ANDRE MICHEL KARIM YANNICK".split()
#: Birthplaces (INSEE commune codes) whose department and commune make the matricule's digits 6 to 10.
BIRTHPLACES = ("69123", "44109", "75114", "13055", "31555", "33063", "59350", "67482", "06088", "34172")
ACTIONS = ("patient.context_established", "patient.page_viewed", "dmp.list", "dmp.read", "prevention.panel_viewed",
           "prevention.population_viewed", "sso.authorize", "catalog.open")
PREVENTION_ACTS = ("vaccin-dtp", "vaccin-grippe", "vaccin-covid", "depistage-colorectal", "depistage-sein",
                   "vaccin-pneumocoque", "vaccin-zona")
START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class Region:
    """What was generated, for the benchmarks that measure it."""

    url: str
    scale: float
    doctor_id: int
    accounts: int
    contexts: int
    patients: int
    audit_events: int
    solutions: int
    population: list[dict[str, Any]] = field(default_factory=list)  # the doctor's patients (to_dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _rpps(n: int) -> str:
    body = f"1{n:09d}"
    return "8" + body + luhn_key(body)


def _patient(rng: random.Random, used: set[str]) -> PatientContext:
    """A fictitious patient with a test INS whose traits agree with the matricule."""
    while True:
        sex = rng.choice("12")
        birth = date(rng.randint(1926, 2025), rng.randint(1, 12), rng.randint(1, 28))
        place = rng.choice(BIRTHPLACES)
        first13 = f"{sex}{birth.year % 100:02d}{birth.month:02d}{place}{rng.randint(1, 999):03d}"
        if first13 not in used:
            used.add(first13)
            break
    given = rng.sample(GIVEN_F if sex == "2" else GIVEN_M, rng.randint(1, 2))
    traits = PatientTraits(rng.choice(FAMILY), " ".join(given), birth, "F" if sex == "2" else "M", place)  # type: ignore[arg-type]
    return PatientContext(Ins(with_key(first13), OID_NIR_TEST), traits, source="bench", identity_status="qualifiee")


def _copy(connection: Any, table: str, columns: tuple[str, ...], lines: io.StringIO) -> None:
    """COPY `lines` (text format, tab-separated) into `table`."""
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(lines.getvalue())


def _text(value: Any) -> str:
    """A value in COPY's text format (our generated values carry no tab or newline)."""
    if value is None:
        return r"\N"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value).replace("\\", "\\\\")


def _row(*values: Any) -> str:
    return "\t".join(_text(value) for value in values) + "\n"


def _set_sequence(connection: Any, table: str, column: str) -> None:
    connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                               f"(SELECT COALESCE(MAX({column}), 1) FROM {table}))")


def generate(url: str, scale: float, *, secret: str = SECRET, seed: int = 20, log: Any = print) -> Region:
    """Migrate `url` (PostgreSQL), load the demo data, then generate the region at `scale`."""
    rng = random.Random(seed)
    accounts, contexts = max(50, int(ACCOUNTS * scale)), max(200, int(CONTEXTS * scale))
    events, solutions = max(1_000, int(AUDIT_EVENTS * scale)), max(200, int(SOLUTIONS * scale))
    population = min(POPULATION, contexts // 2)
    db = Database(url)
    if db.engine.dialect.name != "postgresql":
        raise SystemExit("generate_region.py writes with COPY: give it a PostgreSQL URL")
    timings: dict[str, float] = {}
    try:
        started = time.monotonic()
        plugins = Plugins(PLUGINS.split(","))
        upgrade(db.engine, plugins)
        plugins.call("bouquet_demo", db=db)
        key = derive_key(secret, "audit")
        audit.seal_all(db, key)  # the demo's events first: the generated ones chain after them
        timings["migrations and demo data"] = time.monotonic() - started

        started = time.monotonic()
        doctor_id = _accounts(db, accounts)
        timings[f"{accounts:,} accounts"] = time.monotonic() - started

        started = time.monotonic()
        distinct = max(population, contexts // 2)
        used: set[str] = set()
        patients = [_patient(rng, used) for _ in range(distinct)]
        with db.engine.begin() as connection:
            first_account = connection.exec_driver_sql("SELECT MIN(id) FROM account WHERE username LIKE 'bench.ps%%'").scalar()
        _contexts(db, rng, patients, contexts, population, doctor_id, first_account, accounts)
        timings[f"{contexts:,} patient contexts ({distinct:,} patients)"] = time.monotonic() - started

        started = time.monotonic()
        _prevention_and_dmp(db, rng, patients[:population], doctor_id)
        timings[f"{population:,} declared patients, their acts and DMPs"] = time.monotonic() - started

        started = time.monotonic()
        _catalogue(db, rng, solutions)
        timings[f"{solutions:,} catalogue solutions"] = time.monotonic() - started

        started = time.monotonic()
        _audit_events(db, key, rng, events, patients, first_account, accounts)
        timings[f"{events:,} audit events, chained"] = time.monotonic() - started

        started = time.monotonic()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        timings["VACUUM ANALYZE"] = time.monotonic() - started
    finally:
        db.dispose()
    for step, seconds in timings.items():
        log(f"  {step}: {seconds:.1f} s")
    return Region(url, scale, doctor_id, accounts, contexts, distinct, events, solutions,
                  [patient.to_dict() for patient in patients[:population]], timings)


def _accounts(db: Database, count: int) -> int:
    """`count` professional accounts (the bench doctor first); returns the bench doctor's id."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rng = random.Random(3)
    lines = io.StringIO()
    columns = ("kind", "username", "given_name", "family_name", "idnat_ps", "profession_code", "profession_label",
               "profession_category", "practice_sites", "created_at")
    lines.write(_row("professional", DOCTOR_USERNAME, "Jean", "BENCH", DOCTOR_IDNAT, "10", "Médecin", "C", [], now))
    professions = (("10", "Médecin"), ("10", "Médecin"), ("60", "Infirmier"), ("21", "Pharmacien"),
                   ("40", "Chirurgien-Dentiste"), ("70", "Masseur-Kinésithérapeute"), ("50", "Sage-Femme"))
    for n in range(1, count):
        code, label = rng.choice(professions)
        lines.write(_row("professional", f"bench.ps{n}", rng.choice(GIVEN_F + GIVEN_M).title(), rng.choice(FAMILY),
                         _rpps(n), code, label, "C", [], now))
    with db.engine.begin() as connection:
        _copy(connection, "account", columns, lines)
        _set_sequence(connection, "account", "id")
        return connection.exec_driver_sql(f"SELECT id FROM account WHERE username = '{DOCTOR_USERNAME}'").scalar()


def _contexts(db: Database, rng: random.Random, patients: list[PatientContext], count: int, population: int,
              doctor_id: int, first_account: int, accounts: int) -> None:
    """`count` contexts: one for each of the doctor's `population` patients, the rest by any professional."""
    columns = ("id", "patient", "patient_ins", "source", "established_at", "established_by_id", "acting_for_id",
               "ended_at")
    shapes = [patient.to_dict() for patient in patients]
    with db.engine.begin() as connection:
        lines = io.StringIO()
        for n in range(count):
            index = n if n < population else rng.randrange(len(patients))
            by = doctor_id if n < population else first_account + rng.randrange(accounts - 1)
            at = START + timedelta(seconds=n * 30)
            shape = dict(shapes[index], source="Logiciel Bench", established_at=at.isoformat())
            lines.write(_row(secrets.token_urlsafe(24), shape, f"{shape['oid']}|{shape['ins']}", "Logiciel Bench",
                             at.replace(tzinfo=None), by, None, None))
            if lines.tell() > 32_000_000:
                _copy(connection, "patient_context", columns, lines)
                lines = io.StringIO()
        _copy(connection, "patient_context", columns, lines)


def _prevention_and_dmp(db: Database, rng: random.Random, patients: list[PatientContext], doctor_id: int) -> None:
    """The doctor's declared patients, 0 to 6 acts each, and a DMP each (MARTIN's demo documents copied)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    declared, acts, records = io.StringIO(), io.StringIO(), io.StringIO()
    for patient in patients:
        shape = patient.to_dict()
        ins = f"{shape['oid']}|{shape['ins']}"
        declared.write(_row(doctor_id, ins, shape, "medecin-traitant", now))
        for _ in range(rng.randint(0, 6)):
            performed = patient.traits.birth_date + timedelta(days=rng.randint(0, 30_000))
            if performed < date(2026, 11, 1):
                acts.write(_row(ins, rng.choice(PREVENTION_ACTS), performed, doctor_id, now, "portal"))
        records.write(_row(ins, shape, now, DOCTOR_IDNAT, False, False))
    martin = f"{DEMO_PATIENTS[0].ins.oid}|{DEMO_PATIENTS[0].ins.matricule}"
    with db.engine.begin() as connection:
        _copy(connection, "prevention_patient", ("professional_id", "patient_ins", "patient", "relation", "declared_at"),
              declared)
        _copy(connection, "prevention_act", ("patient_ins", "act_code", "performed_on", "recorded_by_id", "recorded_at",
                                             "source"), acts)
        _copy(connection, "dmp_record", ("patient_ins", "patient", "opened_at", "medecin_traitant_idnat",
                                         "emergency_opposed", "regulation_opposed"), records)
        columns = [row[0] for row in connection.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'dmp_document' "
            "AND column_name NOT IN ('id', 'patient_ins')").all()]
        listed = ", ".join(columns)
        connection.exec_driver_sql(
            f"INSERT INTO dmp_document (id, patient_ins, {listed}) "
            f"SELECT md5(r.patient_ins || d.id), r.patient_ins, {', '.join('d.' + c for c in columns)} "
            f"FROM dmp_record r CROSS JOIN dmp_document d "
            f"WHERE d.patient_ins = %(martin)s AND r.medecin_traitant_idnat = %(idnat)s AND r.patient_ins <> %(martin)s",
            {"martin": martin, "idnat": DOCTOR_IDNAT})
        _set_sequence(connection, "prevention_act", "id")
        _set_sequence(connection, "prevention_patient", "id")


def _catalogue(db: Database, rng: random.Random, count: int) -> None:
    """`count` referenced solutions with their search columns, through the catalogue's own indexing."""
    fill(db, count, rng=rng, siren="99900010" + luhn_key("99900010"), vendor_name="Éditions Santé Numérique Bench")


AUDIT_COLUMNS = ("seq", "at", "actor", "acting_for", "patient_ins", "action", "resource", "outcome", "source_ip",
                 "request_id", "details", "mac", "chain_seq", "prev_hash", "hash")


def _audit_events(db: Database, key: bytes, rng: random.Random, count: int, patients: list[PatientContext],
                  first_account: int, accounts: int, batch: int = 200_000) -> None:
    """`count` events chained after the existing ones, each MAC and link computed by the trail's own
    functions, written with COPY `batch` at a time; the chain head moved to the last one."""
    with db.engine.begin() as connection:
        head = connection.exec_driver_sql("SELECT seq, last_hash FROM audit_chain WHERE id = 1").one()
        first_seq = connection.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM audit_event").scalar() + 1
    position, prev = head.seq, head.last_hash
    ins = [f"{p.ins.oid}|{p.ins.matricule}" for p in patients]
    seq = first_seq
    written = 0
    while written < count:
        lines = io.StringIO()
        for _ in range(min(batch, count - written)):
            position += 1
            account = first_account + rng.randrange(accounts - 1)
            patient_ins = ins[rng.randrange(len(ins))]
            action = ACTIONS[rng.randrange(len(ACTIONS))]
            event = SimpleNamespace(
                at=START + timedelta(microseconds=position * 1_500_000 + rng.randrange(1000)),
                actor=f"account:{account} (Dr {FAMILY[account % len(FAMILY)].title()})", acting_for=None,
                patient_ins=patient_ins, action=action, resource=f"patient/{patient_ins.split('|')[1]}",
                outcome="success" if rng.random() < 0.98 else "denied", source_ip=f"10.{account % 250}.0.{seq % 250}",
                request_id=f"{seq:016x}", details={"n": position})
            mac = audit._mac(key, event)
            link = audit._link(key, prev, position, mac)
            lines.write(_row(seq, event.at.replace(tzinfo=None), event.actor, None, patient_ins, action, event.resource,
                             event.outcome, event.source_ip, event.request_id, event.details, mac, position, prev, link))
            prev, seq = link, seq + 1
            written += 1
        with db.engine.begin() as connection:
            _copy(connection, "audit_event", AUDIT_COLUMNS, lines)
            connection.exec_driver_sql("UPDATE audit_chain SET seq = %(seq)s, last_hash = %(hash)s WHERE id = 1",
                                       {"seq": position, "hash": prev})
    with db.engine.begin() as connection:
        _set_sequence(connection, "audit_event", "seq")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A PostgreSQL database (migrated here); without it, a throw-away one")
    parser.add_argument("--scale", type=float, default=0.01, help="1 = the issue's region (default 0.01)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--secret-key", default=SECRET, help="BOUQUET_SECRET_KEY the portal will run with")
    args = parser.parse_args()
    if args.url:
        region = generate(args.url, args.scale, secret=args.secret_key, seed=args.seed)
    else:
        from bouquet.testing.postgres import ThrowawayPostgres

        with ThrowawayPostgres() as server:
            region = generate(server.create_database("region"), args.scale, secret=args.secret_key, seed=args.seed)
    print(f"Region at scale {args.scale:g}: {region.accounts:,} accounts, {region.contexts:,} contexts of "
          f"{region.patients:,} patients, {region.audit_events:,} audit events, {region.solutions:,} solutions; "
          f"{sum(region.seconds.values()):.0f} s in all.")


if __name__ == "__main__":
    main()

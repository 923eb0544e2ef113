"""Constants and helpers for tests of the DMP plugin (and of plugins that work with it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bouquet.api.patient import DEMO_PATIENTS, audit_ins
from sqlmodel import select

from bouquet.api.db import Database
from bouquet_dmp import access
from bouquet_dmp.identity import HEADER, Caller, key_for, sign
from bouquet_dmp.models import DmpRecord

#: A matrix version written for tests (never the official one): `BOUQUET_DMP_MATRIX` points at it in tests.
TEST_MATRIX = Path(__file__).resolve().parents[1] / "tests" / "data" / "matrix-test.csv"

MARTIN, LEFEBVRE, SANTONI = DEMO_PATIENTS[0], DEMO_PATIENTS[2], DEMO_PATIENTS[3]
MARTIN_INS = audit_ins(MARTIN)


def identity_header(account: Any, secret: str, patient: Any = MARTIN, acting_for: Any = None) -> dict[str, str]:
    """The signed identity header a portal with `secret` sends for `account` about `patient`."""
    caller = Caller(sub=account.label, name=account.display_name, kind=str(account.kind), patient=audit_ins(patient),
                    idnat=account.idnat_ps, profession=account.profession_code,
                    for_idnat=acting_for.idnat_ps if acting_for else None,
                    for_name=acting_for.display_name if acting_for else None)
    return {HEADER: sign(caller, key_for(secret))}


def in_care_team(db: Database, account: Any, patients: Any = None) -> None:
    """`account` joins the care team of `patients` (default: every patient with a DMP), who gave their initial consent."""
    with db.session() as session:
        wanted = [audit_ins(p) for p in patients] if patients else list(session.exec(select(DmpRecord.patient_ins)).all())
    for patient_ins in wanted:
        access.add_to_care_team(db, patient_ins, account.idnat_ps, "tests")
        access.record_initial_consent(db, patient_ins, "tests")

"""Demonstration data (`bouquet demo`): the demo doctor is the médecin traitant of the demo patients.

None of them has a recorded prevention act, so MARTIN Marie Claire (66) shows the influenza,
pneumococcal, shingles, dTP and screening alerts. Safe to run twice.
"""

from __future__ import annotations

from sqlmodel import select

from bouquet.api.accounts import Account
from bouquet.api.db import Database
from bouquet.api.patient import DEMO_PATIENTS
from bouquet_prevention.population import declare

__all__ = ["DEMO_DOCTOR", "load"]

DEMO_DOCTOR = "dr.martin"


def load(db: Database) -> list[str]:
    """Declare the demo patients for the demo doctor; the lines to show the operator."""
    with db.write() as session:
        doctor = session.exec(select(Account).where(Account.username == DEMO_DOCTOR)).first()
        if doctor is None or doctor.id is None:
            return [f"Prevention: no account {DEMO_DOCTOR}, no declared patients loaded."]
        added, updated = declare(session, doctor.id, DEMO_PATIENTS)
    return [f"Prevention: {DEMO_DOCTOR} is the médecin traitant of the {len(DEMO_PATIENTS)} demo patients "
            f"({added} added, {updated} refreshed)."]

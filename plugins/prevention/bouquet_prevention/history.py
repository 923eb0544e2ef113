"""A patient's history of prevention acts: what the portal recorded, plus what other plugins hold.

Functions taking a `Session` are blocking: call them through `await ctx.db.run(...)` from async code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bouquet.api.accounts import Account
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.engine import Act
from bouquet_prevention.hooks import external_acts
from bouquet_prevention.models import PreventionAct

if TYPE_CHECKING:
    from bouquet.api.patient import PatientContext
    from bouquet.api.web import RequestContext

__all__ = ["acts_by_patient", "find_same", "history_of", "patient_ins", "recorded_acts", "recorded_list"]


def patient_ins(patient: PatientContext) -> str:
    """The patient as Bouquet's tables and audit trail name them: '<oid>|<matricule>'."""
    return f"{patient.ins.oid}|{patient.ins.matricule}"


def recorded_acts(session: Session, ins: str) -> list[Act]:
    """The acts the portal holds for one patient, oldest first."""
    rows = session.exec(select(PreventionAct.act_code, PreventionAct.performed_on)
                        .where(PreventionAct.patient_ins == ins).order_by(col(PreventionAct.performed_on))).all()
    return [Act(code, performed_on) for code, performed_on in rows]


def acts_by_patient(session: Session, ins_list: Iterable[str], batch: int = 1000) -> dict[str, list[Act]]:
    """The acts of many patients at once ({ins: acts}), a few queries for thousands of patients."""
    wanted = list(dict.fromkeys(ins_list))
    found: dict[str, list[Act]] = {ins: [] for ins in wanted}
    table = PreventionAct.__table__  # type: ignore[attr-defined]
    connection = session.connection()  # plain rows: the ORM's per-row work is most of the time here
    for start in range(0, len(wanted), batch):
        chunk = wanted[start:start + batch]
        rows = connection.execute(sa_select(table.c.patient_ins, table.c.act_code, table.c.performed_on)
                                  .where(table.c.patient_ins.in_(chunk))).all()
        for ins, code, performed_on in rows:
            found[ins].append(Act(code, performed_on))
    return found


def find_same(session: Session, ins: str, act_code: str, performed_on: date) -> PreventionAct | None:
    """The row recording this very act (same patient, code and day), if there is one."""
    return session.exec(select(PreventionAct).where(
        PreventionAct.patient_ins == ins, PreventionAct.act_code == act_code,
        PreventionAct.performed_on == performed_on)).first()


async def history_of(ctx: RequestContext, patient: PatientContext) -> tuple[list[Act], list[str]]:
    """Everything known for `patient`: the portal's rows and the acts other plugins return through
    `prevention_external_acts` (the DMP vaccination record when the DMP plugin is there), and the
    plugins whose acts could not be read (failed or too slow: the statuses must say so)."""
    ins = patient_ins(patient)

    def read() -> list[Act]:
        with ctx.db.session() as session:
            return recorded_acts(session, ins)

    recorded = await ctx.db.run(read)
    external, failures = await external_acts(ctx, patient)
    return [*recorded, *external], failures


def recorded_list(session: Session, ins: str, account_id: int | None) -> list[dict[str, Any]]:
    """The acts recorded in Bouquet for one patient, newest first, with who recorded them."""
    rows = session.exec(select(PreventionAct).where(PreventionAct.patient_ins == ins)
                        .order_by(col(PreventionAct.performed_on).desc(), col(PreventionAct.id).desc())).all()
    catalogue = default_catalogue()
    listed = []
    for row in rows:
        author = session.get(Account, row.recorded_by_id) if row.recorded_by_id else None
        listed.append({"id": row.id, "label": catalogue.label(row.act_code), "code": row.act_code,
                       "performed_on": row.performed_on, "by": author.display_name if author else "—",
                       "mine": account_id is not None and row.recorded_by_id == account_id,
                       "source": row.source})
    return listed

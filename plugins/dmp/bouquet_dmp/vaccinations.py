"""The patient's vaccinations as the DMP's vaccination records (CDA notes, LOINC 87273-9) list them,
for the prevention plugin's `prevention_external_acts` hook: `{"code": act, "performed_on": day}`.

Read with the signed-in professional's identity, so the DMP's rules apply (a secretary gets
nothing); a DMP that is down or refuses gives no acts, never an error.

`external_acts_bulk` is `prevention_external_acts_bulk`, for the population view « Prévention —
mes patients »: the whole list at once, straight from the embedded service's tables (a few queries
per 1,000 patients, none per patient), with the rules the service applies to one read
(`access.standing_of` / `access.decide`: blocked professionals, the care relationship and consent,
the official matrix, masked documents, bris de glace). Each patient whose vaccination records were asked for gets one
line in their DMP access history (granted with the count, or denied when they blocked the caller);
the portal's trail gets one `dmp.retrieve` event for the whole read, with the counts. With an
external DMP (`BOUQUET_DMP_URL`) there is no bulk transaction in MHD: it raises, and the
prevention view says the DMP's vaccinations could not be read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlmodel import Session

from bouquet.api.db import utcnow
from bouquet.api.patient import audit_ins
from bouquet_dmp import access, cda
from bouquet_dmp.care_team import CareTeamSource, source_of
from bouquet_dmp.codes import CVX_TO_ACT
from bouquet_dmp.doctypes import VACCINATION_TYPE
from bouquet_dmp.config import dmp_settings
from bouquet_dmp.content import CDA
from bouquet_dmp.identity import Caller
from bouquet_dmp.mhd_client import DmpError, DmpUnavailable, caller_of, client_for
from bouquet_dmp.models import DmpAccessEvent, DmpDocument

if TYPE_CHECKING:
    from bouquet.api.patient import PatientContext
    from bouquet.api.web import RequestContext

log = logging.getLogger("bouquet.dmp")


async def external_acts(ctx: RequestContext, patient: PatientContext) -> list[dict[str, Any]]:
    if ctx.account is None or not ctx.can("dmp.read"):
        return []
    client = client_for(ctx, patient)
    acts: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for entry in await client.find(type_code=VACCINATION_TYPE):
            if entry.content_type != CDA:
                continue
            data, _ = await client.retrieve(entry)
            for cvx, day in cda.vaccinations(data):
                if cvx in CVX_TO_ACT:
                    acts[(CVX_TO_ACT[cvx], day.isoformat())] = {"code": CVX_TO_ACT[cvx], "performed_on": day.isoformat()}
    except (DmpError, cda.CdaError) as exc:
        # Raised, not an empty list: "no vaccination" and "the DMP could not be read" must differ,
        # or a booster the DMP records shows as due (the prevention plugin says the DMP was not read).
        log.info("DMP vaccinations unavailable for prevention: %s", exc.__class__.__name__)
        raise
    await ctx.audit.log("dmp.retrieve", patient_ins=audit_ins(patient), resource="dmp/vaccinations",
                        details={"via": "prevention", "acts": len(acts)})
    return list(acts.values())


#: Patients read per batch of queries in a bulk read (an IN list PostgreSQL and SQLite both take).
BATCH = 1000


async def external_acts_bulk(ctx: RequestContext, patients: Sequence[PatientContext]) -> dict[str, list[dict[str, Any]]]:
    """`{'<oid>|<matricule>': acts}` for the patients whose DMP vaccination records this caller may read."""
    if ctx.account is None or not ctx.can("dmp.read") or not patients:
        return {}
    if dmp_settings().url:
        raise DmpUnavailable("Le DMP configuré est distant : ses vaccinations ne se lisent que patient par patient.",
                             "bulk-remote")
    # A non-qualified identity's INS is not shared (RNIV): its DMP is not read.
    callers = list({caller.patient: caller for caller in (caller_of(ctx, patient) for patient in patients
                                                          if patient.ins_shareable)}.values())

    def read() -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
        with ctx.db.write() as session:
            return read_vaccinations(session, callers, source_of(ctx.plugins))

    acts, counts = await ctx.db.run(read)
    await ctx.audit.log("dmp.retrieve", resource="dmp/vaccinations",
                        details={"via": "prevention-population", "patients": len(callers)} | counts)
    return acts


def read_vaccinations(session: Session, callers: Sequence[Caller], care_team: CareTeamSource | None = None
                      ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """The acts of each caller's patient (callers differ by patient only), the access-trail lines
    added, and counts for the audit. Runs in the caller's transaction."""
    if not callers:
        return {}, {}
    connection = session.connection()
    by_patient = {caller.patient: caller for caller in callers}
    found: dict[str, list[dict[str, Any]]] = {}
    events: list[dict[str, Any]] = []
    documents_read = unreadable = 0
    now = utcnow()
    documents_t = DmpDocument.__table__  # type: ignore[attr-defined]
    keys = list(by_patient)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start:start + BATCH]
        standings = access.standings_of(session, [by_patient[ins] for ins in chunk], care_team)
        rows = connection.execute(select(documents_t).where(
            documents_t.c.patient_ins.in_(chunk), documents_t.c.type_code == VACCINATION_TYPE,
            documents_t.c.status == "current")).all()
        seen: dict[str, int] = {}
        for document in rows:  # a plain row has the attributes `access.visible` reads
            caller = by_patient[document.patient_ins]
            seen.setdefault(caller.patient, 0)
            standing = standings[caller.patient]
            if not access.visible(document, caller, standing) or document.content_type != CDA:  # type: ignore[arg-type]
                continue
            seen[caller.patient] += 1
            documents_read += 1
            try:
                vaccinations = cda.vaccinations(document.content)
            except cda.CdaError:
                unreadable += 1
                continue
            for cvx, day in vaccinations:
                if cvx in CVX_TO_ACT:
                    act = {"code": CVX_TO_ACT[cvx], "performed_on": day.isoformat()}
                    mine = found.setdefault(caller.patient, [])
                    if act not in mine:
                        mine.append(act)
        for patient_ins, count in seen.items():
            caller = by_patient[patient_ins]
            standing = standings[patient_ins]
            denied = not standing.may_read
            events.append({
                "at": now, "patient_ins": patient_ins, "actor_idnat": caller.idnat, "actor_name": caller.name[:200],
                "actor_profession": caller.matrix_profession, "acting_for_name": caller.for_name,
                "transaction": "search", "document_id": None, "outcome": access.DENIED if denied else access.GRANTED,
                "emergency": False, "basis": standing.why[:300] or None,
                "detail": (("professionnel bloqué par le patient" if standing.blocked else "hors relation de soins")
                           if denied else f"vaccinations lues pour la prévention (liste de patients) : {count} document(s)")})
    if events:
        session.execute(insert(DmpAccessEvent), events)
    return found, {"with_acts": len(found), "documents": documents_read, "unreadable": unreadable,
                   "denied": sum(1 for event in events if event["outcome"] == access.DENIED)}

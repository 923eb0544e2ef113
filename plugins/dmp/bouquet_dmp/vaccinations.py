"""The patient's vaccinations as the DMP's vaccination records (CDA notes, LOINC 87273-9) list them,
for the prevention plugin's `prevention_external_acts` hook: `{"code": act, "performed_on": day}`.

Read with the signed-in professional's identity, so the DMP's rules apply (a secretary gets
nothing); a DMP that is down or refuses gives no acts, never an error.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bouquet.patient_context import audit_ins

from bouquet_dmp import cda
from bouquet_dmp.codes import CVX_TO_ACT, VACCINATION_TYPE
from bouquet_dmp.content import CDA
from bouquet_dmp.mhd_client import DmpError, client_for

if TYPE_CHECKING:
    from bouquet.context import RequestContext
    from bouquet.patient import PatientContext

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
        log.info("DMP vaccinations unavailable for prevention: %s", exc.__class__.__name__)
        return []
    await ctx.audit.log("dmp.retrieve", patient_ins=audit_ins(patient), resource="dmp/vaccinations",
                        details={"via": "prevention", "acts": len(acts)})
    return list(acts.values())

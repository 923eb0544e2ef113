"""The patient's access history, as the DMP keeps it: who opened the record, for whom, which
document, with which outcome, and which accesses were made in an emergency (bris de glace).

    GET /p/dmp/history
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bouquet import get_context, render
from bouquet_dmp import web
from bouquet_dmp.mhd_client import DmpError


async def history(request: Request) -> Response:
    ctx = get_context(request)
    client = web.require(ctx)
    try:
        lines = await client.history()
    except DmpError as exc:
        await ctx.audit.log("dmp.history", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                            resource="dmp/AuditEvent", details={"reason": exc.reason})
        return await render(request, "dmp/history.html", web.page(lines=[], problem=web.problem(exc)))
    await ctx.audit.log("dmp.history", patient_ins=web.patient_ins(ctx), resource="dmp/AuditEvent",
                        details={"count": len(lines)})
    return await render(request, "dmp/history.html", web.page(lines=lines, notifications=lines.notifications))

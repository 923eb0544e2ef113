"""The patient page's DMP panel: whether the patient has a DMP, counts by class, the latest documents.

    GET /p/dmp/panel    an htmx fragment; a DMP that is down or answers garbage gives a clear
                        message in the panel (status 200), never an error page
"""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bouquet import get_context, render
from bouquet_dmp import web
from bouquet_dmp.mhd_client import DmpError

LATEST = 5


async def panel(request: Request) -> Response:
    ctx = get_context(request)
    if ctx.patient is None:
        return HTMLResponse("<p>Aucun patient n'est ouvert.</p>")
    if not ctx.can(web.READ):
        return HTMLResponse('<p class="fr-text--sm">Votre compte ne permet pas de consulter le DMP.</p>')
    client = web.require(ctx)
    try:
        status = await client.patient()
        documents = await client.find() if status.has_record else []
    except DmpError as exc:
        await ctx.audit.log("dmp.search", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                            resource="dmp/DocumentReference", details={"via": "panel", "reason": exc.reason})
        return await render(request, "dmp/panel.html", web.page(problem=web.problem(exc)))
    await ctx.audit.log("dmp.search", patient_ins=web.patient_ins(ctx), resource="dmp/DocumentReference",
                        details={"via": "panel", "count": len(documents)})
    counts = Counter(document.class_label for document in documents)
    return await render(request, "dmp/panel.html", web.page(
        status=status, total=len(documents), counts=sorted(counts.items()), latest=documents[:LATEST],
        withheld=getattr(documents, "withheld", [])))

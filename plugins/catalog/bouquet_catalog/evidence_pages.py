"""Evidence pages: the vendor uploads a document for a claimed requirement; the reviewer decides each one.

    POST /p/catalog/vendor/solutions/{id}/evidence   evidence_claim, evidence_kind, evidence_reference,
                                                     evidence_issued_on, evidence_file (PDF) — the vendor
    GET  /p/catalog/evidence/{id}                    the document, for its vendor and the operator
    POST /p/catalog/review/{id}/requirements         claim, decision (accepted|refused), comment — the operator

Answers: 303 on success; 400 with the page, what was typed and every error; 403; 404.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context
from bouquet.api.web import Form, read_all
from bouquet_catalog import evidence, review_pages, solutions, vendor_pages, web
from bouquet_catalog.evidence import InvalidEvidence
from bouquet_catalog.models import EvidenceDocument, Vendor
from bouquet_catalog.solutions import NotFound
from bouquet_catalog.vocabulary import CONFORMITIES

FIELDS = ("evidence_claim", "evidence_kind", "evidence_reference", "evidence_issued_on")


async def upload(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.vendor_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])
    posted = await read_all(request, max_fields=10, max_length=web.MAX_TEXT, files={"evidence_file": evidence.MAX_BYTES},
                            max_files=1)
    form = Form({name: posted.get(name) for name in FIELDS})
    values = form.values
    sent = posted.files["evidence_file"][:1]
    data, filename = (sent[0].data, sent[0].filename) if sent else (b"", "")

    def run() -> None:
        with ctx.db.write() as session:
            vendor = session.exec(_vendor_query(ctx)).first()
            solution = solutions.owned(session, solution_id, vendor.id if vendor else 0)
            row = evidence.add(session, solution, actor, claim=values["evidence_claim"], kind=values["evidence_kind"],
                               reference=values["evidence_reference"], issued_on=values["evidence_issued_on"],
                               filename=filename, data=data)
            ctx.audit.write_in(session, "catalog.evidence.upload", resource=f"catalog:solution:{solution_id}",
                               details={"evidence": row.id, "claim": row.claim, "kind": row.kind})

    try:
        await ctx.db.run(run)
    except NotFound:
        raise HTTPException(404, "Cette solution n'existe pas dans votre espace.") from None
    except InvalidEvidence as invalid:
        form.refuse_all(invalid.errors)
        return await vendor_pages.solution_response(request, form, 400)
    ctx.flash("Le document est joint à la demande.", "success")
    return RedirectResponse(f"/p/catalog/vendor/solutions/{solution_id}", status_code=303)


async def document(request: Request) -> Response:
    ctx = get_context(request)
    web.require(ctx, web.BROWSE)
    document_id = web.integer(request.path_params["document_id"])
    account = ctx.account

    def load() -> EvidenceDocument | None:
        with ctx.db.session() as session:
            row = session.get(EvidenceDocument, document_id)
            if row is None:
                return None
            if ctx.can(web.REVIEW):
                return row
            solution = session.get(solutions.Solution, row.solution_id)
            vendor = session.get(Vendor, solution.vendor_id) if solution else None
            if account is not None and account.siren and ctx.can(web.SUBMIT) and vendor is not None \
                    and vendor.siren == account.siren:
                return row
            return None

    row = await ctx.db.run(load)
    if row is None:
        raise HTTPException(404, "Ce document n'existe pas ou ne vous est pas accessible.")
    await ctx.audit.log("catalog.evidence.read", resource=f"catalog:solution:{row.solution_id}",
                        details={"evidence": row.id})
    safe_name = "".join(ch for ch in row.filename if ch.isalnum() or ch in "._-") or "document.pdf"
    return Response(row.data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{safe_name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})


async def decide(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.operator_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])
    form = await read_all(request, max_fields=10, max_length=web.MAX_TEXT)
    claim, decision = form.get("claim"), form.get("decision")
    comment = form.get("comment")[:evidence.MAX_COMMENT + 1]

    def run() -> None:
        with ctx.db.write() as session:
            solution = solutions.get(session, solution_id)
            row = evidence.decide(session, solution, actor, claim=claim, decision=decision, comment=comment)
            ctx.audit.write_in(session, "catalog.requirement.decided", resource=f"catalog:solution:{solution_id}",
                               details={"claim": claim, "decision": decision, "revision": row.revision_id})

    try:
        await ctx.db.run(run)
    except NotFound:
        raise HTTPException(404, "Cette solution n'existe pas.") from None
    except InvalidEvidence as invalid:
        return await review_pages.review_response(request, Form(
            {f"decision_{claim}": decision, f"comment_{claim}": comment},
            {f"{field}_{claim}": message for field, message in invalid.errors.items()}), 400)
    ctx.flash(f"Décision enregistrée pour « {CONFORMITIES.get(claim, (claim,))[0]} ».", "success")
    return RedirectResponse(f"/p/catalog/review/{solution_id}#exigence-{claim}", status_code=303)


def _vendor_query(ctx: Any) -> Any:
    return select(Vendor).where(Vendor.siren == (ctx.account.siren or ""))

"""Open data: the referenced solutions, as JSON and CSV, for anyone (roadmap section 16)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bouquet.api.web import csv_document, public
from bouquet_catalog.models import Revision, Solution, Vendor
from bouquet_catalog.vocabulary import CATEGORIES, CONFORMITIES, PROFESSIONS, REGIONS
from bouquet_catalog.workflow import Status

COLUMNS = ("id", "nom", "editeur", "siren", "categorie", "categorie_libelle", "version", "professions", "regions",
           "conformites_verifiees", "conformites_declarees", "site", "reference_le")


def rows(db: Any) -> list[dict[str, Any]]:
    with db.session() as session:
        found = session.exec(select(Solution, Revision, Vendor)
                             .join(Revision, col(Revision.id) == col(Solution.published_revision_id))
                             .join(Vendor, col(Vendor.id) == col(Solution.vendor_id))
                             .where(Solution.status == Status.REFERENCED).order_by(col(Solution.name_key), col(Solution.id))).all()
    out = []
    for solution, revision, vendor in found:
        content = revision.content
        claims = content.get("claims") or {}
        out.append({
            "id": solution.id, "nom": content["name"], "editeur": vendor.name, "siren": vendor.siren,
            "categorie": content["category"], "categorie_libelle": CATEGORIES.get(content["category"], ""),
            "version": content["version"],
            "professions": [PROFESSIONS.get(code, code) for code in content["professions"]],
            "regions": [REGIONS.get(code, code) for code in content["regions"]],
            "conformites_verifiees": [CONFORMITIES[c][0] + (f" ({v['detail']})" if v.get("detail") else "")
                                      for c, v in claims.items() if c in CONFORMITIES and v.get("status") == "verified"],
            "conformites_declarees": [CONFORMITIES[c][0] for c, v in claims.items() if c in CONFORMITIES and v.get("status") != "verified"],
            "site": content.get("website") or "",
            "reference_le": solution.referenced_at.date().isoformat() if solution.referenced_at else "",
        })
    return out


HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}


@public
async def solutions_json(request: Request) -> Response:
    db = request.app.state.db
    data = await db.run(rows, db)
    return JSONResponse({"licence": "Licence Ouverte / Open Licence 2.0", "solutions": data, "total": len(data)},
                        headers=HEADERS)


@public
async def solutions_csv(request: Request) -> Response:
    db = request.app.state.db
    data = await db.run(rows, db)
    document = csv_document(COLUMNS, ([" | ".join(v) if isinstance(v, list) else v for v in (row[k] for k in COLUMNS)]
                                      for row in data))
    return Response(document, media_type="text/csv; charset=utf-8",
                    headers={**HEADERS, "Content-Disposition": 'attachment; filename="solutions-referencees.csv"'})

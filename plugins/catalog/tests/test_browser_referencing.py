"""In Chromium: a vendor joins evidence documents and submits; the reviewer decides requirement by requirement
(a refusal needs a comment) and approves; a new major version comes back to review, flagged; the imported
official list marks the matching entry. Pages pass axe-core."""

from __future__ import annotations

import pytest
from bouquet_catalog import official_list
from bouquet_catalog.models import Solution

from bouquet.api.web import cookie_name
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import BouquetClient, signed_in_session

pytestmark = pytest.mark.browser
SEGUR = {"segur_couloir": "medecin-ville", "segur_software_type": "LGC", "segur_wave": "vague-2",
         "segur_dsr_version": "DSR LGC Vague 2 v1.1", "segur_software_version": "12.4",
         "segur_referenced_on": "2025-06-30"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _page(browser, app, url, account):
    session = signed_in_session(app, account)
    context = browser.new_context(base_url=url, locale="fr-FR")
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": cookie_name(False), "value": session.new_token, "url": url}])
    return context, context.new_page(), session.new_token


def test_evidence_reviewed_requirement_by_requirement_then_major_version_and_official_list(
        browser, make_live_server, vendor, operator, h, tmp_path):
    server = make_live_server()
    app = server.app
    seller_context, seller, token = _page(browser, app, server.url, vendor)
    reviewer_context, reviewer, _ = _page(browser, app, server.url, operator)
    attestation = tmp_path / "attestation-segur.pdf"
    attestation.write_bytes(PDF)
    try:
        http = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)
        http._set_session(token)
        draft = h.post_form(http, "/p/catalog/vendor/solutions", h.form(
            name="Médicab Cabinet", category="LGC", claim_segur="1", claim_segur_evidence="Attestation SEG-2025-1",
            action="save", **SEGUR))
        solution_id = int(draft.headers["location"].rsplit("/", 1)[1])

        seller.goto(f"/p/catalog/vendor/solutions/{solution_id}")
        form = seller.get_by_test_id("evidence-form")
        form.get_by_label("Exigence prouvée").select_option("segur")
        form.get_by_label("Type de document").select_option("pentest")
        form.get_by_label("Numéro du document").fill("PT-2025-044")
        form.get_by_label("Document (PDF, 5 Mo au plus)").set_input_files(str(attestation))
        form.get_by_role("button", name="Joindre le document").click()
        # The date was forgotten: refused, what was chosen kept.
        assert "Indiquez la date du document." in seller.get_by_test_id("evidence-form").inner_text()
        form = seller.get_by_test_id("evidence-form")
        assert form.get_by_label("Numéro du document").input_value() == "PT-2025-044"
        assert form.get_by_label("Type de document").input_value() == "pentest"
        form.get_by_label("Date du document").fill("2025-05-12")
        form.get_by_label("Document (PDF, 5 Mo au plus)").set_input_files(str(attestation))
        form.get_by_role("button", name="Joindre le document").click()
        assert "Rapport de test d'intrusion par un tiers n° PT-2025-044" in seller.get_by_test_id("evidence").inner_text()
        assert_accessible(seller)
        seller.get_by_role("button", name="Soumettre au référencement").first.click()
        seller.wait_for_url(f"**/p/catalog/vendor/solutions/{solution_id}")

        reviewer.goto(f"/p/catalog/review/{solution_id}")
        reviewer.get_by_role("button", name="Prendre en charge l'instruction").click()
        reviewer.wait_for_url(f"**/p/catalog/review/{solution_id}")
        segur = reviewer.get_by_test_id("requirement-segur")
        assert "PT-2025-044" in segur.inner_text()
        segur.locator('label[for="cat-decision-segur-ok"]').click()
        segur.get_by_role("button", name="Enregistrer la décision").click()
        reviewer.wait_for_url(f"**/p/catalog/review/{solution_id}*")
        hds = reviewer.get_by_test_id("requirement-hds")
        hds.locator('label[for="cat-decision-hds-ko"]').click()
        hds.get_by_label("Commentaire (obligatoire si l'exigence n'est pas satisfaite)").fill("Certificat HDS expiré.")
        hds.get_by_role("button", name="Enregistrer la décision").click()
        reviewer.wait_for_url(f"**/p/catalog/review/{solution_id}*")
        assert reviewer.get_by_test_id("requirement-segur").get_by_test_id("requirement-status").inner_text() == \
            "Exigence satisfaite"
        assert "Certificat HDS expiré." in reviewer.get_by_test_id("requirement-hds").inner_text()
        assert_accessible(reviewer)
        reviewer.get_by_test_id("action-approve").get_by_role("button", name="Référencer").click()
        reviewer.wait_for_url(f"**/p/catalog/review/{solution_id}")
        claims = reviewer.get_by_test_id("claims").first.inner_text()
        with app.state.db.session() as session:
            solution = session.get(Solution, solution_id)
        assert solution.status == "referenced"
        assert "|segur|" in solution.conformities_key and "hds" not in solution.conformities_key
        assert "vérifiée par l'opérateur" in claims.lower()   # badges are shown in capitals

        # A new major version: back to review, flagged for the reviewer.
        changed = h.post_form(http, f"/p/catalog/vendor/solutions/{solution_id}", h.form(
            name="Médicab Cabinet", category="LGC", claim_segur="1", claim_segur_evidence="Attestation SEG-2025-1",
            version="13.0", **{**SEGUR, "segur_software_version": "13.0"}))
        assert changed.status_code == 303
        reviewer.goto(f"/p/catalog/review/{solution_id}")
        assert "la version 13.0 n'est pas couverte" in reviewer.get_by_test_id("major-version").inner_text()

        # The official list, imported, marks the entry.
        listing = tmp_path / "liste.csv"
        listing.write_text("Éditeur;SIREN;Solution;Version;Vague\nCœur Logiciels;999000011;Médicab Cabinet;12.4;Vague 2\n",
                           encoding="utf-8")
        with app.state.db.write() as session:
            official_list.replace(session, official_list.parse(listing), listing.name)
        reviewer.goto(f"/p/catalog/review/{solution_id}")
        assert "Confirmé par la liste officielle" not in reviewer.content()     # 13.0 is not what the ANS listed
        listing.write_text("Éditeur;SIREN;Solution;Version;Vague\nCœur Logiciels;999000011;Médicab Cabinet;13.0;Vague 2\n",
                           encoding="utf-8")
        with app.state.db.write() as session:
            official_list.replace(session, official_list.parse(listing), listing.name)
        reviewer.goto(f"/p/catalog/review/{solution_id}")
        assert "Confirmé par la liste officielle" in reviewer.get_by_test_id("ans-listing").inner_text()
        assert_accessible(reviewer)
    finally:
        seller_context.close()
        reviewer_context.close()

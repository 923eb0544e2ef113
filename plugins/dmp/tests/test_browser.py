"""The whole story in real Chromium: the médecin signs in once in the example practice software (two
factors on Bouquet's pages), opens a demo patient from it with « Ouvrir dans le Bouquet », sees the DMP
panel and the list, opens a PDF, uploads a document and finds it, and the access history shows both;
every page passes axe-core and runs under the CSP.

SQLite only: what it stores is covered on PostgreSQL too by the non-browser tests (panel and list in
test_panel, viewer in test_viewer, upload in test_upload, bris de glace and history in test_access), and
the launch from the practice software by tests/launch/test_launch_browser.py, which runs on both."""

from __future__ import annotations

import re

import pyotp
import pytest
from bouquet_dmp.testing import MARTIN
from playwright.sync_api import expect

from bouquet.testing.browser import assert_accessible
from bouquet.testing.practice_software import NAME
from bouquet.testing.signin import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


def test_doctor_reads_and_feeds_the_dmp(browser, live_server, practice_software, app, make_account, tmp_path):
    secret = pyotp.random_base32()
    make_user(app, make_account, totp_secret=secret, username="alice.martin", given_name="Alice", family_name="MARTIN")
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        # Signed in once, in the practice software, with two factors on Bouquet's pages…
        page.goto(practice_software.url)
        page.get_by_role("link", name="Se connecter avec Bouquet").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter à Bouquet")
        page.fill('input[name="username"]', "alice.martin")
        page.fill('input[name="password"]', PASSWORD)
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Valider").click()
        expect(page.get_by_test_id("ps-user")).to_have_text("Connecté : Alice MARTIN")

        # …the médecin opens the patient from it, straight onto the patient page with the DMP panel.
        traits = MARTIN.traits
        page.get_by_role("button", name=f"Ouvrir {traits.birth_name} {traits.first_given_name} dans le Bouquet").click()
        expect(page).to_have_url(f"{live_server.url}/patient")
        expect(page.get_by_test_id("patient-birth-name")).to_have_text(traits.birth_name)
        expect(page.get_by_test_id("patient-source")).to_contain_text(NAME)
        panel = page.get_by_test_id("dmp-panel")
        panel.wait_for()
        assert panel.get_by_test_id("dmp-total").inner_text() == "7 documents consultables"
        assert panel.get_by_test_id("dmp-latest").count() == 5
        page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
        assert_accessible(page)

        panel.get_by_role("link", name="Voir tout le DMP").click()
        page.wait_for_url("**/p/dmp/documents")
        assert page.get_by_test_id("dmp-document").count() == 7
        # Issue 14, item 6: the history link is there, and the bris-de-glace button shows its words, not an icon alone.
        expect(page.get_by_role("link", name="Historique des accès")).to_be_visible()
        emergency = page.get_by_test_id("dmp-emergency-link")
        expect(emergency).to_be_visible()
        box = emergency.bounding_box()
        assert box is not None and box["width"] > 200, box
        assert emergency.evaluate("e => e.scrollWidth <= e.clientWidth + 1")   # its whole label fits: nothing clipped
        assert_accessible(page)

        page.get_by_role("link", name="Résultats de biologie médicale").click()
        page.wait_for_url(re.compile(r".*/p/dmp/documents/[0-9a-f-]{36}$"))
        frame = page.get_by_test_id("dmp-pdf")
        with page.expect_response(lambda r: r.url.endswith("/content")) as pdf:
            frame.wait_for()
        assert pdf.value.status == 200     # Chromium's PDF viewer takes the stream over: check it with a plain request too
        fetched = page.request.get(frame.get_attribute("src"))
        assert fetched.headers["content-type"] == "application/pdf" and fetched.body().startswith(b"%PDF-")
        assert_accessible(page)

        page.goto("/p/dmp/documents")
        page.get_by_role("link", name="Ajouter un document").click()
        page.wait_for_url("**/p/dmp/upload")
        assert_accessible(page)
        page.get_by_label("Type de document").select_option(label="CR ou fiche de consultation ou de visite")
        page.get_by_label("Titre").fill("Consultation de suivi du 27 novembre")
        page.get_by_label("Date de l'acte ou du document").fill("2026-11-27")
        note = tmp_path / "consultation.txt"
        note.write_text("Patiente revue ce jour. Tension normale.\n", encoding="utf-8")
        page.get_by_label("Fichier").set_input_files(str(note))
        page.get_by_role("button", name="Envoyer dans le DMP").click()
        page.wait_for_url("**/p/dmp/documents")
        assert "a été ajouté au DMP" in page.get_by_role("alert").or_(page.get_by_role("status")).first.inner_text()
        assert page.get_by_test_id("dmp-document").count() == 8
        page.get_by_label("Type de document").select_option(label="CR ou fiche de consultation ou de visite")   # the type filter
        page.get_by_role("button", name="Filtrer").click()
        page.wait_for_url("**/p/dmp/documents?*type=11488-4*")
        rows = page.get_by_test_id("dmp-document")
        expect(rows).to_have_count(3)                               # general practice, cardiology, and the new one
        expect(rows.filter(has_text="CR ou fiche de consultation ou de visite")).to_have_count(3)
        assert_accessible(page)
        page.get_by_role("link", name="Consultation de suivi du 27 novembre").click()
        assert "Tension normale." in page.get_by_test_id("dmp-text").inner_text()
        assert_accessible(page)

        page.goto("/p/dmp/documents")                               # the vaccination record, a CDA, as sections
        page.get_by_role("link", name="Carnet de vaccination").click()
        assert page.get_by_test_id("dmp-cda").get_by_role("heading", name="Vaccinations réalisées").is_visible()
        assert_accessible(page)

        page.goto("/p/dmp/emergency")                               # the bris-de-glace dialog
        assert_accessible(page)
        page.get_by_role("button", name="Accéder au DMP en urgence").click()
        assert "Indiquez le motif de l'urgence" in page.locator("#reason-error").inner_text()
        assert_accessible(page)
        page.get_by_label("Motif de l'urgence").fill("Malaise au cabinet, patiente confuse")
        page.get_by_text("Je certifie que la situation du patient relève de l'urgence").click()   # the DSFR label covers the box
        assert page.get_by_label("Je certifie que la situation du patient relève de l'urgence").is_checked()
        page.get_by_role("button", name="Accéder au DMP en urgence").click()
        page.wait_for_url("**/p/dmp/documents")
        assert page.get_by_test_id("dmp-emergency-on").is_visible()

        page.goto("/p/dmp/history")
        assert page.get_by_test_id("dmp-btg").count() >= 2          # the grant, the list under it
        rows = page.get_by_test_id("dmp-access")
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        assert any("Ouverture d'un document" in t and "Résultats de biologie médicale" in t for t in texts)
        assert any("Ajout d'un document" in t and "Consultation de suivi du 27 novembre" in t for t in texts)
        assert all("Alice MARTIN" in t for t in texts)
        assert_accessible(page)
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        context.close()

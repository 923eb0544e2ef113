"""The DMP's rules from the texts, walked in Chromium: a professional outside the care team records the
patient's consent and reads; the médecin traitant reads a masked document; the patient's opposition blocks
bris de glace; after an emergency access the médecin traitant finds the notification on their home page; a
launch of a « provisoire » identity shows the status and sends the INS nowhere (audit trail, DMP service's log).

SQLite only, like test_browser.py: the same rules are checked on PostgreSQL by test_rules.py."""

from __future__ import annotations

from html import unescape
from typing import Any

import pyotp
import pytest
from bouquet_dmp import access
from bouquet_dmp.models import DmpAccessEvent
from bouquet_dmp.testing import MARTIN, SANTONI
from examples.practice_software.app import PROVISIONAL
from playwright.sync_api import expect
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import audit_ins
from bouquet.testing.browser import assert_accessible
from bouquet.testing.signin import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]

SANTONI_INS = audit_ins(SANTONI)
URGENCE = "Patiente inconsciente, admise aux urgences"


def _person(app: Any, make_account: Any, username: str, given: str, family: str) -> tuple[Any, str]:
    secret = pyotp.random_base32()
    account, _ = make_user(app, make_account, totp_secret=secret, username=username, given_name=given, family_name=family)
    return account, secret


def _page(browser: Any, live_server: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return context, page, errors


def _sign_in(page: Any, username: str, secret: str) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url("**/")


def _open(page: Any, patient: Any) -> None:
    """The portal's own form for fictitious patients: no practice software attests a consultation."""
    page.goto("/patient/open")
    page.get_by_label("Choisir un patient fictif").select_option(value=patient.ins.matricule)
    page.get_by_role("button", name="Ouvrir ce patient").click()
    page.wait_for_url("**/patient")


def test_outside_the_care_team_a_professional_records_consent_and_reads(browser, live_server, app, make_account):
    _, secret = _person(app, make_account, "paul.externe", "Paul", "EXTERNE")
    context, page, errors = _page(browser, live_server)
    try:
        _sign_in(page, "paul.externe", secret)
        _open(page, MARTIN)
        page.goto("/p/dmp/documents")
        expect(page.get_by_test_id("dmp-problem")).to_contain_text("Vous ne faites pas partie de l'équipe de soins")
        assert page.get_by_test_id("dmp-document").count() == 0
        page.get_by_test_id("dmp-consent-link").click()
        page.wait_for_url("**/p/dmp/consent")
        assert_accessible(page)
        page.get_by_role("button", name="Enregistrer le consentement").click()       # nothing said yet: refused
        expect(page.locator("#how-error")).to_have_text("Indiquez comment le patient a donné son consentement.")
        expect(page.locator("#confirm-error")).to_be_visible()
        assert_accessible(page)
        page.get_by_label("Comment le patient a donné son consentement").select_option(value="oral")
        page.get_by_text("Le patient a été informé et consent à cet accès").click()
        page.get_by_role("button", name="Enregistrer le consentement").click()
        page.wait_for_url("**/p/dmp/documents")
        expect(page.get_by_test_id("dmp-document")).to_have_count(7)
        page.get_by_role("link", name="Historique des accès").click()
        page.wait_for_url("**/p/dmp/history")
        reasons = page.get_by_test_id("dmp-basis").all_inner_texts()
        assert any(r.startswith("consentement du patient recueilli oralement") for r in reasons)
        assert any("Vous ne faites pas partie de l'équipe de soins" in r for r in reasons)     # the refusal, and why
        assert_accessible(page)
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        context.close()


def test_the_medecin_traitant_reads_a_masked_document(browser, live_server, app, make_account):
    doctor, secret = _person(app, make_account, "alice.martin", "Alice", "MARTIN")
    access.set_medecin_traitant(app.state.db, SANTONI_INS, doctor.idnat_ps)
    context, page, _ = _page(browser, live_server)
    try:
        _sign_in(page, "alice.martin", secret)
        _open(page, SANTONI)
        page.goto("/p/dmp/documents")
        row = page.get_by_test_id("dmp-document").filter(has_text="Compte rendu de consultation de psychiatrie")
        expect(row).to_contain_text("masqué par le patient")
        row.get_by_role("link").click()
        expect(page.get_by_test_id("dmp-text")).to_contain_text("CONSULTATION DE PSYCHIATRIE")
        assert_accessible(page)
    finally:
        context.close()


def test_the_patients_opposition_blocks_bris_de_glace(browser, live_server, app, make_account):
    _, secret = _person(app, make_account, "paul.urgence", "Paul", "URGENCE")
    access.set_opposition(app.state.db, SANTONI_INS, emergency=True)
    context, page, _ = _page(browser, live_server)
    try:
        _sign_in(page, "paul.urgence", secret)
        _open(page, SANTONI)
        page.goto("/p/dmp/documents")
        page.get_by_test_id("dmp-emergency-link").click()
        page.wait_for_url("**/p/dmp/emergency")
        page.get_by_label("Motif de l'urgence").fill(URGENCE)
        page.get_by_text("Je certifie que la situation du patient relève de l'urgence").click()
        page.get_by_role("button", name="Accéder au DMP en urgence").click()
        expect(page.locator("#reason-error")).to_contain_text("opposé par avance à l'accès en urgence")
        expect(page.get_by_label("Motif de l'urgence")).to_have_value(URGENCE)       # what was typed stays
        assert_accessible(page)
        page.goto("/p/dmp/documents")
        assert page.get_by_test_id("dmp-emergency-on").count() == 0
    finally:
        context.close()


def test_after_an_emergency_access_the_medecin_traitant_sees_the_notification(browser, live_server, app, make_account):
    doctor, doctor_secret = _person(app, make_account, "alice.traitant", "Alice", "TRAITANT")
    _, secret = _person(app, make_account, "paul.smur", "Paul", "SMUR")
    access.set_medecin_traitant(app.state.db, SANTONI_INS, doctor.idnat_ps)
    context, page, _ = _page(browser, live_server)
    try:
        _sign_in(page, "paul.smur", secret)
        _open(page, SANTONI)
        page.goto("/p/dmp/emergency")
        page.get_by_label("Motif de l'urgence").fill(URGENCE)
        page.get_by_text("Je certifie que la situation du patient relève de l'urgence").click()
        page.get_by_role("button", name="Accéder au DMP en urgence").click()
        page.wait_for_url("**/p/dmp/documents")
        page.goto("/p/dmp/history")
        notices = page.get_by_test_id("dmp-notification")
        expect(notices).to_have_count(2)                       # the patient, and her médecin traitant
        expect(notices.filter(has_text="son médecin traitant")).to_contain_text(URGENCE)
        assert_accessible(page)
    finally:
        context.close()
    context, page, _ = _page(browser, live_server)
    try:
        _sign_in(page, "alice.traitant", doctor_secret)
        notice = page.get_by_test_id("home-notice")
        expect(notice).to_contain_text("Accès en urgence (bris de glace) au DMP de votre patient SANTONI Antonia")
        expect(notice).to_contain_text("Paul SMUR")
        assert_accessible(page)
    finally:
        context.close()


def test_a_provisional_identity_shows_its_status_and_sends_no_ins(browser, live_server, practice_software, app, make_account):
    _, secret = _person(app, make_account, "alice.cabinet", "Alice", "CABINET")
    matricule = PROVISIONAL.ins.matricule
    context, page, _ = _page(browser, live_server)
    try:
        page.goto(practice_software.url)
        expect(page.get_by_test_id(f"ps-patient-{matricule}").get_by_test_id("ps-identity-status")).to_have_text(
            "Identité provisoire")
        page.get_by_role("link", name="Se connecter avec Bouquet").click()
        page.fill('input[name="username"]', "alice.cabinet")
        page.fill('input[name="password"]', PASSWORD)
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Valider").click()
        expect(page.get_by_test_id("ps-user")).to_have_text("Connecté : Alice CABINET")
        page.get_by_role("button", name="Ouvrir DIALLO MAMADOU dans le Bouquet").click()
        expect(page).to_have_url(f"{live_server.url}/patient")
        expect(page.get_by_test_id("patient-identity-status")).to_have_text("Identité provisoire")
        expect(page.get_by_test_id("patient-ins-not-shared")).to_be_visible()
        panel = page.get_by_test_id("dmp-panel")
        expect(panel).to_contain_text("n'est pas qualifiée : son INS n'est pas partagé")
        page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
        assert_accessible(page)
        page.goto("/p/dmp/documents")
        expect(page.get_by_test_id("dmp-problem")).to_contain_text("n'est pas qualifiée")
    finally:
        context.close()
    with app.state.db.session() as session:
        trail = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        dmp_log = session.exec(select(DmpAccessEvent)).all()
    assert trail and not [e for e in trail if matricule in f"{e.patient_ins} {e.resource} {e.details}"]
    assert any(e.patient_ins and e.patient_ins.startswith("traits|DIALLO|MAMADOU|1968-03-12") for e in trail)
    assert not [e for e in dmp_log if matricule in f"{e.patient_ins} {e.detail} {e.basis}"]
    assert unescape(str(dmp_log)).count(matricule) == 0


def test_the_samu_regulating_doctor_opens_the_dmp_unless_the_patient_objected(browser, live_server, app, make_account):
    """SAMU regulation mode (centre 15, CSP L. 1111-17 I): its own page, refused when the patient objected to it,
    traced, and the patient and the médecin traitant informed like after a bris de glace."""
    doctor, doctor_secret = _person(app, make_account, "alice.mt", "Alice", "TRAITANTE")
    _, secret = _person(app, make_account, "remi.regul", "Rémi", "REGULATEUR")
    access.set_medecin_traitant(app.state.db, SANTONI_INS, doctor.idnat_ps)
    access.set_opposition(app.state.db, SANTONI_INS, regulation=True)
    appel = "Appel au 15 : douleur thoracique, patiente seule à domicile"
    context, page, errors = _page(browser, live_server)
    try:
        _sign_in(page, "remi.regul", secret)
        _open(page, SANTONI)
        page.goto("/p/dmp/documents")
        page.get_by_test_id("dmp-regulation-link").click()
        page.wait_for_url("**/p/dmp/regulation")
        expect(page.get_by_role("heading", level=1)).to_have_text("Accès au DMP en régulation (SAMU – centre 15)")
        page.get_by_label("Motif de l'appel régulé").fill(appel)
        page.get_by_role("button", name="Accéder au DMP en régulation").click()       # the confirmation forgotten
        expect(page.locator("#confirm-error")).to_have_text("Confirmez que vous régulez un appel concernant ce patient.")
        expect(page.get_by_label("Motif de l'appel régulé")).to_have_value(appel)
        page.get_by_text("Je suis le médecin régulateur du SAMU – centre 15").click()
        page.get_by_role("button", name="Accéder au DMP en régulation").click()
        expect(page.locator("#reason-error")).to_contain_text("opposé par avance à l'accès du médecin régulateur")
        assert_accessible(page)

        access.set_opposition(app.state.db, SANTONI_INS, regulation=False)           # she withdrew her objection
        page.get_by_role("button", name="Accéder au DMP en régulation").click()
        page.wait_for_url("**/p/dmp/documents")
        expect(page.get_by_test_id("dmp-emergency-on")).to_be_visible()
        expect(page.get_by_test_id("dmp-document").filter(has_text="Compte rendu de consultation de psychiatrie")).to_have_count(1)
        page.goto("/p/dmp/history")
        expect(page.get_by_text("Accès en régulation (SAMU – centre 15)").first).to_be_visible()
        notices = page.get_by_test_id("dmp-notification")
        expect(notices).to_have_count(2)
        expect(notices.filter(has_text="son médecin traitant")).to_contain_text(appel)
        assert_accessible(page)
        # The two refusals answer 400, which the console reports; nothing else (no CSP violation) may.
        assert [e for e in errors if "status of 400" not in e] == [] and len(errors) == 2, errors
    finally:
        context.close()
    with app.state.db.session() as session:
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.emergency_access")).all()
    assert [(e.outcome, e.details["mode"]) for e in audited] == [("denied", "regulation"), ("success", "regulation")]
    context, page, _ = _page(browser, live_server)
    try:
        _sign_in(page, "alice.mt", doctor_secret)
        expect(page.get_by_test_id("home-notice")).to_contain_text(
            "Accès en régulation (SAMU – centre 15) au DMP de votre patient SANTONI Antonia")
    finally:
        context.close()

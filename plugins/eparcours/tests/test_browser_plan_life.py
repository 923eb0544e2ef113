"""In Chromium, as people walk it: a doctor's inclusion refused then corrected (nothing typed lost), the
team changed, a task reassigned, the patient's consent withdrawn (plan ended, tasks closed, export
updated); a social worker writing in the cahier de liaison and refused the DMP; a professional of
Occitanie offered Occitanie's pathways and not Auvergne-Rhône-Alpes's. Pages pass axe-core under the CSP."""

from __future__ import annotations

import re
from datetime import date

import pytest
from bouquet_eparcours import care_plans
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.catalogue import catalogue_of

from bouquet import hookimpl
from bouquet.api.audit import Auditor
from bouquet.api.patient import DEMO_PATIENTS
from bouquet.api.web import cookie_name
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import BouquetClient, free_port, serve, signed_in_session

pytestmark = pytest.mark.browser
MARTIN = DEMO_PATIENTS[0]
LYON = {"name": "Cabinet Croix-Rousse", "postal_code": "69004", "commune_code": "69384", "commune": "Lyon"}
TOULOUSE = {"name": "Cabinet des Carmes", "postal_code": "31000", "commune_code": "31555", "commune": "Toulouse"}


class _Occitanie:
    @hookimpl
    def eparcours_pathways(self):
        return [{"id": "bpco-occitanie", "version": "1.0", "title": "Suivi de la BPCO (Occitanie)", "regions": ["76"],
                 "roles": [{"id": "coordinator", "label": "Coordinateur"}],
                 "steps": [{"id": "spiro", "title": "Spirométrie", "role": "coordinator",
                            "start": {"after": "inclusion", "offset": "P1M"}}]}]


@pytest.fixture
def served(make_app, region_plugins):
    port = free_port()
    app = make_app(extra_plugins=[*region_plugins, ("region_occitanie", _Occitanie())], base_url=f"http://localhost:{port}")
    stop = serve(app, port)
    yield app, f"http://localhost:{port}"
    stop()


def _page_of(browser, app, url, account, *, patient=None):
    """A browser page signed in as `account` (with `patient` opened first, as the practice software would)."""
    session = signed_in_session(app, account)
    if patient is not None:
        http = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)
        http._set_session(session.new_token)
        assert http.submit("/patient", {"demo": patient.ins.matricule}).status_code == 303
    context = browser.new_context(base_url=url, locale="fr-FR")
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": cookie_name(False), "value": session.new_token, "url": url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return context, page, errors


def test_a_plan_included_its_team_changed_a_task_reassigned_consent_withdrawn(browser, served, make_account, nurse):
    app, url = served
    doctor = make_account(given_name="Alice", family_name="MARTIN", practice_sites=[LYON])
    other_nurse = make_account(given_name="Marc", family_name="PETIT", profession_code="60", profession_label="Infirmier")
    context, page, errors = _page_of(browser, app, url, doctor, patient=MARTIN)
    try:
        page.goto("/p/eparcours/include?pathway=diabete-type-2")
        page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
        assert_accessible(page)
        page.get_by_label("Date du consentement").fill("2026-04-01")          # a typing error: in the future
        page.get_by_label("Précision (facultatif)").fill("Formulaire signé versé au dossier")
        page.get_by_label("Infirmier ou infirmière").select_option(label="Léa DURAND — Infirmier")
        page.get_by_role("button", name="Inclure le patient").click()
        assert "ne peut pas être dans le futur" in page.get_by_test_id("include-form").inner_text()
        assert "Indiquez comment le consentement" in page.get_by_test_id("include-form").inner_text()
        # Everything typed is still there: only the two errors need fixing.
        assert page.get_by_label("Précision (facultatif)").input_value() == "Formulaire signé versé au dossier"
        assert page.get_by_label("Infirmier ou infirmière").input_value() == str(nurse.id)
        assert_accessible(page)
        page.get_by_label("Date du consentement").fill("2026-02-20")
        page.get_by_label("Recueilli").select_option("written")
        page.get_by_role("button", name="Inclure le patient").click()
        page.wait_for_url(re.compile(r".*/p/eparcours/plans/\d+$"))
        plan_id = int(page.url.rsplit("/", 1)[1])
        assert "Léa DURAND" in page.get_by_test_id("care-team").inner_text()
        assert_accessible(page)

        # The team changes: Léa leaves, Marc joins as the nurse.
        page.get_by_role("button", name="Retirer Léa DURAND (Infirmier ou infirmière)").click()
        page.wait_for_url(f"**/p/eparcours/plans/{plan_id}")
        assert "Léa DURAND" not in page.get_by_test_id("care-team").inner_text()
        page.get_by_test_id("team-form").get_by_label("Rôle").select_option("infirmier")
        page.get_by_test_id("team-form").get_by_label("Professionnel").select_option(str(other_nurse.id))
        page.get_by_role("button", name="Ajouter à l'équipe").click()
        assert "Infirmier ou infirmière : Marc PETIT" in page.get_by_test_id("care-team").inner_text()

        # A task reassigned: the foot examination (back with the coordinator since Léa left) goes to Marc.
        page.get_by_role("link", name="Examen des pieds").first.click()
        page.get_by_label("Attribuer à").select_option(str(other_nurse.id))
        page.get_by_role("button", name="Réattribuer").click()
        page.wait_for_url(f"**/p/eparcours/plans/{plan_id}")
        row = page.get_by_test_id("plan-task").filter(has_text="Examen des pieds").first
        assert "Marc PETIT" in row.inner_text()

        # The patient withdraws their consent: the plan ends, its tasks close, the export says so.
        form = page.get_by_test_id("withdrawal-form")
        form.get_by_label("Date du retrait").fill("2026-03-01")
        form.get_by_label("Exprimé").select_option("oral")
        page.get_by_role("button", name="Enregistrer le retrait du consentement").click()
        page.wait_for_url(f"**/p/eparcours/plans/{plan_id}")
        assert page.get_by_test_id("plan-status").inner_text().startswith("Arrêté")
        assert "le 01/03/2026" in page.get_by_test_id("consent-withdrawn").inner_text()
        badges = page.get_by_test_id("plan-task").locator(".fr-badge").all_inner_texts()
        assert badges and {badge.lower() for badge in badges} == {"annulée"}   # shown in capitals
        assert page.get_by_test_id("withdrawal-form").count() == 0
        assert_accessible(page)
        bundle = page.request.get(f"/p/eparcours/plans/{plan_id}/fhir").json()
        resources = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
        assert resources["CarePlan"]["status"] == "revoked" and resources["Consent"]["status"] == "inactive"
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        context.close()


def test_a_social_worker_writes_in_the_cahier_de_liaison_but_never_reaches_the_dmp(browser, served, doctor, make_account):
    app, url = served
    social_worker = make_account(kind="coordination", given_name="Inès", family_name="FAURE", organisation="DAC Rhône",
                                 coordination_role="Assistante de service social")
    stroke = catalogue_of(app.state).current("suivi-post-avc")
    plan_id = care_plans.include(
        app.state.db, Auditor(app.state.db, app.state.audit_key, actor="test"),
        Actor(doctor, None, can_schedule=True, can_complete=True), MARTIN,
        care_plans.Inclusion(stroke.definition, date(2026, 2, 1), date(2026, 2, 1), "oral", None,
                             {"coordinator": doctor.id, "medecin-traitant": doctor.id,
                              "travailleur-social": social_worker.id}))
    context, page, errors = _page_of(browser, app, url, social_worker)
    try:
        page.goto(f"/p/eparcours/plans/{plan_id}")
        assert "Inès FAURE" in page.get_by_test_id("care-team").inner_text()
        page.get_by_label("Note pour l'équipe de soins").fill("Aide à domicile en place dès lundi ; dossier APA déposé.")
        page.get_by_role("button", name="Ajouter au cahier de liaison").click()
        page.wait_for_url(f"**/p/eparcours/plans/{plan_id}")
        note = page.get_by_test_id("liaison-note").first.inner_text()
        assert "Aide à domicile en place dès lundi" in note and "Inès FAURE" in note
        assert_accessible(page)
        response = page.goto("/p/dmp/documents")
        assert response is not None and response.status == 403
        assert "Votre compte ne permet pas de consulter le DMP." in page.content()
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        context.close()


def test_a_professional_of_occitanie_is_offered_occitanie_pathways_only(browser, served, make_account):
    app, url = served
    toulouse = make_account(given_name="Anne", family_name="SERRE", practice_sites=[TOULOUSE])
    context, page, _ = _page_of(browser, app, url, toulouse, patient=MARTIN)
    try:
        page.goto("/p/eparcours/include")
        options = page.get_by_label("Parcours").locator("option").all_inner_texts()
        assert "Suivi de la BPCO (Occitanie)" in options
        assert not [o for o in options if "diabète" in o or "AVC" in o]      # Auvergne-Rhône-Alpes's
        assert "Occitanie" in page.get_by_test_id("offer-regions").inner_text()
        assert_accessible(page)
    finally:
        context.close()

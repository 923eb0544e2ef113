"""The inclusion form as a doctor walks it: refused once with every error at once and everything typed
kept, corrected, accepted; the person including proposed for their own role only; the pathways of the
regions where the professional practises; plain French on the task page's choices."""

from __future__ import annotations

import html
import re

import pytest
from bouquet_eparcours.models import CarePlan
from bouquet_eparcours.regions import department_of, practice_regions
from sqlmodel import select

from bouquet import hookimpl
from bouquet.api.patient import DEMO_PATIENTS

MARTIN = DEMO_PATIENTS[0]
INS = f"{MARTIN.ins.oid}|{MARTIN.ins.matricule}"
TOULOUSE = {"name": "Cabinet des Carmes", "postal_code": "31000", "commune_code": "31555", "commune": "Toulouse"}
LYON = {"name": "Cabinet Croix-Rousse", "postal_code": "69004", "commune_code": "69384", "commune": "Lyon"}
OCCITANIE_PATHWAY = {
    "id": "bpco-occitanie", "version": "1.0", "title": "Suivi de la BPCO (Occitanie)", "regions": ["76"],
    "roles": [{"id": "coordinator", "label": "Coordinateur"}, {"id": "medecin-traitant", "label": "Médecin traitant",
                                                               "professions": ["10"]}],
    "steps": [{"id": "spiro", "title": "Spirométrie", "role": "medecin-traitant",
               "start": {"after": "inclusion", "offset": "P1M"}}],
}


def text(response):
    return html.unescape(response.text)


class _Occitanie:
    """A second region's package, as an object registered with the plugin manager."""

    @hookimpl
    def eparcours_pathways(self):
        return [OCCITANIE_PATHWAY]


@pytest.fixture
def app(make_app, region_plugins):
    return make_app(extra_plugins=[*region_plugins, ("region_occitanie", _Occitanie())])


def _selected(page: str, name: str) -> str:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected', select_html)
    return found.group(1) if found else ""


def test_a_refused_inclusion_keeps_what_was_typed_and_reports_every_error_at_once(client, doctor, open_patient):
    client.login(doctor)
    open_patient(client)
    typed = {"pathway": "diabete-type-2", "patient_ins": INS, "reference_date": "2026-01-15",
             "consent_date": "2026-05-01", "consent_method": "", "consent_note": "Formulaire versé au dossier",
             "member_coordinator": str(doctor.id), "member_medecin-traitant": str(doctor.id),
             "member_infirmier": str(doctor.id)}
    refused = client.submit("/p/eparcours/plans", typed)
    assert refused.status_code == 400
    page = text(refused)
    # Every error at once: the dates and consent, and the team (which used to come only on the second try).
    assert "La date du consentement ne peut pas être dans le futur." in page
    assert "Indiquez comment le consentement du patient a été recueilli." in page
    assert "ne peut pas tenir le rôle « Infirmier ou infirmière »" in page
    # What was typed is still there.
    assert 'value="Formulaire versé au dossier"' in page
    assert 'value="2026-05-01"' in page and 'value="2026-01-15"' in page
    assert _selected(page, "member_medecin-traitant") == str(doctor.id)

    fixed = {**typed, "consent_date": "2026-01-10", "consent_method": "written", "member_infirmier": ""}
    accepted = client.submit("/p/eparcours/plans", fixed)
    assert accepted.status_code == 303
    with client.app.state.db.session() as session:
        plan = session.exec(select(CarePlan)).one()
    assert plan.consent_note == "Formulaire versé au dossier"


def test_an_unreadable_date_is_reported_with_the_other_errors(client, doctor, open_patient):
    client.login(doctor)
    open_patient(client)
    refused = client.submit("/p/eparcours/plans", {
        "pathway": "diabete-type-2", "patient_ins": INS, "reference_date": "15/01", "consent_date": "",
        "consent_method": "oral"})
    page = text(refused)
    assert refused.status_code == 400
    # Each under its field (and in the summary above the form, a link to the field).
    assert 'id="reference_date-error">Indiquez une date valide.' in page
    assert 'id="consent_date-error">Indiquez une date valide.' in page
    assert '<a href="#consent_date">Indiquez une date valide.</a>' in page
    assert "Désignez le coordinateur du parcours." in page
    assert _selected(page, "consent_method") == "oral"


def test_the_gp_is_proposed_as_medecin_traitant_not_as_the_stroke_unit_doctor(client, make_account, open_patient):
    gp = make_account(given_name="Jean", family_name="ROCHE", practice_sites=[LYON])
    client.login(gp)
    open_patient(client)
    page = text(client.get("/p/eparcours/include?pathway=suivi-post-avc"))
    assert _selected(page, "member_coordinator") == str(gp.id)
    assert _selected(page, "member_medecin-traitant") == str(gp.id)
    assert _selected(page, "member_neurologue") == ""


def test_pathways_are_offered_where_the_professional_practises(client, make_account, open_patient, monkeypatch):
    toulouse = make_account(given_name="Anne", family_name="SERRE", practice_sites=[TOULOUSE])
    client.login(toulouse)
    open_patient(client)
    page = text(client.get("/p/eparcours/include"))
    assert "Suivi de la BPCO (Occitanie)" in page and "Suivi du diabète de type 2" not in page
    assert "Occitanie" in client.get("/p/eparcours/include").text
    refused = client.submit("/p/eparcours/plans", {"pathway": "diabete-type-2", "patient_ins": INS})
    assert refused.status_code == 400 and "là où vous exercez" in text(refused)
    assert "Suivi du diabète" not in text(client.get("/p/eparcours/panel"))
    # The operator opens a pathway to everyone.
    monkeypatch.setenv("BOUQUET_EPARCOURS_ENABLED_PATHWAYS", "diabete-type-2")
    assert "Suivi du diabète de type 2" in text(client.get("/p/eparcours/include"))

    lyon = make_account(given_name="Paul", family_name="GARNIER", practice_sites=[LYON])
    client.login(lyon)
    open_patient(client)
    monkeypatch.delenv("BOUQUET_EPARCOURS_ENABLED_PATHWAYS")
    page = text(client.get("/p/eparcours/include"))
    assert "Suivi du diabète de type 2" in page and "BPCO" not in page


def test_unknown_practice_sites_offer_everything_and_say_why(client, doctor, open_patient):
    client.login(doctor)                               # no practice site on file
    open_patient(client)
    page = text(client.get("/p/eparcours/include"))
    assert "ne disent pas dans quelle région vous exercez" in page
    assert "BPCO" in page and "Suivi du diabète de type 2" in page


@pytest.mark.backends("sqlite")
def test_departments_and_regions():
    assert department_of({"commune_code": "2A004"}) == "2A"
    assert department_of({"commune_code": "97411"}) == "974"
    assert department_of({"postal_code": "20200"}) == "2B" and department_of({"postal_code": "20000"}) == "2A"
    assert practice_regions([TOULOUSE, LYON]) == {"76", "84"}
    assert practice_regions([{"name": "sans adresse"}]) == frozenset()


def test_task_choices_are_plain_french(client, doctor, nurse, include, tasks_of):
    client.login(doctor)
    plan_id = include(client, members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})
    waiting = tasks_of(plan_id)["fond-oeil"]          # nobody holds the role: "requested"
    page = text(client.get(f"/p/eparcours/tasks/{waiting.id}"))
    assert "J'ai pris connaissance de la demande" in page and "Je prends en charge l'étape" in page
    assert "→" not in re.search(r'<select[^>]*name="status".*?</select>', page, re.S).group(0)
    assert "Accuser réception" not in page


def test_every_task_form_gives_back_what_was_typed_after_a_refusal(client, doctor, nurse, include, tasks_of):
    client.login(doctor)
    plan_id = include(client, members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})
    task = tasks_of(plan_id)["hba1c"]
    url = f"/p/eparcours/tasks/{task.id}"
    # Completing: a value out of range; the date and the note typed stay.
    refused = client.submit(f"{url}/status", {"status": "completed", "version": task.version, "value_hba1c": "45",
                                              "performed_on": "2026-03-01", "note": "Patient à jeun"})
    page = text(refused)
    assert refused.status_code == 400 and 'value="45"' in page and 'value="2026-03-01"' in page and "Patient à jeun" in page
    # Rescheduling: a date ten years ahead is refused and shown again.
    refused = client.submit(f"{url}/schedule", {"version": task.version, "due_on": "2036-03-01"})
    assert refused.status_code == 400 and 'value="2036-03-01"' in text(refused)
    # A note too long for the timeline is cut, never lost silently; an empty one is refused and says so.
    refused = client.submit(f"{url}/notes", {"note": "   "})
    assert refused.status_code == 400 and "La note est vide." in text(refused)
    # Changing the status with a reason FHIR does not allow: the reason typed stays.
    refused = client.submit(f"{url}/status", {"status": "requested", "version": task.version, "reason": "Absent"})
    assert refused.status_code == 409 and "Absent" in text(refused)
    # And the corrected second try goes through.
    assert client.submit(f"{url}/schedule", {"version": task.version, "due_on": "2026-05-01"}).status_code == 303

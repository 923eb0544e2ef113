"""Including the patient in context in a pathway: care plan, care team, first tasks and their due
dates, consent, the audit trail, and who may see the plan."""

from __future__ import annotations

import html
from datetime import date

from bouquet_eparcours.models import CarePlan, CareTeamMember, TaskEvent
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import DEMO_PATIENTS

INS = "1.2.250.1.213.1.4.10|"
MARTIN = DEMO_PATIENTS[0]


def text(response):
    return html.unescape(response.text)


def _events(app, action):
    with app.state.db.session() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def test_a_doctor_includes_a_demo_patient_in_the_diabetes_pathway(client, doctor, nurse, include, tasks_of):
    client.login(doctor)
    plan_id = include(client, "diabete-type-2", reference_date="2026-01-15",
                      members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})
    tasks = tasks_of(plan_id)
    # Every step starting from the reference date has its first occurrence; the ETP follow-up waits for the diagnosis.
    assert set(k for k in tasks if "#" not in k) == {"hba1c", "fond-oeil", "pieds", "rein", "lipides",
                                                       "etp-diagnostic", "dentaire", "pharmacie"}
    due = {step: (task.due_on, task.latest_on) for step, task in tasks.items() if "#" not in step}
    assert due["hba1c"] == (date(2026, 4, 15), date(2026, 7, 15))          # P3M, tolerance P3M
    assert due["pieds"] == (date(2026, 2, 15), date(2026, 3, 15))          # P1M, tolerance P1M
    assert due["etp-diagnostic"] == (date(2026, 2, 15), date(2026, 3, 15))
    assert due["dentaire"] == (date(2026, 7, 15), date(2027, 1, 15))
    assert tasks["hba1c"].owner_id == doctor.id and tasks["hba1c"].status == "ready"
    assert tasks["etp-diagnostic"].owner_id == nurse.id
    # Nobody holds the ophthalmology role yet: the task waits for someone to take it.
    assert tasks["fond-oeil"].owner_id is None and tasks["fond-oeil"].status == "requested"

    with client.app.state.db.session() as session:
        plan = session.get(CarePlan, plan_id)
        team = {(m.role, m.account_id) for m in session.exec(select(CareTeamMember)
                                                               .where(CareTeamMember.care_plan_id == plan_id))}
        timeline = session.exec(select(TaskEvent).where(TaskEvent.care_plan_id == plan_id)).all()
    assert plan.patient_ins.startswith(INS) and plan.pathway_version == "2026.1" and plan.status == "active"
    assert (plan.consent_date, plan.consent_method, plan.reference_date) == (date(2026, 1, 10), "oral", date(2026, 1, 15))
    assert team == {("coordinator", doctor.id), ("medecin-traitant", doctor.id), ("infirmier", nurse.id)}
    assert [line.kind for line in timeline] == ["included"]

    created = _events(client.app, "eparcours.plan.created")
    assert len(created) == 1 and created[0].patient_ins == plan.patient_ins and created[0].outcome == "success"

    page = client.get(f"/p/eparcours/plans/{plan_id}")
    assert page.status_code == 200
    shown = text(page)
    assert "Suivi du diabète de type 2 de l'adulte" in shown and "Dosage de l'HbA1c" in shown
    assert "15/04/2026" in shown and "Inclusion dans le parcours" in shown
    assert [e.outcome for e in _events(client.app, "eparcours.plan.read")] == ["success"]


def test_the_inclusion_form_offers_the_pathways_and_the_team(client, doctor, nurse, open_patient):
    client.login(doctor)
    open_patient(client)
    form = client.get("/p/eparcours/include?pathway=suivi-post-avc")
    assert form.status_code == 200
    assert "Date de sortie d'hospitalisation" in text(form)
    assert "Masseur-kinésithérapeute" in text(form) and nurse.family_name in text(form)
    chooser = client.get("/p/eparcours/include")
    assert "Suivi du diabète de type 2 de l'adulte" in text(chooser) and "Suivi après un accident vasculaire" in text(chooser)


def test_inclusion_needs_a_patient_in_context_and_the_same_patient(client, doctor, include, open_patient):
    client.login(doctor)
    refused = client.submit("/p/eparcours/plans", {"pathway": "diabete-type-2"})
    assert refused.status_code == 409 and "Aucun patient n'est ouvert" in text(refused)
    open_patient(client)
    other = client.submit("/p/eparcours/plans", {"pathway": "diabete-type-2", "patient_ins": "1.2.250.1.213.1.4.10|x"})
    assert other.status_code == 409 and "Le patient ouvert a changé" in text(other)


def test_inclusion_errors_are_shown_on_the_form(client, doctor, nurse, open_patient):
    client.login(doctor)
    open_patient(client)
    patient = MARTIN
    response = client.submit("/p/eparcours/plans", {
        "pathway": "diabete-type-2", "patient_ins": f"{patient.ins.oid}|{patient.ins.matricule}",
        "reference_date": "2026-01-15", "consent_date": "2026-04-01", "consent_method": "",
        "member_infirmier": str(doctor.id)})
    assert response.status_code == 400
    assert "La date du consentement ne peut pas être dans le futur." in text(response)
    assert "Indiquez comment le consentement du patient a été recueilli." in text(response)
    assert "Désignez le coordinateur du parcours." in text(response)
    with client.app.state.db.session() as session:
        assert session.exec(select(CarePlan)).all() == []


def test_a_role_is_held_only_by_its_professions(client, doctor, open_patient):
    client.login(doctor)
    open_patient(client)
    patient = MARTIN
    response = client.submit("/p/eparcours/plans", {
        "pathway": "diabete-type-2", "patient_ins": f"{patient.ins.oid}|{patient.ins.matricule}",
        "reference_date": "2026-01-15", "consent_date": "2026-01-10", "consent_method": "written",
        "member_coordinator": str(doctor.id), "member_infirmier": str(doctor.id)})
    assert response.status_code == 400 and "ne peut pas tenir le rôle « Infirmier ou infirmière »" in text(response)


def test_a_patient_follows_a_pathway_once(client, doctor, include):
    client.login(doctor)
    include(client, members={"coordinator": doctor})
    patient = MARTIN
    again = client.submit("/p/eparcours/plans", {
        "pathway": "diabete-type-2", "patient_ins": f"{patient.ins.oid}|{patient.ins.matricule}",
        "reference_date": "2026-01-15", "consent_date": "2026-01-10", "consent_method": "oral",
        "member_coordinator": str(doctor.id)})
    assert again.status_code == 409 and "suit déjà le parcours" in text(again) and "Dr Alice MARTIN" in text(again)


def test_only_the_care_team_sees_a_plan(client, doctor, make_account, include):
    client.login(doctor)
    plan_id = include(client, members={"coordinator": doctor})
    stranger = make_account(given_name="Paul", family_name="DURAND")
    client.login(stranger)
    assert client.get(f"/p/eparcours/plans/{plan_id}").status_code == 403
    assert client.get(f"/p/eparcours/plans/{plan_id}/fhir").status_code == 403
    assert client.get("/p/eparcours/plans/999999").status_code == 404
    denied = [e for e in _events(client.app, "eparcours.plan.read") if e.outcome == "denied"]
    assert len(denied) == 1 and denied[0].patient_ins.startswith(INS) and "DURAND" in denied[0].actor


def test_a_secretary_cannot_include(client, doctor, secretary, open_patient):
    client.login(secretary, acting_for=doctor)
    open_patient(client)
    assert client.get("/p/eparcours/include").status_code == 403

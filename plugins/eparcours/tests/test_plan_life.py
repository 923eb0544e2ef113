"""A plan's life after inclusion: suspended, resumed, ended; the patient's withdrawal of consent (plan
revoked, open tasks closed, FHIR export updated); the care team changed (tasks follow); the cahier de
liaison; coordination accounts (social workers) in the team; steps nobody holds in the coordinator's
« Mes tâches »; every refused form given back with what was typed."""

from __future__ import annotations

import html

import pytest
from bouquet_eparcours.models import CarePlan, CareTeamMember, TaskEvent
from sqlmodel import select

from bouquet.api.audit import AuditEvent


def text(response):
    return html.unescape(response.text)


def _audit(app, action):
    with app.state.db.session() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def _plan(app, plan_id):
    with app.state.db.session() as session:
        return session.get(CarePlan, plan_id)


def _team(app, plan_id):
    with app.state.db.session() as session:
        return {(m.role, m.account_id) for m in session.exec(
            select(CareTeamMember).where(CareTeamMember.care_plan_id == plan_id))}


@pytest.fixture
def social_worker(make_account):
    return make_account(kind="coordination", given_name="Inès", family_name="FAURE", organisation="DAC Rhône",
                        coordination_role="Assistante de service social")


@pytest.fixture
def plan(client, doctor, nurse, include):
    """A diabetes plan of MARTIN led by the doctor (coordinator and médecin traitant), with the nurse."""
    client.login(doctor)
    return include(client, members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})


def test_suspend_needs_a_reason_then_resume_then_complete_closes_open_tasks(app, client, doctor, plan, tasks_of):
    refused = client.submit(f"/p/eparcours/plans/{plan}/status", {"status": "on-hold", "reason": ""})
    assert refused.status_code == 400 and "Indiquez le motif" in text(refused)
    assert 'value="on-hold" selected' in refused.text       # the choice typed is still there
    assert _plan(app, plan).status == "active"

    assert client.submit(f"/p/eparcours/plans/{plan}/status",
                         {"status": "on-hold", "reason": "Hospitalisation"}).status_code == 303
    assert (_plan(app, plan).status, _plan(app, plan).status_reason) == ("on-hold", "Hospitalisation")
    assert all(task.status != "cancelled" for task in tasks_of(plan).values())   # suspending closes nothing
    assert client.submit(f"/p/eparcours/plans/{plan}/status", {"status": "active"}).status_code == 303
    assert client.submit(f"/p/eparcours/plans/{plan}/status", {"status": "completed"}).status_code == 303
    ended = _plan(app, plan)
    assert ended.status == "completed" and ended.ended_on is not None
    assert {task.status for task in tasks_of(plan).values()} == {"cancelled"}
    assert all(task.status_reason.startswith("Parcours terminé") for task in tasks_of(plan).values())
    # An ended plan never changes again.
    again = client.submit(f"/p/eparcours/plans/{plan}/status", {"status": "active"})
    assert again.status_code == 409 and "ne peut plus changer" in text(again)
    assert [e.details["to"] for e in _audit(app, "eparcours.plan.status")] == ["on-hold", "active", "completed"]


def test_only_the_coordinator_changes_the_plan(app, client, nurse, plan):
    client.login(nurse)
    response = client.submit(f"/p/eparcours/plans/{plan}/status", {"status": "completed"})
    assert response.status_code == 403 and "Seul le coordinateur" in text(response)
    assert _plan(app, plan).status == "active"
    assert [e.outcome for e in _audit(app, "eparcours.plan.status")] == ["denied"]


def test_consent_withdrawn_ends_the_plan_closes_tasks_and_updates_the_export(app, client, nurse, plan, tasks_of):
    client.login(nurse)           # the patient may tell any member of the team
    refused = client.submit(f"/p/eparcours/plans/{plan}/consent-withdrawal", {
        "withdrawn_on": "2026-04-01", "withdrawal_method": "", "withdrawal_note": "Souhaite arrêter le suivi"})
    assert refused.status_code == 400
    assert "ne peut pas être dans le futur" in text(refused) and "Indiquez comment le patient" in text(refused)
    assert 'value="Souhaite arrêter le suivi"' in refused.text     # what was typed is kept
    assert _plan(app, plan).status == "active"

    done = client.submit(f"/p/eparcours/plans/{plan}/consent-withdrawal", {
        "withdrawn_on": "2026-02-27", "withdrawal_method": "written", "withdrawal_note": "Courrier du 27/02"})
    assert done.status_code == 303
    ended = _plan(app, plan)
    assert (ended.status, str(ended.consent_withdrawn_on), ended.consent_withdrawal_method) == (
        "revoked", "2026-02-27", "written")
    assert ended.consent_withdrawal_recorded_by_id == nurse.id
    assert {task.status for task in tasks_of(plan).values()} == {"cancelled"}
    [event] = _audit(app, "eparcours.consent.withdrawn")
    assert event.patient_ins == ended.patient_ins and event.details["closed_tasks"] == 8

    page = text(client.get(f"/p/eparcours/plans/{plan}"))
    assert "Le patient a retiré son consentement le 27/02/2026" in page
    assert "Retrait du consentement" in page and "Par écrit" in page

    bundle = client.get(f"/p/eparcours/plans/{plan}/fhir").json()
    resources = {entry["resource"]["resourceType"]: entry["resource"] for entry in bundle["entry"]}
    assert resources["CarePlan"]["status"] == "revoked" and resources["CarePlan"]["period"]["end"] == "2026-02-27"
    assert resources["Consent"]["status"] == "inactive"
    assert resources["Consent"]["provision"]["period"]["end"] == "2026-02-27"
    assert {e["resource"]["status"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task"} == {"cancelled"}
    again = client.submit(f"/p/eparcours/plans/{plan}/consent-withdrawal", {
        "withdrawn_on": "2026-02-27", "withdrawal_method": "oral"})
    assert again.status_code == 409


def test_team_changes_move_the_tasks(app, client, doctor, nurse, make_account, plan, tasks_of):
    other_nurse = make_account(given_name="Marc", family_name="PETIT", profession_code="60", profession_label="Infirmier")
    other_doctor = make_account(given_name="Hugo", family_name="BLANC")
    # A nurse cannot be the médecin traitant: refused, with what was chosen given back.
    refused = client.submit(f"/p/eparcours/plans/{plan}/team", {"role": "medecin-traitant", "account": str(other_nurse.id)})
    assert refused.status_code == 400 and "ne peut pas tenir le rôle « Médecin traitant »" in text(refused)
    assert f'value="{other_nurse.id}" selected' in refused.text
    # Removing the nurse: her open tasks go back to the coordinator.
    with app.state.db.session() as session:
        member = session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan,
                                                           CareTeamMember.account_id == nurse.id)).one()
    assert client.submit(f"/p/eparcours/plans/{plan}/team/{member.id}/remove", {}).status_code == 303
    assert tasks_of(plan)["etp-diagnostic"].owner_id == doctor.id
    # The other nurse joins: the nurse's role's steps (now the coordinator's) stay where they are, the steps nobody held…
    assert client.submit(f"/p/eparcours/plans/{plan}/team", {"role": "infirmier", "account": str(other_nurse.id)}).status_code == 303
    # A new médecin traitant replaces the doctor in that role; the role's open steps follow the role.
    assert client.submit(f"/p/eparcours/plans/{plan}/team",
                         {"role": "medecin-traitant", "account": str(other_doctor.id)}).status_code == 303
    assert tasks_of(plan)["hba1c"].owner_id == other_doctor.id
    assert tasks_of(plan)["etp-diagnostic"].owner_id == doctor.id          # still the coordinator's
    # A new coordinator: the former one (no longer in the team) hands over every open task.
    assert client.submit(f"/p/eparcours/plans/{plan}/team", {"role": "coordinator", "account": str(other_doctor.id)}).status_code == 303
    assert _team(app, plan) == {("coordinator", other_doctor.id), ("medecin-traitant", other_doctor.id),
                                ("infirmier", other_nurse.id)}
    assert tasks_of(plan)["etp-diagnostic"].owner_id == other_doctor.id
    # The coordinator cannot be removed, only replaced; and the former coordinator may no longer change the team.
    with app.state.db.session() as session:
        coordinator = session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan,
                                                                CareTeamMember.role == "coordinator")).one()
    assert client.submit(f"/p/eparcours/plans/{plan}/team/{coordinator.id}/remove", {}).status_code == 403  # Alice
    client.login(other_doctor)
    kept = client.submit(f"/p/eparcours/plans/{plan}/team/{coordinator.id}/remove", {})
    assert kept.status_code == 409 and "désignez d'abord un autre coordinateur" in text(kept)
    history = text(client.get(f"/p/eparcours/plans/{plan}"))
    assert "Hugo BLANC rejoint l'équipe : « Coordinateur du parcours », à la place de Dr Alice MARTIN" in history
    assert "Léa DURAND ne fait plus partie de l'équipe" in history
    assert [e.outcome for e in _audit(app, "eparcours.team.added")] == ["success"] * 3
    assert sorted(e.outcome for e in _audit(app, "eparcours.team.removed")) == ["denied", "success"]


def test_steps_nobody_holds_are_in_the_coordinators_tasks(client, doctor, nurse, plan, tasks_of):
    mine = text(client.get("/p/eparcours/tasks"))
    assert "À attribuer dans les parcours que vous coordonnez" in mine
    assert "Dépistage de la rétinopathie diabétique (fond d'œil ou rétinographie)" in mine
    assert tasks_of(plan)["fond-oeil"].owner_id is None
    client.login(nurse)                                  # not the coordinator: nothing to assign
    assert "À attribuer" not in text(client.get("/p/eparcours/tasks"))


def test_a_social_worker_reads_and_writes_the_cahier_de_liaison(app, client, doctor, social_worker, plan, tasks_of):
    refused = client.submit(f"/p/eparcours/plans/{plan}/notes", {"liaison_note": "   "})
    assert refused.status_code == 400 and "La note est vide." in text(refused)
    assert client.submit(f"/p/eparcours/plans/{plan}/team",
                         {"role": "travailleur-social", "account": str(social_worker.id)}).status_code == 303
    client.login(social_worker)
    page = client.get(f"/p/eparcours/plans/{plan}")
    assert page.status_code == 200
    assert client.submit(f"/p/eparcours/plans/{plan}/notes",
                         {"liaison_note": "Dossier APA déposé, aide à domicile dès lundi."}).status_code == 303
    notes = text(client.get(f"/p/eparcours/plans/{plan}"))
    assert "Dossier APA déposé, aide à domicile dès lundi." in notes and "Inès FAURE" in notes
    hba1c = tasks_of(plan)["hba1c"]     # no clinical step for a coordination account
    done = client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {"status": "completed", "version": hba1c.version,
                                                                   "value_hba1c": "7"})
    assert done.status_code == 403
    assert len(_audit(app, "eparcours.plan.note")) == 1
    client.login(doctor)
    assert "Dossier APA déposé" in text(client.get(f"/p/eparcours/plans/{plan}"))


def test_a_social_worker_cannot_hold_a_health_role_nor_a_doctor_a_social_one(client, doctor, social_worker, plan):
    refused = client.submit(f"/p/eparcours/plans/{plan}/team", {"role": "infirmier", "account": str(social_worker.id)})
    assert refused.status_code == 400 and "ne peut pas tenir le rôle" in text(refused)
    refused = client.submit(f"/p/eparcours/plans/{plan}/team", {"role": "travailleur-social", "account": str(doctor.id)})
    assert refused.status_code == 400


def test_team_and_timeline_lines_are_plain_french(client, plan):
    with client.app.state.db.session() as session:
        kinds = {line.kind for line in session.exec(select(TaskEvent).where(TaskEvent.care_plan_id == plan))}
    assert kinds == {"included"}
    page = text(client.get(f"/p/eparcours/plans/{plan}"))
    assert "Suspendre le parcours" in page and "Enregistrer le retrait du consentement" in page


def test_the_ppcs_is_completed_by_the_team_and_exported(app, client, doctor, nurse, plan):
    page = text(client.get(f"/p/eparcours/plans/{plan}"))
    assert "Plan personnalisé de coordination en santé (PPCS)" in page
    assert "Atteindre l'objectif d'HbA1c fixé avec le patient : Dosage de l'HbA1c tous les 3 mois ; Éducation thérapeutique" in page
    assert 'value="2026-07-15"' in page             # re-evaluation: reference date + the pathway's P6M
    form = {"referent": str(nurse.id), "assessment_medical": "HbA1c 8,1 %", "assessment_social": "Vit seule, 3e étage",
            "project": "Continuer à jardiner", "preferences": "Rendez-vous le matin",
            "problems": "Isolement\nÉquilibre glycémique", "objectives_social": "Rompre l'isolement : Aide à domicile",
            "objectives_sante": "HbA1c sous 7 % : Éducation thérapeutique", "follow_up": "Point mensuel",
            "reevaluation_on": "2020-01-01"}
    refused = client.submit(f"/p/eparcours/plans/{plan}/ppcs", form)
    assert refused.status_code == 400 and "La réévaluation se prévoit entre aujourd'hui et dans trois ans." in text(refused)
    assert "Continuer à jardiner" in text(refused) and "Vit seule, 3e étage" in text(refused)   # nothing typed lost
    assert client.submit(f"/p/eparcours/plans/{plan}/ppcs", {**form, "reevaluation_on": "2026-09-01"}).status_code == 303
    stored = _plan(app, plan).ppcs
    assert stored["referent_id"] == nurse.id and stored["problems"] == ["Isolement", "Équilibre glycémique"]
    assert {"title": "Rompre l'isolement", "domain": "social", "actions": ["Aide à domicile"]} in stored["objectives"]
    bundle = client.get(f"/p/eparcours/plans/{plan}/fhir").json()
    goals = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Goal"]
    assert {(g["description"]["text"], g["category"][0]["text"]) for g in goals} == {
        ("HbA1c sous 7 %", "Santé"), ("Rompre l'isolement", "Social")}
    care_plan = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert "Projet de la personne : Continuer à jardiner" in [n["text"] for n in care_plan["note"]]
    assert len(_audit(app, "eparcours.ppcs.updated")) == 1


def test_the_team_thread_counts_unread_messages_in_my_tasks(app, client, doctor, nurse, plan):
    empty = client.submit(f"/p/eparcours/plans/{plan}/messages", {"message": "  "})
    assert empty.status_code == 400 and "Le message est vide." in text(empty)
    assert client.submit(f"/p/eparcours/plans/{plan}/messages",
                         {"message": "Léa, pouvez-vous passer jeudi pour les pieds ?"}).status_code == 303
    assert "Messages non lus" not in text(client.get("/p/eparcours/tasks"))     # one's own message is read
    client.login(nurse)
    assert "1 dans « Suivi du diabète de type 2 de l'adulte »" in text(client.get("/p/eparcours/tasks"))
    page = text(client.get(f"/p/eparcours/plans/{plan}"))
    assert "Léa, pouvez-vous passer jeudi pour les pieds ?" in page and "Dr Alice MARTIN" in page
    assert "Messages non lus" not in text(client.get("/p/eparcours/tasks"))     # read by opening the plan
    assert len(_audit(app, "eparcours.message.sent")) == 1


def test_documents_attached_to_the_plan_are_for_its_team(app, client, doctor, nurse, make_account, plan):
    def attach(title, name, data):
        return client.post(f"/p/eparcours/plans/{plan}/documents",
                           data={"document_title": title, "csrf_token": client.csrf_token},
                           files={"document_file": (name, data, "application/pdf")})

    refused = attach("Compte rendu de la visite", "cr.pdf", b"<html>not a pdf</html>")
    assert refused.status_code == 400 and "Le fichier doit être un PDF, une image PNG ou JPEG." in text(refused)
    assert 'value="Compte rendu de la visite"' in text(refused)        # the title typed is kept
    assert attach("Compte rendu de la visite", "cr.pdf", b"%PDF-1.4 visite").status_code == 303
    page = text(client.get(f"/p/eparcours/plans/{plan}"))
    document_id = int(page.split(f'href="/p/eparcours/plans/{plan}/documents/')[1].split('"')[0])
    client.login(nurse)
    got = client.get(f"/p/eparcours/plans/{plan}/documents/{document_id}")
    assert got.status_code == 200 and got.content == b"%PDF-1.4 visite"
    assert got.headers["content-disposition"].startswith("attachment")
    client.login(make_account(given_name="Hors", family_name="EQUIPE"))
    assert client.get(f"/p/eparcours/plans/{plan}/documents/{document_id}").status_code == 403
    reads = _audit(app, "eparcours.document.read")
    assert [event.outcome for event in reads] == ["success", "denied"] and reads[0].patient_ins

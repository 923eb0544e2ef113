"""Working the tasks: « Mes tâches », completing a step and what it schedules, the FHIR state machine
(409 with the reason), concurrent edits (409, nothing lost), and what a secretary may do."""

from __future__ import annotations

import html
import threading
from datetime import date

import pytest
from bouquet_eparcours import tasks as task_service
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.models import Task, TaskEvent
from sqlmodel import select

from bouquet.api.audit import AuditEvent, Auditor


def text(response):
    return html.unescape(response.text)


@pytest.fixture
def plan(client, doctor, nurse, include):
    """A diabetes plan of MARTIN (reference date 15/01/2026) led by the doctor, with the nurse in the team."""
    client.login(doctor)
    return include(client, members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})


def test_the_nurse_sees_her_tasks_completes_one_and_the_next_is_scheduled(client, nurse, plan, tasks_of):
    client.login(nurse)
    mine = client.get("/p/eparcours/tasks")
    assert mine.status_code == 200
    assert "Bilan éducatif partagé (diagnostic éducatif)" in text(mine)
    assert "Dosage de l'HbA1c" not in text(mine)            # the doctor's, not hers
    assert "MARTIN Marie, née le 02/10/1960" in text(mine)

    diagnosis = tasks_of(plan)["etp-diagnostic"]
    done = client.submit(f"/p/eparcours/tasks/{diagnosis.id}/status", {
        "status": "completed", "version": diagnosis.version, "performed_on": "2026-02-20",
        "value_objectifs": "Marcher 30 minutes par jour", "next": "/p/eparcours/tasks"})
    assert done.status_code == 303 and done.headers["location"] == "/p/eparcours/tasks"

    after = tasks_of(plan)
    assert after["etp-diagnostic"].status == "completed"
    assert after["etp-diagnostic"].outputs == {"objectifs": "Marcher 30 minutes par jour"}
    assert after["etp-diagnostic"].performed_on == date(2026, 2, 20)
    follow = after["etp-suivi"]                      # starts 3 months after the diagnosis was done
    assert (follow.due_on, follow.owner_id, follow.status) == (date(2026, 5, 20), nurse.id, "ready")
    mine = client.get("/p/eparcours/tasks")
    assert "Séance d'éducation thérapeutique de suivi" in text(mine)
    assert "Prochaine étape planifiée" in text(mine)   # the flash message

    # Completing the follow-up session schedules its next occurrence (every 6 months).
    client.submit(f"/p/eparcours/tasks/{follow.id}/status", {
        "status": "completed", "version": follow.version, "performed_on": "2026-03-01", "value_theme": "Alimentation"})
    again = tasks_of(plan)
    assert again["etp-suivi#1"].status == "completed"
    assert (again["etp-suivi#2"].due_on, again["etp-suivi#2"].occurrence) == (date(2026, 9, 1), 2)

    plan_page = text(client.get(f"/p/eparcours/plans/{plan}"))
    assert "Bilan éducatif partagé (diagnostic éducatif) » : À faire → En cours" in plan_page
    assert ("En cours → Réalisée (Objectifs convenus avec le patient : Marcher 30 minutes par jour), "
            "réalisée le 20/02/2026") in plan_page
    assert "Étape suivante planifiée : « Séance d'éducation thérapeutique de suivi » pour le 01/09/2026" in plan_page
    assert "Léa DURAND" in plan_page


def test_my_tasks_filters_and_sorts_by_due_date(client, doctor, plan):
    client.login(doctor)
    rows = text(client.get("/p/eparcours/tasks"))
    # pieds (15/02) comes before hba1c (15/04).
    assert rows.index("Examen des pieds") < rows.index("Dosage de l'HbA1c")
    overdue = text(client.get("/p/eparcours/tasks?overdue=1"))
    assert "Aucune tâche ne correspond" in overdue    # nothing is late on 02/03/2026
    by_pathway = text(client.get("/p/eparcours/tasks?pathway=suivi-post-avc"))
    assert "Aucune tâche ne correspond" in by_pathway
    completed = text(client.get("/p/eparcours/tasks?status=completed"))
    assert "Aucune tâche ne correspond" in completed
    listed = [e for e in _audit(client.app, "eparcours.tasks.listed")]
    assert listed and all(e.patient_ins.startswith("1.2.250.1.213.1.4.10|") for e in listed)


def test_recorded_values_are_checked(client, doctor, plan, tasks_of):
    client.login(doctor)
    hba1c = tasks_of(plan)["hba1c"]
    response = client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "completed", "version": hba1c.version, "value_hba1c": "45"})
    assert response.status_code == 400
    assert "« HbA1c » doit être au plus 20 %." in text(response)
    assert 'value="45"' in response.text                      # what was typed stays in the form
    assert tasks_of(plan)["hba1c"].status == "ready"
    ok = client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "completed", "version": hba1c.version, "value_hba1c": "7,2"})
    assert ok.status_code == 303
    done = tasks_of(plan)
    assert done["hba1c#1"].outputs == {"hba1c": 7.2}
    assert done["hba1c#2"].due_on == date(2026, 6, 2)          # 3 months after today, when it was done


def test_fhir_refuses_transitions_it_does_not_allow(client, doctor, plan, tasks_of):
    client.login(doctor)
    tasks = tasks_of(plan)
    eyes = tasks["fond-oeil"]                                  # requested: nobody has accepted it
    response = client.submit(f"/p/eparcours/tasks/{eyes.id}/status", {
        "status": "completed", "version": eyes.version, "value_resultat": "absence"})
    assert response.status_code == 409
    assert "elle doit d'abord être acceptée" in text(response)

    hba1c = tasks["hba1c"]
    assert client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "cancelled", "version": hba1c.version, "reason": "Suivi par le diabétologue"}).status_code == 303
    cancelled = tasks_of(plan)["hba1c"]
    assert (cancelled.status, cancelled.status_reason) == ("cancelled", "Suivi par le diabétologue")
    again = client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {"status": "in-progress", "version": cancelled.version})
    assert again.status_code == 409 and "une tâche annulée est close" in text(again)
    hold = client.submit(f"/p/eparcours/tasks/{tasks['pieds'].id}/status", {"status": "on-hold", "version": 1})
    assert hold.status_code == 409 and "seule une tâche commencée peut être suspendue" in text(hold)
    unknown = client.submit(f"/p/eparcours/tasks/{tasks['pieds'].id}/status", {"status": "done", "version": 1})
    assert unknown.status_code == 409 and "n'est pas un état de tâche FHIR" in text(unknown)
    assert client.submit(f"/p/eparcours/tasks/{hba1c.id}/schedule", {
        "due_on": "2026-05-01", "version": cancelled.version}).status_code == 409


def test_the_accept_then_do_path_of_a_requested_task(client, doctor, plan, tasks_of):
    client.login(doctor)
    eyes = tasks_of(plan)["fond-oeil"]
    assert client.submit(f"/p/eparcours/tasks/{eyes.id}/assign", {"owner": doctor.id, "version": 1}).status_code == 303
    assert client.submit(f"/p/eparcours/tasks/{eyes.id}/status", {"status": "accepted", "version": 2}).status_code == 303
    assert client.submit(f"/p/eparcours/tasks/{eyes.id}/status", {
        "status": "completed", "version": 3, "value_resultat": "absence"}).status_code == 303
    with client.app.state.db.session() as session:
        steps = [(e.from_status, e.to_status) for e in session.exec(
            select(TaskEvent).where(TaskEvent.task_id == eyes.id, TaskEvent.kind == "status").order_by(TaskEvent.id))]
    assert steps == [("requested", "accepted"), ("accepted", "in-progress"), ("in-progress", "completed")]
    assert tasks_of(plan)["fond-oeil#2"].due_on == date(2027, 3, 2)    # yearly


def test_a_concurrent_edit_is_refused_and_nothing_is_lost(client, doctor, nurse, plan, tasks_of):
    client.login(doctor)
    hba1c = tasks_of(plan)["hba1c"]
    shown_version = hba1c.version
    # The doctor gives the task to the nurse while the nurse's own form (same version) is still open…
    moved = client.submit(f"/p/eparcours/tasks/{hba1c.id}/assign", {"owner": nurse.id, "version": shown_version})
    assert moved.status_code == 303
    client.login(nurse)
    late = client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "completed", "version": shown_version, "value_hba1c": "6,8", "note": "Bon équilibre"})
    assert late.status_code == 409
    page = text(late)
    assert "Cette tâche a été modifiée pendant que vous la consultiez" in page
    assert "Dr Alice MARTIN l'a modifiée le" in page
    assert 'value="6,8"' in page and "Bon équilibre" in page            # her input is given back
    kept = tasks_of(plan)["hba1c"]
    assert (kept.owner_id, kept.status, kept.version) == (nurse.id, "ready", shown_version + 1)   # the first change stands
    # Sent again on the current version, it goes through.
    assert client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "completed", "version": kept.version, "value_hba1c": "6,8"}).status_code == 303


def test_two_simultaneous_changes_one_wins(app, client, doctor, nurse, plan, tasks_of):
    """Both start from the same version at the same moment: exactly one is applied."""
    hba1c = tasks_of(plan)["hba1c"]
    auditor = Auditor(app.state.db, app.state.audit_key, actor="test")
    barrier, outcomes = threading.Barrier(2), []

    def change(actor, run):
        barrier.wait()
        try:
            run(actor)
            outcomes.append("applied")
        except task_service.TaskConflict:
            outcomes.append("conflict")

    doctor_actor = Actor(doctor, None, can_schedule=True, can_complete=True)
    nurse_actor = Actor(nurse, None, can_schedule=True, can_complete=True)
    def reschedule(actor):
        task_service.reschedule(app.state.db, auditor, actor, hba1c.id, version=hba1c.version, due_on=date(2026, 5, 1))

    def cancel(actor):
        task_service.change_status(app.state.db, auditor, actor, hba1c.id, version=hba1c.version, target="cancelled")

    threads = [threading.Thread(target=change, args=(doctor_actor, reschedule)),
               threading.Thread(target=change, args=(nurse_actor, cancel))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["applied", "conflict"]
    assert tasks_of(plan)["hba1c"].version == hba1c.version + 1


def test_a_secretary_schedules_and_reassigns_but_does_not_complete(client, doctor, nurse, secretary, plan, tasks_of):
    client.login(secretary, acting_for=doctor)
    hba1c = tasks_of(plan)["hba1c"]
    mine = text(client.get("/p/eparcours/tasks"))
    assert "Dosage de l'HbA1c" in mine and "à Dr Alice MARTIN" in mine
    page = text(client.get(f"/p/eparcours/tasks/{hba1c.id}"))
    assert "Réaliser l'étape" not in page and "Réattribuer" in page
    refused = client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "completed", "version": hba1c.version, "value_hba1c": "7"})
    assert refused.status_code == 403 and "seul un professionnel de santé" in text(refused)
    assert client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "in-progress", "version": hba1c.version}).status_code == 403
    moved = client.submit(f"/p/eparcours/tasks/{hba1c.id}/assign", {"owner": nurse.id, "version": hba1c.version})
    assert moved.status_code == 303
    rescheduled = client.submit(f"/p/eparcours/tasks/{hba1c.id}/schedule", {"due_on": "2026-05-04", "version": hba1c.version + 1})
    assert rescheduled.status_code == 303
    task = tasks_of(plan)["hba1c"]
    assert (task.owner_id, task.status, task.due_on, task.latest_on) == (nurse.id, "ready", date(2026, 5, 4), date(2026, 8, 4))
    history = text(client.get(f"/p/eparcours/tasks/{hba1c.id}"))
    assert "Sophie BERNARD pour Dr Alice MARTIN" in history
    assert "réattribuée : Dr Alice MARTIN → Léa DURAND" in history
    assert "replanifiée : échéance du 15/04/2026 reportée au 04/05/2026" in history


def test_reassigning_outside_the_team_is_refused(client, doctor, make_account, plan, tasks_of):
    client.login(doctor)
    outsider = make_account(given_name="Hugo", family_name="PETIT")
    hba1c = tasks_of(plan)["hba1c"]
    response = client.submit(f"/p/eparcours/tasks/{hba1c.id}/assign", {"owner": outsider.id, "version": hba1c.version})
    assert response.status_code == 400 and "membre de l'équipe de soins" in text(response)


def test_notes_are_appended_and_audited(client, doctor, plan, tasks_of):
    client.login(doctor)
    hba1c = tasks_of(plan)["hba1c"]
    assert client.submit(f"/p/eparcours/tasks/{hba1c.id}/notes", {"note": "Prescription remise"}).status_code == 303
    assert "Note sur « Dosage de l'HbA1c » : Prescription remise" in text(client.get(f"/p/eparcours/tasks/{hba1c.id}"))
    assert tasks_of(plan)["hba1c"].version == hba1c.version       # a note never makes someone's form stale
    assert _audit(client.app, "eparcours.task.note")[0].patient_ins.startswith("1.2.250.1.213.1.4.10|")


def test_every_change_is_audited_with_the_patient(client, doctor, plan, tasks_of):
    client.login(doctor)
    pieds = tasks_of(plan)["pieds"]
    client.get(f"/p/eparcours/tasks/{pieds.id}")
    client.submit(f"/p/eparcours/tasks/{pieds.id}/status", {"status": "completed", "version": 1, "value_grade": "1"})
    for action in ("eparcours.task.read", "eparcours.task.status"):
        events = _audit(client.app, action)
        assert events and all(e.patient_ins.startswith("1.2.250.1.213.1.4.10|") for e in events), action
    assert _audit(client.app, "eparcours.task.status")[0].details == {"from": "ready", "to": "completed", "scheduled": 1}


def _audit(app, action):
    with app.state.db.session() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def test_task_rows_are_linked_to_their_plan(app, plan, tasks_of):
    with app.state.db.session() as session:
        assert {t.care_plan_id for t in session.exec(select(Task)).all()} == {plan}

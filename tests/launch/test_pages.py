"""`GET /launch`: the browser lands on the patient, once, for the right professional only;
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import select

from bouquet.patient.context import PatientContextRecord
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.launch import LaunchHandle
from bouquet.sso import portal_pending
from bouquet.testing.practice_software import NAME
from bouquet.testing.signin import audit_actions, install_clock, text_by_testid
from bouquet.web import anonymous

HTML = {"Accept": "text/html"}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _row(app) -> LaunchHandle:
    with app.state.db.session() as session:
        return session.exec(select(LaunchHandle).order_by(LaunchHandle.id.desc())).first()


def test_the_professional_signed_in_lands_on_the_patient_once(app, client, launcher, doctor):
    patient = DEMO_PATIENTS[1]
    link = _path(launcher.launch_url(doctor.idnat_ps, patient, encounter="V-1"))
    client.login(doctor)
    response = client.get(link, headers=HTML)
    assert (response.status_code, response.headers["location"]) == (303, "/patient")

    page = client.get("/patient", headers=HTML)
    assert page.status_code == 200
    assert text_by_testid(page.text, "patient-birth-name") == "MOREAU-LEROY"
    assert f"Contexte reçu de : {NAME}" in text_by_testid(page.text, "patient-source")
    row = _row(app)
    assert row.consumed_at is not None and row.consumed_by_id == doctor.id
    with app.state.db.session() as session:
        context = session.get(PatientContextRecord, row.patient_context_id)
    assert context.source == NAME and context.patient["encounter"] == "V-1"
    assert context.established_by_id == doctor.id
    actions = audit_actions(app)
    assert actions.index("launch.consumed") < actions.index("patient.context_established")

    again = client.get(link, headers=HTML)
    assert again.status_code == 409
    assert "déjà utilisé" in again.text
    assert 'href="https://lgc.example/"' not in again.text  # no return_url was given


def test_expired_unknown_and_malformed_handles_are_refused(app, client, launcher, doctor):
    clock = install_clock(app)
    link = _path(launcher.launch_url(doctor.idnat_ps, return_url="https://lgc.example/"))
    client.login(doctor)
    clock.advance(301)
    expired = client.get(link, headers=HTML)
    assert expired.status_code == 410
    assert "expiré" in expired.text
    assert text_by_testid(expired.text, "launch-return") == "Retourner à votre logiciel métier"
    assert _row(app).consumed_at is None

    unknown = client.get("/launch?launch=" + "A" * 43, headers=HTML)
    assert unknown.status_code == 404 and "inconnu" in unknown.text
    assert client.get("/launch?launch=<script>", headers=HTML).status_code == 404
    assert client.get("/launch", headers=HTML).status_code == 404


def test_without_a_session_sign_in_comes_first_and_the_handle_survives(app, client, launcher, doctor):
    link = _path(launcher.launch_url(doctor.idnat_ps))
    assert client.head(link).status_code == 200  # a link checker's probe consumes nothing
    response = client.get(link, headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/authorize?client_id=bouquet-portal&")  # the portal's sign-in
    assert client.get(response.headers["location"], headers=HTML).headers["location"].startswith("/login?next=")
    assert _row(app).consumed_at is None
    client.login(doctor)
    assert client.get(link, headers=HTML).headers["location"] == "/patient"


def test_someone_else_is_refused_and_may_switch_account(app, client, launcher, doctor, make_account):
    nurse = make_account(given_name="Léa", family_name="DURAND")
    link = _path(launcher.launch_url(doctor.idnat_ps))
    client.login(nurse)
    refused = client.get(link, headers=HTML)
    assert refused.status_code == 403
    assert "autre professionnel" in refused.text and "Changer de compte" in refused.text
    assert DEMO_PATIENTS[0].traits.birth_name not in refused.text  # the patient is not shown to them
    assert _row(app).consumed_at is None

    handle = link.split("launch=", 1)[1]
    old_session = client.session_token
    switched = client.submit("/launch/switch", {"launch": handle})
    assert switched.status_code == 303
    assert switched.headers["location"].startswith("/authorize?client_id=bouquet-portal&")
    assert client.session_token != old_session
    # A signed anonymous cookie (no session row) carries the sign-in towards the launch.
    visitor = anonymous.read(app.state.anonymous_key, client.session_token)
    assert visitor is not None and app.state.sessions.load(client.session_token) is None
    binding = visitor.binding
    assert [row.next for row in portal_pending.pending_for(app.state.db, binding)] == [link]
    assert app.state.sessions.load(old_session) is None  # signed out on every worker
    client.login(doctor)
    assert client.get(link, headers=HTML).headers["location"] == "/patient"
    assert "launch.refused" in audit_actions(app)


def test_a_secretary_acting_for_the_professional_opens_the_patient(app, client, launcher, doctor, make_account):
    secretary = make_account(kind="secretary", given_name="Sophie", family_name="BERNARD")
    link = _path(launcher.launch_url(doctor.idnat_ps, DEMO_PATIENTS[2]))
    client.login(secretary, acting_for=doctor)
    assert client.get(link, headers=HTML).headers["location"] == "/patient"
    page = client.get("/patient", headers=HTML)
    assert text_by_testid(page.text, "patient-birth-name") == "LEFEBVRE"
    with app.state.db.session() as session:
        context = session.get(PatientContextRecord, _row(app).patient_context_id)
    assert (context.established_by_id, context.acting_for_id) == (secretary.id, doctor.id)


def test_a_secretary_with_several_principals_is_switched_to_the_one_launched_for(app, client, launcher, doctor,
                                                                                    make_account):
    from bouquet.sso.delegation import ensure

    other_doctor = make_account(given_name="Paul", family_name="LEROUX")
    secretary = make_account(kind="secretary")
    with app.state.db.write() as session:
        ensure(session, doctor, secretary)
    client.login(secretary, acting_for=other_doctor)
    link = _path(launcher.launch_url(doctor.idnat_ps))
    assert client.get(link, headers=HTML).headers["location"] == "/patient"
    with app.state.db.session() as session:
        context = session.get(PatientContextRecord, _row(app).patient_context_id)
    assert context.acting_for_id == doctor.id
    assert "delegation.acting_for_selected" in audit_actions(app)

    stranger = make_account(kind="secretary")
    client.login(stranger)
    assert client.get(_path(launcher.launch_url(doctor.idnat_ps)), headers=HTML).status_code == 403


def test_a_used_up_or_expired_handle_is_refused_before_any_sign_in(app, client, launcher, doctor):
    link = _path(launcher.launch_url(doctor.idnat_ps))
    with app.state.db.write() as session:
        row = session.exec(select(LaunchHandle)).one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        session.add(row)
    response = client.get(link, headers=HTML)  # anonymous: no pointless sign-in for a dead link
    assert response.status_code == 410
    assert _row(app).consumed_at is None
    client.login(doctor)
    assert client.get(link, headers=HTML).status_code == 410
    assert _row(app).consumed_at is None


def test_handles_dead_for_a_day_are_purged_when_new_ones_come(app, launcher, doctor):
    launcher.launch_url(doctor.idnat_ps)
    with app.state.db.write() as session:
        row = session.exec(select(LaunchHandle)).one()
        row.expires_at = row.created_at - timedelta(days=1, seconds=1)
        session.add(row)
    launcher.launch_url(doctor.idnat_ps)
    with app.state.db.session() as session:
        rows = session.exec(select(LaunchHandle)).all()
    assert len(rows) == 1 and rows[0].expires_at > rows[0].created_at

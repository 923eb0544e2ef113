"""The patient page over HTTP: opening a test patient, the banner, switching, closing, the alerts
fragment, and the patient reaching every plugin hook and panel endpoint."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlmodel import func, select
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bouquet import Alert, Launchable, NavEntry, Panel, get_context, hookimpl
from bouquet.foundation.audit import AuditEvent
from bouquet.patient.context import CURRENT_KEY, PatientContextRecord, audit_ins
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.ins import OID_NIR, OID_NIR_TEST, with_key
from bouquet.testing.fixtures import signed_in_session

MARTIN, CHILD = DEMO_PATIENTS[0], DEMO_PATIENTS[1]
# A test identity typed into the form: a man born 12 May 1985 in Achères (78006).
TYPED = {
    "ins": with_key("1850578006084"), "oid": OID_NIR_TEST, "birth_name": "Dupont", "given_names": "Jean Pierre",
    "birth_date": "1985-05-12", "sex": "M", "birthplace": "78006",
}


def _count(app, model, *where):
    with app.state.db.session() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _events(app, action):
    with app.state.db.session() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def _open_demo(client, patient):
    response = client.submit("/patient", {"demo": patient.ins.matricule})
    assert response.status_code == 303 and response.headers["location"] == "/patient"
    return response


def _banner(html):
    match = re.search(r'<section class="bq-patient-banner".*?</section>', html, re.S)
    return match.group(0) if match else ""


@pytest.fixture
def doctor(make_account):
    return make_account(given_name="Alice", family_name="MARTIN")


# --- without a patient -----------------------------------------------------------------------

def test_without_a_patient_the_page_explains_how_to_open_one(client, doctor):
    client.login(doctor)
    response = client.get("/patient")
    assert response.status_code == 200
    assert "Aucun patient n'est ouvert" in response.text
    assert "depuis votre logiciel métier" in response.text
    assert 'action="/patient"' in response.text and MARTIN.ins.matricule in response.text  # the test form
    assert "bq-patient-banner" not in response.text
    assert ">Dossier patient</a>" not in response.text  # no menu entry without a patient
    assert _events(client.app, "patient.page_viewed") == []


def test_the_page_is_behind_sign_in(client):
    response = client.get("/patient", headers={"accept": "text/html"})
    assert response.status_code == 303 and response.headers["location"].startswith("/authorize?client_id=bouquet-portal&")


@pytest.mark.parametrize("kind", ["vendor", "admin"])
def test_accounts_that_do_not_care_for_patients_are_refused(client, make_account, kind):
    client.login(make_account(kind=kind))
    assert client.get("/patient").status_code == 403
    assert client.submit("/patient", {"demo": MARTIN.ins.matricule}).status_code == 403
    assert _count(client.app, PatientContextRecord) == 0


# --- the test form ---------------------------------------------------------------------------

def test_a_wrong_nir_key_is_refused_next_to_its_field_and_nothing_is_stored(client, doctor):
    client.login(doctor)
    wrong_key = TYPED["ins"][:13] + f"{(int(TYPED['ins'][13:]) % 97) + 1:02d}"
    response = client.submit("/patient", {**TYPED, "ins": wrong_key})

    assert response.status_code == 400
    error = re.search(r'<p class="fr-error-text" id="ins-error">(.*?)</p>', response.text)
    assert error and "La clé du NIR est incorrecte" in error.group(1)
    assert 'id="ins" name="ins"' in response.text and 'aria-invalid="true"' in response.text
    assert f'value="{wrong_key}"' in response.text  # what was typed stays
    assert _count(client.app, PatientContextRecord) == 0
    assert _events(client.app, "patient.context_established") == []
    assert CURRENT_KEY not in client.app.state.sessions.load(client.session_token).row.data


def test_every_field_error_is_shown_at_once(client, doctor):
    client.login(doctor)
    response = client.submit("/patient", {**TYPED, "oid": OID_NIR, "birth_name": "Dup0nt", "sex": "", "birth_date": ""})
    assert response.status_code == 400
    for field in ("oid", "birth_name", "sex", "birth_date"):
        assert f'id="{field}-error"' in response.text, field
    assert "patients fictifs" in response.text  # a real OID is refused: real patients come from the practice software
    assert _count(client.app, PatientContextRecord) == 0


def test_traits_that_contradict_the_matricule_are_refused(client, doctor):
    client.login(doctor)
    response = client.submit("/patient", {**TYPED, "sex": "F"})
    assert response.status_code == 400
    assert re.search(r'id="ins-error">[^<]*sexe masculin', response.text)


def test_an_unknown_demo_patient_is_refused(client, doctor):
    client.login(doctor)
    response = client.submit("/patient", {"demo": "123"})
    assert response.status_code == 400 and 'id="demo-error"' in response.text


def test_the_form_needs_the_csrf_token(client, doctor):
    client.login(doctor)
    assert client.post("/patient", data={"demo": MARTIN.ins.matricule}).status_code == 403
    assert _count(client.app, PatientContextRecord) == 0


# --- with a patient --------------------------------------------------------------------------

def test_a_typed_test_patient_opens_and_the_banner_shows_the_ins_traits(client, doctor):
    client.login(doctor)
    assert client.submit("/patient", TYPED).status_code == 303
    html = client.get("/patient").text
    banner = _banner(html)

    assert ">DUPONT</strong>" in banner and "Jean Pierre" in banner
    assert "Né le 12/05/1985" in banner and re.search(r"\(\d\d ans\)", banner)
    assert "Sexe : Masculin" in banner
    assert "1 85 05 78 006 084" in banner and "NIR de test" in banner and OID_NIR_TEST in banner
    assert "Patient fictif : INS de test" in banner
    assert "code INSEE 78006" in banner
    assert "Contexte reçu de : saisie manuelle, le " in banner
    assert 'action="/patient/close"' in banner and "Fermer le dossier" in banner
    assert "Changer de patient" in banner
    assert '<a class="fr-nav__link" href="/patient" aria-current="page">Dossier patient</a>' in html
    [event] = _events(client.app, "patient.context_established")
    assert event.details == {"source": "manual"}


def test_every_display_of_the_page_is_audited(client, doctor):
    client.login(doctor)
    _open_demo(client, MARTIN)
    for _ in range(2):
        assert client.get("/patient").status_code == 200
    events = _events(client.app, "patient.page_viewed")
    assert len(events) == 2
    assert {e.patient_ins for e in events} == {audit_ins(MARTIN)} and events[0].actor == doctor.label


def test_the_banner_follows_on_every_page(client, doctor):
    client.login(doctor)
    _open_demo(client, CHILD)
    banner = _banner(client.get("/").text)
    assert "MOREAU-LEROY" in banner and "Né le 17/04/2019" in banner


def test_switching_to_a_recent_patient_is_one_post(client, doctor):
    client.login(doctor)
    _open_demo(client, MARTIN)
    first_id = client.app.state.sessions.load(client.session_token).get(CURRENT_KEY)
    _open_demo(client, CHILD)

    banner = _banner(client.get("/patient").text)
    assert "MOREAU-LEROY" in banner
    assert f'action="/patient/{first_id}"' in banner and "MARTIN Marie" in banner  # the menu offers the first

    response = client.submit(f"/patient/{first_id}")
    assert response.status_code == 303 and response.headers["location"] == "/patient"
    banner = _banner(client.get("/patient").text)
    assert ">MARTIN</strong>" in banner and "MOREAU-LEROY Lucas" in banner  # the child is now in the menu
    [event] = _events(client.app, "patient.context_switched")
    assert event.patient_ins == audit_ins(MARTIN)


def test_opening_the_same_patient_again_does_not_list_them_twice(client, doctor):
    client.login(doctor)
    _open_demo(client, MARTIN)
    _open_demo(client, CHILD)
    _open_demo(client, MARTIN)
    menu = _banner(client.get("/patient").text).split('id="bq-patient-switch"')[1]
    assert "MARTIN Marie" not in menu and menu.count("MOREAU-LEROY Lucas") == 1


def test_closing_the_dossier_is_one_post(client, doctor):
    client.login(doctor)
    _open_demo(client, MARTIN)
    context_id = client.app.state.sessions.load(client.session_token).get(CURRENT_KEY)

    response = client.submit("/patient/close", {"context_id": context_id})
    assert response.status_code == 303 and response.headers["location"] == "/patient"
    html = client.get("/patient").text
    assert "Le dossier de MARTIN Marie est fermé." in html
    assert "Aucun patient n'est ouvert" in html and "bq-patient-banner" not in html
    assert _count(client.app, PatientContextRecord, PatientContextRecord.ended_at.is_not(None)) == 1
    [event] = _events(client.app, "patient.context_closed")
    assert event.patient_ins == audit_ins(MARTIN)
    # A stale tab closing again changes nothing.
    assert client.submit("/patient/close", {"context_id": context_id}).status_code == 303
    assert len(_events(client.app, "patient.context_closed")) == 1


def test_closing_needs_the_csrf_token(client, doctor):
    client.login(doctor)
    _open_demo(client, MARTIN)
    context_id = client.app.state.sessions.load(client.session_token).get(CURRENT_KEY)
    assert client.post("/patient/close", data={"context_id": context_id}).status_code == 403
    assert _events(client.app, "patient.context_closed") == []


def test_another_accounts_context_is_ignored(client, doctor, make_account):
    client.login(doctor)
    assert client.submit("/patient", TYPED).status_code == 303
    context_id = client.app.state.sessions.load(client.session_token).get(CURRENT_KEY)

    intruder = make_account()
    browser = signed_in_session(client.app, intruder)
    browser.set(CURRENT_KEY, context_id)
    client.app.state.sessions.save(browser)
    client._set_session(browser.new_token)
    html = client.get("/patient").text
    assert "Aucun patient n'est ouvert" in html and "DUPONT" not in html
    assert client.submit(f"/patient/{context_id}").status_code == 404
    client.submit("/patient/close", {"context_id": context_id})
    assert _events(client.app, "patient.context_closed") == []  # not theirs to close


def test_a_secretary_keeps_each_principals_patients_apart(client, make_account):
    doctor, other_doctor = make_account(), make_account()
    secretary = make_account(kind="secretary")
    client.login(secretary, acting_for=doctor)
    _open_demo(client, MARTIN)
    assert ">MARTIN</strong>" in _banner(client.get("/patient").text)
    [event] = _events(client.app, "patient.context_established")
    assert event.acting_for == doctor.label

    from bouquet.sso.delegation import ensure

    with client.app.state.db.write() as session:
        ensure(session, other_doctor, secretary)
    client.app.state.sessions.set_acting_for(client.app.state.sessions.load(client.session_token).row.id,
                                             other_doctor.id)
    assert "bq-patient-banner" not in client.get("/patient").text


# --- the patient reaches every plugin --------------------------------------------------------

class Probe:
    """A plugin that answers every patient hook and records the patient each one received."""

    def __init__(self):
        self.seen: dict[str, str | None] = {}

    def _saw(self, hook, ctx):
        self.seen[hook] = ctx.patient.display_name if ctx.patient else None

    @hookimpl
    def bouquet_nav(self, ctx):
        self._saw("nav", ctx)
        return [NavEntry("Sonde", "/p/probe/panel", order=950)]

    @hookimpl
    def bouquet_patient_panels(self, ctx):
        self._saw("panels", ctx)
        return [Panel("Sonde", "/p/probe/panel", order=1), Panel("Ailleurs", "https://evil.example/panel")]

    @hookimpl
    async def bouquet_alerts(self, ctx):
        self._saw("alerts", ctx)
        return [Alert("Pour information", severity="info", order=1),
                Alert("Dépistage en retard", severity="error", order=900, href="/p/probe/panel"),
                Alert("À surveiller", severity="warning"),
                Alert("Lien douteux", severity="info", href="javascript:alert(1)")]

    @hookimpl
    def bouquet_launchables(self, ctx):
        self._saw("launchables", ctx)
        return [Launchable("Agenda partagé", "https://agenda.example.org/launch", "Prendre rendez-vous")]

    @hookimpl
    def bouquet_routes(self):
        async def panel(request: Request):
            ctx = get_context(request)
            return HTMLResponse(f"<p>Panneau pour {ctx.patient.display_name if ctx.patient else 'personne'}</p>")

        return [Route("/panel", panel)]


class SlowAlerts:
    @hookimpl
    async def bouquet_alerts(self, ctx):
        await asyncio.sleep(60)


@pytest.fixture
def probe():
    return Probe()


@pytest.fixture
def probe_client(make_app, probe, doctor):
    from bouquet.testing.fixtures import BouquetClient

    # Only these two: the installed plugins have panels and alerts of their own.
    app = make_app(extra_plugins=[("probe", probe), ("slow", SlowAlerts())], plugins="", panel_timeout_seconds=0.5)
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        client.login(doctor)
        yield client


def test_every_hook_and_panel_endpoint_gets_the_patient(probe_client, probe):
    _open_demo(probe_client, MARTIN)
    html = probe_client.get("/patient").text
    assert probe.seen == {"nav": "MARTIN Marie", "panels": "MARTIN Marie", "launchables": "MARTIN Marie"}
    assert 'hx-get="/p/probe/panel"' in html and 'hx-request=\'{"timeout": 500}\'' in html
    assert "evil.example" not in html  # a panel outside the portal is not loaded
    assert 'href="https://agenda.example.org/launch"' in html and "Prendre rendez-vous" in html

    panel = probe_client.get("/p/probe/panel", headers={"hx-request": "true"})
    assert panel.text == "<p>Panneau pour MARTIN Marie</p>"

    started = time.monotonic()
    alerts = probe_client.get("/patient/alerts", headers={"hx-request": "true"})
    assert time.monotonic() - started < 10  # the slow plugin is cut off (0.4 s), never awaited for 60 s
    assert probe.seen["alerts"] == "MARTIN Marie"
    titles = re.findall(r'<h3 class="fr-alert__title">(.*?)</h3>', alerts.text)
    # The alert that links into the probe's own panel is left to that panel, and said so in one line.
    assert titles == ["À surveiller", "Pour information", "Lien douteux"]
    assert "1 alerte à voir dans le panneau « Sonde » ci-dessous :" in alerts.text
    assert "javascript:" not in alerts.text
    assert "<html" not in alerts.text  # a fragment
    assert "Alertes peut-être incomplètes" in alerts.text and "slow" in alerts.text
    assert probe_client.app.state.plugins.info["slow"].failures == {"bouquet_alerts": 1}


def test_without_a_patient_hooks_get_none_and_the_alerts_fragment_says_so(probe_client, probe):
    probe_client.get("/")
    assert probe.seen == {"nav": None}
    alerts = probe_client.get("/patient/alerts", headers={"hx-request": "true"})
    assert "Aucun patient n'est ouvert" in alerts.text and "alerts" not in probe.seen


def test_alerts_that_repeat_a_panel_shown_on_the_page_are_left_to_that_panel():
    from bouquet import Alert, Panel
    from bouquet.patient.page import _not_repeating

    alerts = [Alert("Mammographie en retard", severity="error", href="/p/prevention/acts/new?rule=breast"),
              Alert("Grippe à faire", severity="info", href="/p/prevention/acts/new?rule=flu"),
              Alert("Étape en retard", severity="error", href="/p/eparcours/plans/1"),
              Alert("Sans lien", severity="warning")]
    panels = [Panel("Prévention", "/p/prevention/panel")]
    shown, in_panels = _not_repeating(alerts, panels)
    assert [alert.title for alert in shown] == ["Étape en retard", "Sans lien"]
    assert [(title, len(grouped)) for title, grouped in in_panels] == [("Prévention", 2)]


def test_a_professional_without_profession_is_told_why_the_services_show_nothing(client, make_account):
    bare = make_account(profession_code=None, profession_label=None)
    client.login(bare)
    _open_demo(client, MARTIN)
    page = client.get("/patient").text
    assert 'data-testid="missing-profession"' in page and "administrateur" in page

    client.login(make_account())
    _open_demo(client, MARTIN)
    assert 'data-testid="missing-profession"' not in client.get("/patient").text

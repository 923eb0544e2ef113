"""The patient page: the e-parcours panel for the patient in context, and overdue tasks as alerts."""

from __future__ import annotations

import html

import bouquet_eparcours
from sqlmodel import select
from starlette.requests import Request

from bouquet import Alert
from bouquet.api.audit import AuditEvent
from bouquet.api.patient import DEMO_PATIENTS
from bouquet.api.web import RequestContext


def text(response):
    return html.unescape(response.text)


def test_the_patient_page_lays_out_the_panel(client, doctor, open_patient):
    client.login(doctor)
    open_patient(client)
    page = text(client.get("/patient"))
    assert 'hx-get="/p/eparcours/panel"' in page and "Parcours de soins coordonnés" in page


def test_the_panel_shows_the_plans_and_offers_inclusion(client, doctor, nurse, include):
    client.login(doctor)
    empty = text(client.get("/p/eparcours/panel", headers={"HX-Request": "true"}))
    assert "Aucun patient n'est ouvert" in empty
    plan_id = include(client, members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})
    panel = text(client.get("/p/eparcours/panel", headers={"HX-Request": "true"}))
    assert f'href="/p/eparcours/plans/{plan_id}"' in panel
    assert "Suivi du diabète de type 2 de l'adulte" in panel and "coordination : Dr Alice MARTIN" in panel
    assert "Examen des pieds et gradation du risque podologique</a> — 15/02/2026" in panel
    # The diabetes pathway is followed already: only the other one is offered.
    assert "Inclure dans un parcours" in panel and "Suivi après un accident vasculaire cérébral" in panel
    assert '<option value="diabete-type-2"' not in panel
    with client.app.state.db.session() as session:
        reads = session.exec(select(AuditEvent).where(AuditEvent.action == "eparcours.plan.read")).all()
    assert [e.details for e in reads] == [{"via": "panel"}]


def test_the_panel_shows_nothing_of_a_team_the_viewer_is_not_in(client, doctor, make_account, include, open_patient):
    client.login(doctor)
    include(client, members={"coordinator": doctor})
    other = make_account(given_name="Paul", family_name="ROBERT")
    client.login(other)
    open_patient(client)
    panel = text(client.get("/p/eparcours/panel"))
    assert "ne suit aucun parcours dont vous faites partie" in panel


def test_overdue_tasks_are_alerts_on_the_patient_page(client, doctor, nurse, include):
    client.login(doctor)
    # Included from a reference date long enough ago for several steps to be late on 02/03/2026.
    plan_id = include(client, reference_date="2025-09-01",
                      members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})
    fragment = text(client.get("/patient/alerts", headers={"HX-Request": "true"}))
    assert "Parcours « Suivi du diabète de type 2 de l'adulte » : 7 étapes en retard" in fragment
    assert f'href="/p/eparcours/plans/{plan_id}"' in fragment
    assert "fr-alert--error" in fragment or "bq-alert-line--error" in fragment  # named above its panel
    mine = text(client.get("/p/eparcours/tasks?overdue=1"))
    assert "En retard" in mine and "Examen bucco-dentaire" not in mine   # the dental check is not late yet


def test_the_alerts_hook_answers_for_the_patient_in_its_context(app, client, doctor, nurse, include):
    client.login(doctor)
    include(client, reference_date="2025-09-01", members={"coordinator": doctor, "medecin-traitant": doctor})
    request = Request({"type": "http", "app": app, "headers": [], "method": "GET", "path": "/", "query_string": b"",
                       "client": ("127.0.0.1", 1), "state": {}})
    ctx = RequestContext(request, account=doctor, patient=DEMO_PATIENTS[0])
    # On the client's own event loop (Chromium's sync API may hold the main thread's).
    alerts = client.portal.call(bouquet_eparcours.bouquet_alerts, ctx)
    assert len(alerts) == 1 and isinstance(alerts[0], Alert) and alerts[0].severity == "error"
    assert alerts[0].description.startswith("Examen des pieds et gradation du risque podologique")
    assert "7 étapes en retard" in alerts[0].title
    # Another patient, or the same patient seen by someone outside the team: no alert.
    other_patient = RequestContext(request, account=doctor, patient=DEMO_PATIENTS[2])
    outside_the_team = RequestContext(request, account=nurse, patient=DEMO_PATIENTS[0])
    assert client.portal.call(bouquet_eparcours.bouquet_alerts, other_patient) == []
    assert client.portal.call(bouquet_eparcours.bouquet_alerts, outside_the_team) == []

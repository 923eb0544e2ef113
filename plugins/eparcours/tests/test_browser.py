"""« Mes tâches » in real Chromium: the nurse opens her task, records it done, and finds the next
one scheduled; the pages pass axe-core and run under the CSP."""

from __future__ import annotations

import re
from datetime import date

import pytest
from bouquet_eparcours import care_plans
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.catalogue import catalogue_of

from bouquet.api.audit import Auditor
from bouquet.api.patient import DEMO_PATIENTS
from bouquet.api.web import cookie_name
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import free_port, serve, signed_in_session

pytestmark = pytest.mark.browser


@pytest.fixture
def served(make_app, region_plugins):
    """The portal (with the example region) served by uvicorn at http://localhost:PORT."""
    port = free_port()
    app = make_app(extra_plugins=region_plugins, base_url=f"http://localhost:{port}")
    stop = serve(app, port)
    yield app, f"http://localhost:{port}"
    stop()


def test_my_tasks_then_complete_a_task(browser, served, doctor, nurse):
    app, url = served
    diabetes = catalogue_of(app.state).current("diabete-type-2")
    plan_id = care_plans.include(app.state.db, Auditor(app.state.db, app.state.audit_key, actor="test"),
                       Actor(doctor, None, can_schedule=True, can_complete=True), DEMO_PATIENTS[0],
                       care_plans.Inclusion(diabetes.definition, date(2026, 1, 15), date(2026, 1, 10), "written", None,
                                            {"coordinator": doctor.id, "medecin-traitant": doctor.id, "infirmier": nurse.id}))

    context = browser.new_context(base_url=url, locale="fr-FR")
    context.set_default_timeout(10_000)
    session = signed_in_session(app, nurse)  # signed in to the provider and to the portal
    context.add_cookies([{"name": cookie_name(False), "value": session.new_token, "url": url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto("/")
        page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Mes tâches").click()
        page.wait_for_url("**/p/eparcours/tasks")
        assert page.get_by_role("heading", level=1).inner_text() == "Mes tâches"
        rows = page.get_by_test_id("task-row")
        assert rows.count() == 1
        page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
        assert_accessible(page)

        page.get_by_role("link", name="Bilan éducatif partagé (diagnostic éducatif)").click()
        page.wait_for_url(re.compile(r".*/p/eparcours/tasks/\d+(\?.*)?$"))
        assert_accessible(page)
        assert page.get_by_label("Date de réalisation").input_value() == "2026-03-02"
        page.get_by_label("Objectifs convenus avec le patient").fill("Marcher 30 minutes par jour")
        page.get_by_role("button", name="Marquer comme réalisée").click()

        page.wait_for_url("**/p/eparcours/tasks")
        assert "Prochaine étape planifiée : « Séance d'éducation thérapeutique de suivi » pour le 02/06/2026" in \
            page.get_by_role("status").first.inner_text()
        assert page.get_by_role("link", name="Séance d'éducation thérapeutique de suivi").is_visible()
        assert not page.get_by_role("link", name="Bilan éducatif partagé (diagnostic éducatif)").is_visible()
        assert_accessible(page)

        page.goto(f"/p/eparcours/plans/{plan_id}")                  # the plan and its timeline
        assert page.get_by_test_id("timeline-line").count() == 4   # included, started, done, next scheduled
        assert_accessible(page)
        page.goto("/p/eparcours/pathways")
        assert_accessible(page)
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        context.close()

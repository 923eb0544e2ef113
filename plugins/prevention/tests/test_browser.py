"""The whole story in real Chromium: the doctor's population view (filters, axe-core clean), opening
the 66-year-old demo patient from it, the influenza alert and the prevention panel on the patient
page, the vaccine recorded in one click, the alert gone."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from bouquet_prevention import population
from bouquet_prevention.testing import MARTIN, synthetic_patients

from bouquet.api.web import cookie_name
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import free_port, serve, signed_in_session

pytestmark = pytest.mark.browser

FLU = "Vaccination contre la grippe saisonnière"


@pytest.fixture
def served(make_app: Any, today: date) -> Any:
    """This plugin alone (its panel and alerts), served by uvicorn at http://localhost:PORT."""
    port = free_port()
    app = make_app(plugins="prevention", base_url=f"http://localhost:{port}")
    stop = serve(app, port)
    yield app, f"http://localhost:{port}"
    stop()


def test_population_view_then_a_confirmed_act_clears_the_flu_alert(browser: Any, served: Any, doctor: Any) -> None:
    app, url = served
    with app.state.db.write() as session:
        population.declare(session, doctor.id, [MARTIN, *synthetic_patients(12, first_year=1940, years=30)])
    context = browser.new_context(base_url=url, locale="fr-FR")
    context.set_default_timeout(10_000)
    session = signed_in_session(app, doctor)  # signed in to the provider and to the portal
    context.add_cookies([{"name": cookie_name(False), "value": session.new_token, "url": url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/")
        page.get_by_role("navigation", name="Menu principal").get_by_role(
            "link", name="Prévention — mes patients").click()
        page.wait_for_url("**/p/prevention/mes-patients")
        table = page.get_by_test_id("population")
        assert "pour 13 patients" in table.locator("caption").inner_text()
        page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
        assert_accessible(page)

        page.get_by_label("Action de prévention").select_option("grippe-65-ans")
        page.get_by_role("button", name="Filtrer").click()
        page.wait_for_url(re.compile(r".*rule=grippe-65-ans.*"))
        rows = table.locator("tbody tr")
        assert rows.count() > 1 and all(
            text.startswith("À faire depuis le 15/10/2026") for text in rows.locator(".fr-badge").all_text_contents())
        assert "rule=grippe-65-ans" in page.get_by_test_id("export").get_attribute("href")

        page.get_by_role("button", name="Ouvrir le dossier de MARTIN Marie Claire").click()
        page.wait_for_url("**/patient")
        alerts = page.locator("#bq-alerts").get_by_test_id("alert")
        flu_alert = alerts.filter(has_text=f"Prévention : {FLU}")
        flu_alert.wait_for()
        assert "--warning" in (alerts.first.get_attribute("class") or "")  # overdue first (a box, or a line above its panel)
        panel = page.get_by_test_id("prevention-panel")
        panel.wait_for()
        assert panel.locator('[data-rule="grippe-65-ans"]').count() == 1
        page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
        assert_accessible(page)

        # « Fait aujourd'hui » asks first: Annuler records nothing, then Confirmer records it.
        panel.get_by_role("button", name=re.compile(f"Fait aujourd'hui… : {FLU}")).click()
        page.get_by_role("heading", name="Confirmer l'enregistrement").wait_for()
        assert "28/11/2026 (aujourd'hui)" in page.get_by_test_id("to-record").inner_text()
        assert_accessible(page)
        page.get_by_role("button", name="Annuler").click()
        page.wait_for_url("**/patient")
        page.get_by_text("Enregistrement annulé : rien n'a été enregistré.").wait_for()
        flu_alert.wait_for()
        panel = page.get_by_test_id("prevention-panel")
        panel.get_by_role("button", name=re.compile(f"Fait aujourd'hui… : {FLU}")).click()
        page.get_by_role("button", name=re.compile("^Confirmer")).click()
        page.wait_for_url("**/patient")
        page.get_by_text(f"{FLU} du 28/11/2026 enregistrée.").wait_for()
        page.get_by_test_id("prevention-panel").wait_for()
        alerts.first.wait_for()
        assert flu_alert.count() == 0 and alerts.count() > 0
        done = page.get_by_test_id("prevention-panel").locator('[data-rule="grippe-65-ans"]')
        assert "À jour jusqu'au" in (done.text_content() or "")

        page.goto("/p/prevention/mes-patients?rule=grippe-65-ans")
        names = page.get_by_test_id("population").locator("tbody").inner_text()
        assert "MARTIN Marie Claire" not in names and "ESSAI" in names
        assert errors == []
    finally:
        context.close()

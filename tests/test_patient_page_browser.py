"""The patient page in real Chromium: panels load in parallel, one hanging service degrades alone
within its timeout, and the page, its banner and its menus stay usable and accessible."""

from __future__ import annotations

import asyncio
import threading

import pytest
from playwright.sync_api import expect
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bouquet import Alert, Panel, hookimpl
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import signed_in_session
from bouquet.web.sessions import cookie_name

pytestmark = pytest.mark.browser

MARTIN, CHILD = DEMO_PATIENTS[0], DEMO_PATIENTS[1]
TIMEOUT_SECONDS = 1.5


class Answering:
    """A plugin whose panel answers at once."""

    def __init__(self, name: str, title: str, order: int) -> None:
        self.name, self.title, self.order = name, title, order

    @hookimpl
    def bouquet_patient_panels(self, ctx):
        return [Panel(self.title, f"/p/{self.name}/panel", order=self.order)]

    @hookimpl
    def bouquet_routes(self):
        async def panel(request: Request) -> HTMLResponse:
            return HTMLResponse(f"<p>Contenu de {self.title}</p>")

        return [Route("/panel", panel)]


class Hanging:
    """A plugin whose panel endpoint hangs like a dead service; `release` ends the waits when the test is over."""

    def __init__(self) -> None:
        self.calls = 0
        self.waits: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self.lock = threading.Lock()

    @hookimpl
    def bouquet_patient_panels(self, ctx):
        return [Panel("Service en panne", "/p/hanging/panel", order=2)]

    @hookimpl
    async def bouquet_alerts(self, ctx):
        return [Alert("Dépistage en retard", severity="error", description="Rappel à programmer.")]

    @hookimpl
    def bouquet_routes(self):
        async def panel(request: Request) -> HTMLResponse:
            wait = asyncio.ensure_future(asyncio.sleep(60))
            with self.lock:
                self.calls += 1
                self.waits.append((asyncio.get_running_loop(), wait))
            try:
                await wait
            except asyncio.CancelledError:
                pass  # released by the test's teardown, so the live server stops at once
            return HTMLResponse("<p>Trop tard</p>")

        return [Route("/panel", panel)]

    def release(self) -> None:
        with self.lock:
            for loop, wait in self.waits:
                loop.call_soon_threadsafe(wait.cancel)


@pytest.fixture
def hanging():
    return Hanging()


@pytest.fixture
def server(make_live_server, hanging):
    plugins = [("first", Answering("first", "Premier service", 1)), ("hanging", hanging),
               ("third", Answering("third", "Troisième service", 3)),
               ("fourth", Answering("fourth", "Quatrième service", 4))]
    # Only these four: the installed plugins have panels of their own.
    live = make_live_server(extra_plugins=plugins, plugins="", panel_timeout_seconds=TIMEOUT_SECONDS)
    yield live
    hanging.release()  # before make_live_server's teardown stops the server


@pytest.fixture
def tab(browser, server, make_account):
    context = browser.new_context(base_url=server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    doctor = make_account(given_name="Alice", family_name="MARTIN")
    session = signed_in_session(server.app, doctor)
    context.add_cookies([{"name": cookie_name(False), "value": session.new_token, "url": server.url}])
    page = context.new_page()
    page.script_errors = []  # its CSP violations fail the test (the `browser` fixture)
    page.on("pageerror", lambda error: page.script_errors.append(f"{page.url}: {error}"))
    yield page
    context.close()


def _open_demo_patient(page, patient):
    page.goto("/patient/open")  # the test form, with or without a patient open
    page.get_by_label("Choisir un patient fictif").select_option(patient.ins.matricule)
    page.get_by_role("button", name="Ouvrir ce patient").click()
    page.wait_for_url("**/patient")


def test_panels_load_in_parallel_and_a_hanging_one_degrades_within_its_timeout(tab, hanging):
    tab.goto("/patient")
    assert tab.get_by_test_id("no-patient").is_visible()
    assert_accessible(tab)

    _open_demo_patient(tab, MARTIN)
    opened = tab.evaluate("performance.now()")
    banner = tab.get_by_test_id("patient-banner")
    assert banner.get_by_test_id("patient-birth-name").inner_text() == "MARTIN"
    assert "Patient fictif" in banner.get_by_test_id("patient-fictitious").text_content()

    panels = tab.get_by_test_id("panel")
    assert panels.count() == 4
    for title in ("Premier service", "Troisième service", "Quatrième service"):
        tab.get_by_text(f"Contenu de {title}").wait_for()
    degraded = panels.filter(has_text="Service en panne").get_by_test_id("panel-degraded")
    degraded.wait_for(timeout=10_000)
    elapsed = (tab.evaluate("performance.now()") - opened) / 1000
    assert elapsed < 10  # about the 1.5 s timeout; loose, the page clock is not a stopwatch
    assert "Ce service ne répond pas pour le moment" in degraded.inner_text()
    status = tab.locator("#bq-panel-status")
    assert status.get_attribute("aria-live") == "polite"
    assert "Service en panne" in status.inner_text()

    alert = tab.get_by_test_id("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("Dépistage en retard")
    assert tab.script_errors == []  # neither htmx, the design system nor bouquet.js threw
    assert_accessible(tab)

    # « Réessayer » asks the service again, with the same timeout.
    hanging_panel = panels.filter(has_text="Service en panne")
    hanging_panel.get_by_role("button", name="Réessayer").click()
    assert "Chargement" in hanging_panel.inner_text()
    degraded.wait_for(timeout=10_000)
    assert hanging.calls == 2


def test_switching_and_closing_from_the_banner(tab):
    _open_demo_patient(tab, MARTIN)
    _open_demo_patient(tab, CHILD)
    banner = tab.get_by_test_id("patient-banner")
    assert banner.get_by_test_id("patient-birth-name").inner_text() == "MOREAU-LEROY"

    menu_button = banner.get_by_role("button", name="Changer de patient")
    # The design system's script runs the menu. (Locators wait without eval, which the CSP forbids.)
    tab.locator("html[data-fr-js]").wait_for(state="attached")
    menu_button.click()
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    assert_accessible(tab)
    banner.get_by_role("button", name="MARTIN Marie").click()
    tab.wait_for_url("**/patient")
    assert tab.get_by_test_id("patient-birth-name").inner_text() == "MARTIN"

    tab.get_by_role("button", name="Fermer le dossier").click()
    tab.wait_for_url("**/patient")
    assert tab.get_by_text("Le dossier de MARTIN Marie est fermé.").is_visible()
    assert tab.get_by_test_id("patient-banner").count() == 0
    assert tab.get_by_role("button", name="Reprendre le dossier de MOREAU-LEROY Lucas").is_visible()
    assert_accessible(tab)
    assert tab.script_errors == []

"""In Chromium, every page an administrator, a doctor with a patient open, a secretary and a vendor can reach by
links (the core's and every installed plugin's), panels loaded: none breaks the Content-Security-Policy.

The `browser` fixture records each page's violations (an inline `style=`, an inline script…) and fails the test
that caused any; this test makes sure it visits the pages nobody's journey walks.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.testing.fixtures import signed_in_session
from bouquet.web.sessions import cookie_name

pytestmark = pytest.mark.browser

# Never followed: they end the session, leave the portal, or are not pages.
NOT_FOLLOWED = ("/logout", "/static/", "/metrics", "/healthz", "/readyz", "/authorize", "/end_session", "/fhir",
                "/.well-known", "/p/dmp/fhir", "/p/prevention/cds-services")
MAX_PAGES = 40


def _visit_every_page(context, base: str, start: list[str]) -> list[str]:
    """Open `start` and every same-site page linked from it (breadth first, at most MAX_PAGES); the pages seen."""
    page = context.new_page()
    seen: list[str] = []
    queue = list(start)
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.append(path)
        try:
            response = page.goto(base + path)
        except PlaywrightError as error:  # a link to a file (CSV export, document): not a page
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        page.wait_for_load_state("networkidle")  # htmx panels loaded and swapped in
        for href in page.eval_on_selector_all("a[href]", "links => links.map(link => link.getAttribute('href'))"):
            parts = urlsplit(urljoin(base + path, href))
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if (f"{parts.scheme}://{parts.netloc}" == base and target not in seen
                    and not any(target.startswith(prefix) for prefix in NOT_FOLLOWED)):
                queue.append(target)
    page.close()
    return seen


def _context_of(browser, server, account, **session):  # noqa: ANN001, ANN202
    context = browser.new_context(base_url=server.url, locale="fr-FR")
    context.set_default_timeout(15_000)
    token = signed_in_session(server.app, account, **session).new_token
    context.add_cookies([{"name": cookie_name(False), "value": token, "url": server.url}])
    return context


@pytest.mark.backends("sqlite")  # about what pages send the browser, not about the database
def test_no_page_of_any_account_breaks_the_csp(browser, live_server, make_account) -> None:
    doctor = make_account(username="dr.csp", specialty_label="Médecine générale")
    people = {
        "admin": make_account(kind="admin", username="admin.csp"),
        "professional": doctor,
        "vendor": make_account(kind="vendor", username="editeur.csp", organisation="Éditions", siren="732829320"),
    }
    visited: dict[str, list[str]] = {}
    for who, account in people.items():
        context = _context_of(browser, live_server, account)
        start = ["/", "/account", f"/admin/accounts/{doctor.id}"] if who == "admin" else ["/", "/account"]
        if who == "professional":
            page = context.new_page()
            page.goto("/patient/open")
            page.get_by_label("Choisir un patient fictif").select_option(DEMO_PATIENTS[0].ins.matricule)
            page.get_by_role("button", name="Ouvrir ce patient").click()
            page.wait_for_url("**/patient")
            page.close()
            start.insert(0, "/patient")
        if who == "vendor":
            # The page that shows a new client secret once (reached by a form, not a link).
            page = context.new_page()
            page.goto("/p/catalog/vendor")
            page.get_by_role("button", name="Créer un client d'API").click()
            page.wait_for_load_state("networkidle")
            assert page.get_by_test_id("client-secret").inner_text()
            page.close()
        visited[who] = _visit_every_page(context, live_server.url, start)
        context.close()
    # The crawl reached the pages of the core and of the plugins (the check itself runs after the test).
    assert "/patient" in visited["professional"] and any(p.startswith("/p/dmp") for p in visited["professional"])
    assert any(p.startswith("/p/prevention") for p in visited["professional"])
    assert f"/admin/accounts/{doctor.id}" in visited["admin"]
    assert any(p.startswith("/p/catalog/vendor") for p in visited["vendor"])

"""In Chromium, a vendor through review: files a solution with a logo, the operator asks for changes, the
vendor finds the form filled with what is on file (and the logo kept), makes a slip (one error, everything
else kept), fixes it and resubmits without typing anything again or re-uploading the logo."""

from __future__ import annotations

import pytest
from bouquet_catalog import solutions
from bouquet_catalog.models import Revision, Solution
from bouquet_catalog.solutions import Actor
from bouquet_catalog.workflow import OPERATOR

from bouquet.api.web import cookie_name
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import signed_in_session

pytestmark = pytest.mark.browser


def test_vendor_through_changes_requested_and_resubmission(browser, make_live_server, vendor, h, tmp_path):
    server = make_live_server()
    app = server.app
    logo = tmp_path / "logo.png"
    logo.write_bytes(h.png(128, 128))
    session = signed_in_session(app, vendor)
    context = browser.new_context(base_url=server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": cookie_name(False), "value": session.new_token, "url": server.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto("/p/catalog/vendor/new")
        form = page.get_by_test_id("solution-form")
        form.get_by_label("Nom de la solution").fill("Télésurveillance Cœur Connecté")
        form.get_by_label("Catégorie").select_option("TLS")
        form.get_by_label("Version", exact=True).fill("3.2")
        form.get_by_label("Description").fill("Suivi à domicile de l'insuffisance cardiaque.")
        form.locator('label[for="professions-10"]').click()    # the DSFR checkbox is drawn by its label
        form.locator('label[for="regions-84"]').click()
        form.get_by_label("Logo").set_input_files(str(logo))
        page.get_by_role("button", name="Enregistrer et soumettre").click()
        page.wait_for_url("**/p/catalog/vendor/solutions/*")
        solution_id = int(page.url.rsplit("/", 1)[1])

        operator = Actor(None, "Opérateur de test", OPERATOR)
        with app.state.db.write() as db:
            solution = db.get(Solution, solution_id)
            solutions.transition(db, solution, "start_review", operator)
            solutions.transition(db, solution, "request_changes", operator, "Indiquez la version 3.3, celle testée.")

        page.reload()
        assert "Indiquez la version 3.3" in page.content()
        form = page.get_by_test_id("solution-form")
        # The form shows what is on file, not an empty form.
        assert form.get_by_label("Nom de la solution").input_value() == "Télésurveillance Cœur Connecté"
        assert form.get_by_label("Description").input_value() == "Suivi à domicile de l'insuffisance cardiaque."
        assert form.get_by_label("Médecin", exact=True).is_checked()
        assert page.get_by_test_id("current-images").locator("img").count() == 1     # the logo is kept
        assert_accessible(page)

        # A slip: the name erased by mistake. One error; everything else still there.
        form.get_by_label("Nom de la solution").fill("")
        form.get_by_label("Version", exact=True).fill("3.3")
        page.get_by_role("button", name="Enregistrer et soumettre").click()
        page.get_by_test_id("form-errors").wait_for()
        assert page.get_by_test_id("form-errors").locator("li").all_inner_texts() == [
            "Nom : indiquez le nom de la solution."]
        form = page.get_by_test_id("solution-form")
        assert form.get_by_label("Version", exact=True).input_value() == "3.3"
        assert form.get_by_label("Catégorie").input_value() == "TLS"
        assert form.get_by_label("Auvergne-Rhône-Alpes").is_checked()
        assert page.get_by_test_id("current-images").locator("img").count() == 1
        assert_accessible(page)

        form.get_by_label("Nom de la solution").fill("Télésurveillance Cœur Connecté")
        page.get_by_role("button", name="Enregistrer et soumettre").click()
        page.wait_for_url(f"**/p/catalog/vendor/solutions/{solution_id}")
        assert page.get_by_test_id("form-errors").count() == 0
        with app.state.db.session() as db:
            solution = db.get(Solution, solution_id)
            revision = db.get(Revision, solution.pending_revision_id)
            kept_images = solutions.images_of(db, revision.id)
        assert solution.status == "submitted"
        assert (revision.content["version"], revision.content["name"]) == ("3.3", "Télésurveillance Cœur Connecté")
        assert [image.role for image in kept_images] == ["logo"]                   # not uploaded again
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        context.close()

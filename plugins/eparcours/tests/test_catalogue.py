"""Pathways come from any installed package through `eparcours_pathways`: the example region's two
pathways, a separate package registered in the test, and a malformed definition in an installed
package (reported, the others still load)."""

from __future__ import annotations

import html
import logging

from bouquet_eparcours.catalogue import catalogue_of, load
from bouquet_eparcours.hookspecs import HOOK

from bouquet import hookimpl
from bouquet.api.plugins import Plugins


def text(response):
    return html.unescape(response.text)


def test_the_example_region_offers_two_pathways_with_their_sources(client, doctor):
    client.login(doctor)
    page = text(client.get("/p/eparcours/pathways"))
    assert "Suivi du diabète de type 2 de l'adulte" in page and "Suivi après un accident vasculaire cérébral" in page
    assert "Guide parcours de soins – Diabète de type 2 de l'adulte" in page
    assert "bouquet-eparcours-example-region" in page or "eparcours_example_region" in page
    assert "(non vérifié)" in page and "Auvergne-Rhône-Alpes" in page
    assert "3 mois après la date de référence (date d'inclusion), puis tous les 3 mois ; en retard au-delà de 3 mois" in page
    assert "3 mois après la réalisation de « Bilan éducatif partagé (diagnostic éducatif) », puis tous les 6 mois" in page
    cited = client.get("/p/eparcours/pathways/diabete-type-2")      # the URI the FHIR export cites
    assert cited.status_code == 303 and cited.headers["location"] == "/p/eparcours/pathways#diabete-type-2"
    catalogue = catalogue_of(client.app.state)
    assert catalogue.problems == []
    assert [p.definition.id for p in catalogue.offered()] == ["suivi-post-avc", "diabete-type-2"]


def test_the_hook_is_declared_by_e_parcours(app):
    catalogue_of(app.state)
    caller = getattr(app.state.plugins.pm.hook, HOOK)
    assert caller.has_spec()
    assert "eparcours_example_region" in {impl.plugin_name for impl in caller.get_hookimpls()}


def test_a_separate_pathway_package_is_discovered_and_usable(make_app, region_plugins, doctor_and_nurse_on, load_package):
    region_x = load_package("bouquet_region_x", "region_x")
    app = make_app(extra_plugins=[*region_plugins, ("region_x", region_x)])
    client, doctor, nurse = doctor_and_nurse_on(app)
    plugins = {p["name"]: p for p in client.get("/-/plugins.json").json()}
    assert HOOK in plugins["region_x"]["hooks"]
    page = text(client.get("/p/eparcours/pathways"))
    assert "Suivi de l'insuffisance cardiaque (région X)" in page and "Bretagne" in page
    assert "Suivi du diabète de type 2 de l'adulte" in page         # the others are still there

    from bouquet.api.patient import DEMO_PATIENTS

    patient = DEMO_PATIENTS[2]
    assert client.submit("/patient", {"demo": patient.ins.matricule}).status_code == 303
    response = client.submit("/p/eparcours/plans", {
        "pathway": "insuffisance-cardiaque", "patient_ins": f"{patient.ins.oid}|{patient.ins.matricule}",
        "reference_date": "2026-02-23", "consent_date": "2026-02-23", "consent_method": "written",
        "member_coordinator": doctor.id, "member_infirmier": nurse.id})
    assert response.status_code == 303
    client.login(nurse)
    mine = text(client.get("/p/eparcours/tasks"))
    assert "Pesée et recherche d'œdèmes" in mine and "02/03/2026" in mine and "LEFEBVRE Jean" in mine


def test_a_malformed_definition_is_reported_and_the_others_load(install_plugin, make_app, region_plugins,
                                                                doctor_and_nurse_on, tests_dir, caplog, make_account):
    install_plugin("bouquet-region-broken", "0.0.1", "region_broken", "bouquet_region_broken", tests_dir / "region_broken")
    app = make_app(extra_plugins=region_plugins)
    with caplog.at_level(logging.ERROR):
        client, doctor, _ = doctor_and_nurse_on(app)    # the app starts: the catalogue loads
    logged = [r.getMessage() for r in caplog.records if r.name == "bouquet.plugins"]
    assert any("plugin region_broken failed in hook eparcours_pathways" in line and "bouquet-region-broken" in line
               and "asthme.yaml" in line and "« efr »" in line and "recurrence.every" in line for line in logged), logged

    plugins = {p["name"]: p for p in client.get("/-/plugins.json").json()}
    broken = plugins["region_broken"]
    assert broken["loaded"] is True and broken["hook_failures"] == {HOOK: 1}
    assert broken["last_error"] == "Détails réservés aux administrateurs."  # the error itself: administrators only
    listing = text(client.get("/-/plugins"))
    assert "region_broken" in listing and "eparcours_pathways : 1 échec(s)" in listing
    client.login(make_account("admin"))
    broken = {p["name"]: p for p in client.get("/-/plugins.json").json()}["region_broken"]
    assert "durée ISO 8601 attendue (ex. P3M, P1Y, P15D), reçu « 3 mois »" in broken["last_error"]
    client.login(doctor)

    page = text(client.get("/p/eparcours/pathways"))
    assert "Définitions refusées" in page
    assert ("module region_broken (paquet bouquet-region-broken) — fichier pathways/asthme.yaml — parcours « asthme » "
            "— étape « efr » — champ « recurrence.every » : durée ISO 8601 attendue") in page
    assert "Suivi de la BPCO" in page                                 # same package, valid file: loaded
    assert "Suivi du diabète de type 2 de l'adulte" in page          # other packages: loaded


def test_definition_errors_name_the_step_and_the_field():
    class Answer:
        @hookimpl
        def eparcours_pathways(self):
            return [{"id": "x", "version": "1", "title": "X", "regions": [84],
                     "roles": [{"id": "coordinator", "label": "C"}], "steps": [{"id": "a", "title": "A", "role": "coordinator"}]},
                    {"id": "y", "version": "1", "title": "Y", "regions": ["84"],
                     "roles": [{"id": "coordinator", "label": "C"}],
                     "steps": [{"id": "a", "title": "A", "role": "coordinator"},
                               {"id": "b", "title": "B", "role": "médecin", "start": {"after": "z"}}]},
                    {"id": "z", "version": "1", "title": "Z", "regions": ["84"], "roles": [{"id": "medecin", "label": "M"}],
                     "steps": [{"id": "a", "title": "A", "role": "medecin", "records": [
                         {"id": "v", "label": "V", "kind": "quantity", "min": 5, "max": 1}]}]},
                    "/nowhere/pathway.yaml", 42]

    plugins = Plugins([], extra=[("answer", Answer())])
    catalogue = load(plugins)
    assert catalogue.offered() == []
    messages = [str(problem) for problem in catalogue.problems]
    assert "parcours « x » — champ « regions.0 » : texte attendu (mettez la valeur entre guillemets), reçu « 84 »" in messages[0]
    assert "parcours « y » — étape « b » — champ « role » : identifiant attendu" in messages[1]
    assert "étape « a » — champ « records.0 » : min (5) doit être inférieur à max (1)" in messages[2]
    assert "fichier nowhere/pathway.yaml : fichier introuvable" in messages[3]
    assert "attendu un chemin de fichier ou un objet parcours, reçu int" in messages[4]
    assert plugins.info["answer"].failures == {HOOK: 5}


def test_references_are_checked_after_the_fields():
    from bouquet_eparcours.definitions import PathwayDefinition, check_references

    definition = PathwayDefinition.model_validate({
        "id": "w", "version": "1", "title": "W", "regions": ["FR"],
        "roles": [{"id": "medecin", "label": "M"}, {"id": "medecin", "label": "M2"}],
        "steps": [{"id": "a", "title": "A", "role": "infirmier", "start": {"after": "b"}},
                  {"id": "b", "title": "B", "role": "medecin", "start": {"after": "a"}, "source": {"ref": "has"}}]})
    problems = check_references(definition)
    assert (None, "roles", "identifiant « medecin » en double") in problems
    assert (None, "roles", "le rôle « coordinator » (coordinateur du parcours) est obligatoire") in problems
    assert ("a", "role", "rôle « infirmier » non déclaré dans roles") in problems
    assert ("b", "source.ref", "source « has » non déclarée dans sources") in problems
    assert ("a", "start.after", "les étapes dépendent les unes des autres en boucle") in problems


def test_the_command_line_lists_the_pathways(monkeypatch, database_url):
    from click.testing import CliRunner

    from bouquet.api.plugins import build_cli

    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", "bouquet-test-secret-key-0123456789abcdef")
    result = CliRunner().invoke(build_cli(), ["eparcours-pathways"])
    if "eparcours_example_region" not in result.output:  # the example region is not pip-installed here
        assert result.exit_code == 0 and "REFUSÉ" not in result.output
    else:
        assert result.exit_code == 0 and "diabete-type-2 2026.1 — Suivi du diabète de type 2 de l'adulte" in result.output


def test_an_implementation_with_unknown_arguments_fails_alone(caplog):
    class Wrong:
        @hookimpl
        def eparcours_pathways(self, region):
            return []

    class Right:
        @hookimpl
        def eparcours_pathways(self):
            return [{"id": "ok", "version": "1", "title": "OK", "regions": ["FR"],
                     "roles": [{"id": "coordinator", "label": "C"}],
                     "steps": [{"id": "a", "title": "A", "role": "coordinator"}]}]

    plugins = Plugins([], extra=[("wrong", Wrong()), ("right", Right())])
    with caplog.at_level(logging.ERROR):
        catalogue = load(plugins)
    assert "plugin wrong implements eparcours_pathways with arguments it cannot receive" in caplog.text
    assert [p.definition.id for p in catalogue.offered()] == ["ok"]
    assert HOOK in plugins.info["wrong"].failures          # the core's failure record, when called

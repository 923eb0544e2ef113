"""The plugin system, through an example third-party plugin that implements every hook."""

from __future__ import annotations

import ast
import asyncio
import logging
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bouquet.migrations import UnmigratedDatabase
from bouquet.plugins import Alert, Launchable, Panel, Plugins, hookspecs

ROOT = Path(__file__).parent.parent
FOUR = {"dmp", "eparcours", "prevention", "catalog"}


@pytest.fixture
def example_app(example_plugin, migrated_with_plugins, make_app):
    migrated_with_plugins()
    return make_app()


@pytest.fixture
def example_client(example_app, client_for):
    return client_for(example_app)


@pytest.fixture
def client_for():
    from bouquet.testing.fixtures import BouquetClient

    clients = []

    def make(app):
        client = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_plugins_json_lists_the_four_plugins_with_versions_and_hooks(client):
    plugins = {p["name"]: p for p in client.get("/-/plugins.json").json()}
    assert FOUR <= set(plugins)
    for name in FOUR:
        assert plugins[name]["version"] == "0.1.0"
        assert plugins[name]["loaded"] is True
        assert "bouquet_actions" in plugins[name]["hooks"]


def test_plugins_page_is_french_html(client):
    response = client.get("/-/plugins")
    assert response.status_code == 200
    assert "Modules installés" in response.text and "dmp" in response.text


def test_example_plugin_is_discovered_through_its_entry_point(example_client):
    plugins = {p["name"]: p for p in example_client.get("/-/plugins.json").json()}
    example = plugins["example"]
    assert example["version"] == "1.2.3"
    assert set(example["hooks"]) == {name for name in dir(hookspecs) if name.startswith("bouquet_")}


def test_bouquet_plugins_setting_restricts_and_empty_loads_none(example_plugin, migrated_with_plugins, make_app, client_for):
    migrated_with_plugins()
    only = client_for(make_app(plugins="example,dmp")).get("/-/plugins.json").json()
    assert {p["name"] for p in only} == {"example", "dmp"}
    assert client_for(make_app(plugins="")).get("/-/plugins.json").json() == []


def test_unknown_plugin_name_is_reported_not_fatal(make_app, client_for):
    listed = client_for(make_app(plugins="dmp,nosuch")).get("/-/plugins.json").json()
    assert {p["name"]: p["loaded"] for p in listed} == {"dmp": True, "nosuch": False}


# --- one test per hook (test_every_hook_has_a_test checks the names) -------------------------

def test_hook_bouquet_routes(example_client, make_account):
    example_client.login(make_account(given_name="Alice", family_name="MARTIN"))
    response = example_client.get("/p/example/hello")
    assert response.status_code == 200
    assert "Bonjour Dr Alice MARTIN" in response.text


def test_hook_bouquet_routes_are_behind_sign_in(example_client):
    assert example_client.get("/p/example/hello").status_code == 401


def test_hook_bouquet_templates(example_client, make_account):
    example_client.login(make_account())
    html = example_client.get("/p/example/hello").text
    assert 'class="example-marker"' in html  # the plugin's template…
    assert "République" in html  # …extending the shell's layout


def test_hook_bouquet_static(example_client):
    response = example_client.get("/static/example/example.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_hook_bouquet_models(example_app):
    from bouquet_example import ExampleNote
    from sqlmodel import select

    with example_app.state.db.session() as session:
        session.add(ExampleNote(text="bonjour"))
    with example_app.state.db.session() as session:
        assert [n.text for n in session.exec(select(ExampleNote))] == ["bonjour"]


def test_hook_bouquet_migrations(example_plugin, make_app):
    # The example's branch is not applied to this database: the app must refuse to start.
    with pytest.raises(UnmigratedDatabase, match="example_0001"):
        make_app()


def test_hook_bouquet_actions(example_app, make_account):
    perms = example_app.state.permissions
    doctor, secretary = make_account(), make_account(kind="secretary")
    assert perms.allows(doctor, "example.write")
    assert perms.allows(secretary, "example.read", acting_for=doctor)
    assert not perms.allows(secretary, "example.write", acting_for=doctor)
    assert not perms.allows(secretary, "example.read")  # acting for nobody


def test_hook_bouquet_scopes(example_app, example_client):
    # The provider knows the example's scope with the plugin loaded (tests/oidc/test_plugin_scopes.py
    # covers registration, tokens, consent and bad declarations).
    known = example_app.state.scopes
    assert known.plugin_of("example.notes") == "example"
    assert known.descriptions["example.notes"] == "Lire et écrire les notes de l'exemple"
    assert "example.notes" in example_client.get("/.well-known/openid-configuration").json()["scopes_supported"]
    assert "bouquet_scopes" not in example_app.state.plugins.info["example"].failures


def test_hook_bouquet_nav(example_client, make_account):
    example_client.login(make_account())
    html = example_client.get("/").text
    assert re.search(r'<a class="fr-nav__link" href="/p/example/hello"\s*>Exemple</a>', html)
    assert html.index(">Accueil<") < html.index(">Exemple<")  # ordered by `order`


async def _acall(app, hook, **kwargs):
    return app.state.plugins.flat(await app.state.plugins.acall(hook, **kwargs))


@pytest.mark.anyio
async def test_hook_bouquet_patient_panels(example_app):
    panels = await _acall(example_app, "bouquet_patient_panels", ctx=None)
    assert Panel("Exemple", "/p/example/panel", order=900) in panels


@pytest.mark.anyio
async def test_hook_bouquet_alerts(example_app):
    alerts = await _acall(example_app, "bouquet_alerts", ctx=None)  # the example's is async
    assert Alert("Alerte de l'exemple", severity="info") in alerts


@pytest.mark.anyio
async def test_hook_bouquet_home_notices(example_app):
    notices = await _acall(example_app, "bouquet_home_notices", ctx=None)
    assert Alert("Message de l'exemple", severity="info", description="Pour le compte connecté.") in notices


@pytest.mark.anyio
async def test_hook_bouquet_launchables(example_app):
    launchables = await _acall(example_app, "bouquet_launchables", ctx=None)
    assert Launchable("Application exemple", "https://app.example.org/launch") in launchables


def test_hook_bouquet_cli(example_plugin, monkeypatch, database_url):
    from bouquet.cli import build_cli

    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    result = CliRunner().invoke(build_cli(), ["example-hello"])
    assert result.exit_code == 0, result.output
    assert "Bonjour de l'exemple" in result.output
    assert "example-hello" in CliRunner().invoke(build_cli(), ["--help"]).output


def test_hook_bouquet_demo(example_plugin, migrated_with_plugins, monkeypatch, database_url, make_app):
    from bouquet.cli import build_cli

    migrated_with_plugins()
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    for _ in range(2):  # idempotent
        result = CliRunner().invoke(build_cli(), ["demo"])
        assert result.exit_code == 0, result.output
    from bouquet_example import ExampleNote
    from sqlmodel import select

    with make_app().state.db.session() as session:
        assert len(session.exec(select(ExampleNote)).all()) == 1


def test_hook_bouquet_session_ended(example_app, make_account):
    import bouquet_example

    doctor = make_account()
    sessions = example_app.state.sessions
    browser = sessions.create(account_id=doctor.id, amr=["pwd", "otp"])
    bouquet_example.EVENTS.clear()
    stepped_up = sessions.rotate(browser, account_id=doctor.id, amr=["pwd", "otp", "hwk"])
    assert stepped_up.row.sid == browser.row.sid and bouquet_example.EVENTS == []  # a step-up goes on
    sessions.end(stepped_up.row.id, "signed_out")
    assert bouquet_example.EVENTS == [f"session_ended:{doctor.id}:signed_out"]


def test_hook_bouquet_startup(example_app, client_for):
    import bouquet_example

    bouquet_example.EVENTS.clear()
    client_for(example_app)
    assert bouquet_example.EVENTS == ["startup"]


def test_hook_bouquet_shutdown(example_app, client_for):
    import bouquet_example

    bouquet_example.EVENTS.clear()
    client_for(example_app).__exit__(None, None, None)
    assert bouquet_example.EVENTS == ["startup", "shutdown"]


# --- failures never take the portal down ---------------------------------------------------

def test_broken_plugin_leaves_every_page_working(broken_plugins, make_app, client_for, make_account, caplog):
    app = make_app()
    client = client_for(app)
    client.login(make_account())
    with caplog.at_level(logging.ERROR, logger="bouquet.plugins"):
        assert client.get("/").status_code == 200
    assert any("plugin broken failed in hook bouquet_nav" in r.getMessage() for r in caplog.records)
    listed = {p["name"]: p for p in client.get("/-/plugins.json").json()}
    assert listed["broken"]["hook_failures"] == {"bouquet_nav": 1}
    assert listed["unloadable"]["loaded"] is False
    assert all(listed[name]["loaded"] for name in FOUR)
    page = client.get("/-/plugins").text
    assert "Non chargé" in page
    # Why they failed (exception, file paths of the server) is for administrators only.
    assert listed["broken"]["last_error"] == listed["unloadable"]["load_error"] == "Détails réservés aux administrateurs."
    assert "nav exploded" not in page and "cannot be imported" not in page
    client.login(make_account("admin"))
    listed = {p["name"]: p for p in client.get("/-/plugins.json").json()}
    assert "nav exploded" in listed["broken"]["last_error"]
    assert "cannot be imported" in listed["unloadable"]["load_error"]
    assert "nav exploded" in client.get("/-/plugins").text


def test_failure_details_are_hidden_from_anonymous_visitors(broken_plugins, make_app, client_for):
    client = client_for(make_app())
    listed = {p["name"]: p for p in client.get("/-/plugins.json").json()}
    assert listed["unloadable"]["loaded"] is False
    assert listed["unloadable"]["load_error"] == "Détails réservés aux administrateurs."
    page = client.get("/-/plugins").text
    assert "Non chargé" in page and "cannot be imported" not in page and "Traceback" not in page


@pytest.mark.anyio
async def test_failing_async_hook_is_skipped_and_counted(broken_plugins, example_plugin):
    plugins = Plugins(["broken", "example"])
    alerts = plugins.flat(await plugins.acall("bouquet_alerts", ctx=None))
    assert alerts == [Alert("Alerte de l'exemple", severity="info")]
    assert plugins.info["broken"].failures == {"bouquet_alerts": 1}


def test_async_result_in_a_sync_hook_call_is_a_reported_failure(example_plugin):
    plugins = Plugins(["example"])
    assert plugins.call("bouquet_alerts", ctx=None) == []
    assert plugins.info["example"].failures == {"bouquet_alerts": 1}


# --- the guide documents and tests every hook -----------------------------------------------

def _hook_names() -> list[str]:
    tree = ast.parse((ROOT / "bouquet" / "plugins" / "hookspecs.py").read_text())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("bouquet_")]


@pytest.mark.parametrize("hook", _hook_names())
def test_every_hook_is_documented(hook):
    guide = (ROOT / "docs" / "plugins.md").read_text()
    section = re.search(rf"^### `{hook}\((.*?)\)`\n(.*?)(?=^### |\Z)", guide, re.M | re.S)
    assert section, f"docs/plugins.md has no section for {hook}"
    assert "```python" in section.group(2), f"the section for {hook} has no example"
    assert "@hookimpl" in section.group(2)


@pytest.mark.parametrize("hook", _hook_names())
def test_every_hook_has_a_test(hook):
    assert f"def test_hook_{hook}(" in Path(__file__).read_text(), f"no test_hook_{hook} in tests/test_plugins.py"


# --- acall: one after another by default, concurrently with a timeout ------------------------

class _Timed:
    """An async alerts implementation that sleeps, and notes when it started and ended."""

    def __init__(self, name, seconds, log):
        self.name, self.seconds, self.log = name, seconds, log

    @hookspecs.hookimpl
    async def bouquet_alerts(self):
        self.log.append(f"start {self.name}")
        await asyncio.sleep(self.seconds)
        self.log.append(f"end {self.name}")
        return [Alert(self.name)]


class _Sync:
    @hookspecs.hookimpl
    def bouquet_alerts(self):
        return [Alert("sync")]


@pytest.mark.anyio
async def test_acall_calls_implementations_one_after_another_by_default():
    log = []
    plugins = Plugins([], extra=[("a", _Timed("a", 0.05, log)), ("b", _Timed("b", 0.05, log))])
    alerts = plugins.flat(await plugins.acall("bouquet_alerts"))
    assert [alert.title for alert in alerts] == ["b", "a"]  # pluggy's order: the last registered first
    assert log == ["start b", "end b", "start a", "end a"]


@pytest.mark.anyio
async def test_acall_with_a_timeout_runs_concurrently_and_cuts_off_the_slow(caplog):
    log, failures = [], []
    plugins = Plugins([], extra=[("quick", _Timed("quick", 0.2, log)), ("hanging", _Timed("hanging", 60, log)),
                                 ("sync", _Sync()), ("also-quick", _Timed("also-quick", 0.2, log))])
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="bouquet.plugins"):
        results = await plugins.acall("bouquet_alerts", timeout=0.5, failures=failures)
    elapsed = time.monotonic() - started

    assert elapsed < 5  # about the timeout, never the hanging plugin's 60 s
    assert log[:3] == ["start also-quick", "start hanging", "start quick"]  # all started before any ended
    assert [(r.plugin, [a.title for a in r.value]) for r in results] == [
        ("also-quick", ["also-quick"]), ("sync", ["sync"]), ("quick", ["quick"])]  # in order, the slow one left out
    assert failures == ["hanging"]
    assert plugins.info["hanging"].failures == {"bouquet_alerts": 1}
    assert "TimeoutError: no answer within 0.5 s" in plugins.info["hanging"].last_error
    assert any("plugin hanging failed in hook bouquet_alerts" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_acall_with_a_timeout_still_skips_an_implementation_that_raises():
    class Raising:
        @hookspecs.hookimpl
        async def bouquet_alerts(self):
            raise RuntimeError("alerts exploded")

    failures = []
    plugins = Plugins([], extra=[("raising", Raising()), ("sync", _Sync())])
    results = await plugins.acall("bouquet_alerts", timeout=1, failures=failures)
    assert [r.plugin for r in results] == ["sync"] and failures == ["raising"]

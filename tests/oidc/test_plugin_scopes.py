"""Scopes plugins declare (`bouquet_scopes`): known to the provider with the plugin, unknown without it.

A plugin's scope is listed in discovery, may be registered on a client (code, command line, admin
form), is granted by the token endpoint and described in French on the consent page. A declaration
that is not namespaced by its plugin, or shadows a core scope, is reported as the plugin's failure
and ignored.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from bouquet import Scope, hookimpl
from bouquet.sso.oidc import InvalidClient, known_scopes, register_client
from bouquet.sso.oidc.scopes import CORE, SUPPORTED, KnownScopes
from bouquet.testing.oidc import Portal

REPORT = "vaccination.report"
REPORT_FR = "Transmettre les vaccinations réalisées à la campagne"


class Vaccination:
    """A third-party plugin with an API of its own."""

    @hookimpl
    def bouquet_scopes(self) -> list[Scope]:
        return [Scope(REPORT, REPORT_FR)]


class Careless:
    """A plugin whose declarations are mostly wrong (the dict form); only `careless.ok` counts."""

    @hookimpl
    def bouquet_scopes(self) -> dict[str, str]:
        return {"report": "Sans espace de noms", "openid": "Usurpe une portée du cœur",
                "vaccination.steal": "Dans l'espace d'un autre module", "careless.ok": "Une portée correcte",
                "careless.empty": " ", "careless.has space": "Un nom invalide"}


class Exploding:
    @hookimpl
    def bouquet_scopes(self) -> list[Scope]:
        raise RuntimeError("scopes exploded")


PLUGINS = [("vaccination", Vaccination()), ("careless", Careless()), ("exploding", Exploding())]


@pytest.fixture
def portal(make_live_server: Any) -> Portal:
    server = make_live_server(plugins="", extra_plugins=PLUGINS)
    return Portal(server.url, server.app)


@pytest.fixture
def test_client() -> Iterator[Any]:
    from bouquet.testing.fixtures import BouquetClient

    made: list[Any] = []

    def make(app: Any) -> Any:
        client = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)
        client.__enter__()
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


def _backend(portal: Portal, scope: str) -> tuple[str, str]:
    with portal.db.write() as session:
        registered = register_client(session, name="Logiciel de vaccination", grant_types=["client_credentials"],
                                     scope=scope, known_scopes=known_scopes(portal.app))
        return registered.client.client_id, registered.secret or ""


def test_a_plugin_scope_is_discovered_registered_and_granted(portal):
    discovered = httpx.get(f"{portal.url}/.well-known/openid-configuration").json()["scopes_supported"]
    assert discovered == [*SUPPORTED, "careless.ok", REPORT]  # the core's, then the plugins' by name

    client_id, secret = _backend(portal, REPORT)
    token = httpx.post(f"{portal.url}/token", data={"grant_type": "client_credentials", "scope": REPORT},
                       auth=(client_id, secret))
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == REPORT
    seen = httpx.post(f"{portal.url}/introspect", data={"token": token.json()["access_token"]},
                      auth=(client_id, secret))
    assert seen.json()["active"] is True and seen.json()["scope"] == REPORT

    # Without the app's scopes, register_client knows the core's alone, and says which scope it refuses.
    with portal.db.write() as session, pytest.raises(InvalidClient) as refused:
        register_client(session, name="Sans registre", grant_types=["client_credentials"], scope=REPORT)
    assert refused.value.problems == {"scope": f"Portée inconnue : {REPORT}."}


def test_the_consent_page_describes_a_plugin_scope_in_french(portal, browsers, make_rp, make_account):
    rp = make_rp(first_party=False, name="Carnet de vaccination", scope=f"openid {REPORT}",
                 known_scopes=known_scopes(portal.app))
    browser = browsers().sign_in(make_account())
    asked = browser.get(rp.authorization_url())
    assert asked.status_code == 200 and "Autoriser Carnet de vaccination" in asked.text
    assert REPORT_FR in asked.text
    query = html.unescape(re.search(r'name="query" value="([^"]*)"', asked.text).group(1))
    allowed = browser.post("/authorize/consent", {"decision": "allow", "query": query})
    token = rp.exchange(allowed.headers["location"])
    assert set(token["scope"].split()) == {"openid", REPORT}
    assert REPORT_FR in browser.get("/account/applications").text  # what the application receives


def test_bad_declarations_are_reported_and_ignored(make_app, caplog):
    with caplog.at_level(logging.ERROR, logger="bouquet.plugins"):
        app = make_app(plugins="", extra_plugins=PLUGINS)
    known = app.state.scopes
    assert isinstance(known, KnownScopes) and known is known_scopes(app)
    assert [name for name in known if name not in SUPPORTED] == ["careless.ok", REPORT]
    assert known.plugin_of(REPORT) == "vaccination" and known.plugin_of("openid") is None
    assert known.descriptions["openid"] == CORE.descriptions["openid"]  # not the careless plugin's

    info = app.state.plugins.info
    assert info["careless"].failures == {"bouquet_scopes": 5}
    assert info["exploding"].failures == {"bouquet_scopes": 1} and "scopes exploded" in info["exploding"].last_error
    messages = [record.getMessage() for record in caplog.records]
    for expected in ("scope 'report' must be named careless.<something>",
                     "scope 'openid' is a core scope: a plugin may not redefine it",
                     "scope 'vaccination.steal' must be named careless.<something>",
                     "scope 'careless.empty' needs a French description",
                     "scope 'careless.has space' must be named careless.<something>"):
        assert any("plugin careless failed in hook bouquet_scopes" in m and expected in m for m in messages), expected
    with pytest.raises(AttributeError):
        known.extra = "no"  # the registry is immutable


def test_the_admin_form_offers_plugin_scopes(make_app, test_client, make_account):
    app = make_app(plugins="", extra_plugins=PLUGINS)
    client = test_client(app)
    client.login(make_account(kind="admin"))
    form = client.get("/admin/clients/new").text
    assert REPORT in form and REPORT_FR in form and "careless.ok" in form and "vaccination.steal" not in form
    created = client.submit("/admin/clients/new", {
        "name": "Logiciel de vaccination", "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["client_credentials"], "scope": [REPORT], "id_token_signed_response_alg": "RS256"})
    assert created.status_code == 200, created.text[:400]
    refused = client.submit("/admin/clients/new", {
        "name": "X", "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"],
        "scope": ["vaccination.steal"], "id_token_signed_response_alg": "RS256"})
    assert refused.status_code == 400 and "Portée inconnue : vaccination.steal." in refused.text


def test_catalog_submit_is_unknown_without_the_catalogue(make_app, test_client, monkeypatch, database_url):
    with_catalog, without = make_app(plugins="catalog"), make_app(plugins="")
    assert "catalog.submit" in known_scopes(with_catalog) and "catalog.submit" not in known_scopes(without)
    assert known_scopes(with_catalog).plugin_of("catalog.submit") == "catalog"
    assert "catalog.submit" not in CORE

    # A client registered while the catalogue was loaded gets no token from a portal without it.
    with with_catalog.state.db.write() as session:
        registered = register_client(session, name="API catalogue", grant_types=["client_credentials"],
                                     scope="catalog.submit", known_scopes=known_scopes(with_catalog))
    credentials = (registered.client.client_id, registered.secret)
    granted = test_client(with_catalog).post("/token", data={"grant_type": "client_credentials",
                                                             "scope": "catalog.submit"}, auth=credentials)
    assert granted.status_code == 200, granted.text
    bare = test_client(without)
    assert "catalog.submit" not in bare.get("/.well-known/openid-configuration").json()["scopes_supported"]
    refused = bare.post("/token", data={"grant_type": "client_credentials", "scope": "catalog.submit"},
                        auth=credentials)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    with without.state.db.write() as session, pytest.raises(InvalidClient, match="Portée inconnue : catalog.submit"):
        register_client(session, name="API catalogue", grant_types=["client_credentials"], scope="catalog.submit",
                        known_scopes=known_scopes(without))

    # `bouquet clients add` knows the scopes of the plugins BOUQUET_PLUGINS loads.
    from bouquet.cli import build_cli

    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    args = ["clients", "add", "--name", "API", "--grant-type", "client_credentials", "--scope", "catalog.submit"]
    monkeypatch.setenv("BOUQUET_PLUGINS", "")
    unknown = CliRunner().invoke(build_cli(), args)
    assert unknown.exit_code != 0 and "Portée inconnue : catalog.submit" in unknown.output
    monkeypatch.setenv("BOUQUET_PLUGINS", "catalog")
    added = CliRunner().invoke(build_cli(), args)
    assert added.exit_code == 0, added.output
    assert "client_id:" in added.output

"""The shell: security headers, error pages, operations endpoints, refusal of an unmigrated database."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import text

from bouquet.app import create_app
from bouquet.migrations import UnmigratedDatabase


def test_security_headers(client):
    headers = client.get("/healthz").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # http here


def test_hsts_on_https(make_app, client_for_https):
    assert "max-age=" in client_for_https.get("/healthz").headers["strict-transport-security"]


@pytest.fixture
def client_for_https(make_app):
    from bouquet.testing.fixtures import BouquetClient

    with BouquetClient(make_app(base_url="https://bouquet.example.fr"), base_url="https://testserver.local") as c:
        yield c


def test_request_id_is_returned_and_kept_when_well_formed(client):
    assert len(client.get("/healthz").headers["x-request-id"]) == 16
    assert client.get("/healthz", headers={"x-request-id": "abcdef12-3456"}).headers["x-request-id"] == "abcdef12-3456"
    assert client.get("/healthz", headers={"x-request-id": "<script>"}).headers["x-request-id"] != "<script>"


def test_not_found_page_in_french(client, make_account):
    client.login(make_account())
    response = client.get("/nulle-part", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Page introuvable" in response.text
    assert "n'existe pas" in html.unescape(response.text)


def test_not_found_for_api_clients_is_json(client):
    response = client.get("/api/nothing", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["error"] == "Page introuvable"


def test_server_error_page_names_the_request(make_app, make_account):
    from starlette.routing import Route

    from bouquet.testing.fixtures import BouquetClient

    class Boom:
        @staticmethod
        def bouquet_routes():
            async def boom(request):
                raise RuntimeError("kaboom")

            return [Route("/boom", boom)]

    from bouquet import hookimpl

    Boom.bouquet_routes = hookimpl(Boom.bouquet_routes)
    app = make_app(extra_plugins=[("boom", Boom)])
    with BouquetClient(app, base_url="http://testserver.local", raise_server_exceptions=False) as client:
        client.login(make_account())
        response = client.get("/p/boom/boom", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert "Erreur du service" in response.text and "Aucune donnée n'a été modifiée" in html.unescape(response.text)
    assert response.headers["x-request-id"] in response.text
    assert "kaboom" not in response.text  # no internals shown


def test_forbidden_page_in_french(client):
    # The CSRF refusal is the core's own 403.
    client.anonymous_session()
    response = client.post("/logout", data={}, headers={"accept": "text/html"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.text and "rien n&#39;a été modifié" in response.text


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_when_current(client):
    assert client.get("/readyz").json() == {"status": "ready", "database": "reachable", "migrations": "current"}


def test_readyz_when_behind(make_app, database_url):
    from bouquet.testing.fixtures import BouquetClient

    app = make_app()
    with app.state.db.session() as session:
        session.execute(text("DELETE FROM alembic_version"))
    with BouquetClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "0001" in str(response.json()["pending_migrations"]) or response.json()["pending_migrations"]


def test_app_refuses_an_unmigrated_database(make_settings, tmp_path):
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(UnmigratedDatabase, match="Run `bouquet db upgrade` first"):
        create_app(settings)


def test_metrics_count_routes_by_template(client, make_account):
    client.get("/healthz")
    client.get("/-/plugins.json")
    body = client.login(make_account("admin")).get("/metrics").text
    assert 'bouquet_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "bouquet_http_request_seconds_bucket" in body


METRICS_TOKEN = "scraper-token-" + "x" * 30


def test_metrics_are_not_public(make_app, make_account):
    """Anonymous: 401 (the exposition names every route and plugin); a professional: 403; a wrong
    token: 401; the scraper's token or an administrator: the metrics."""
    from bouquet.testing.fixtures import BouquetClient

    client = BouquetClient(make_app(metrics_token=METRICS_TOKEN), base_url="http://testserver.local",
                           follow_redirects=False)
    refused = client.get("/metrics")
    assert refused.status_code == 401 and "bouquet_http_requests_total" not in refused.text
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and "bouquet_http_requests_total" in scraped.text
    client.login(make_account())
    assert client.get("/metrics").status_code == 403
    client.login(make_account("admin"))
    assert "bouquet_http_requests_total" in client.get("/metrics").text


def test_without_a_token_setting_no_bearer_token_opens_the_metrics(client):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer anything-at-all"}).status_code == 401


def test_a_short_metrics_token_is_refused_at_start(make_settings):
    with pytest.raises(Exception, match="at least 32 characters"):
        make_settings(metrics_token="short")


def test_static_assets_are_public_and_cacheable_by_version(client):
    response = client.get("/static/vendor/htmx/htmx.min.js")
    assert response.status_code == 200


def test_shell_page_uses_the_design_system_and_no_inline_script(client, make_account):
    import re

    client.login(make_account())
    page = client.get("/").text
    assert "/static/vendor/dsfr/dsfr.min.css" in page and "/static/vendor/htmx/htmx.min.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script found"
    assert " on" + "click=" not in page and "style=" not in page


def test_plugin_routes_are_counted_by_their_template(client):
    # A plugin's routes live under a Mount: routing rewrites the scope's root_path, so the route
    # must be resolved before the request is routed (it was labelled "unmatched").
    from bouquet.foundation import metrics

    counter = metrics.REQUESTS.labels("GET", "/p/prevention/cds-services", "200")
    unmatched = metrics.REQUESTS.labels("GET", "unmatched", "200")
    before, before_unmatched = counter._value.get(), unmatched._value.get()
    assert client.get("/p/prevention/cds-services").status_code == 200
    assert counter._value.get() == before + 1
    assert unmatched._value.get() == before_unmatched

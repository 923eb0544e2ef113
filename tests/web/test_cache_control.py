"""`Cache-Control: no-store` on every response but static files and declared public documents
(issue 13, item 10): pages, exports and APIs carrying patient data never stay in a cache."""

from __future__ import annotations

from typing import Any

from bouquet.patient.demo import DEMO_PATIENTS


def test_patient_pages_and_apis_are_never_stored(client: Any, make_account: Any) -> None:
    doctor = make_account(given_name="Alice", family_name="MARTIN")
    client.login(doctor)
    opened = client.submit("/patient", {"demo": DEMO_PATIENTS[0].ins.matricule})
    assert opened.status_code == 303 and opened.headers["cache-control"] == "no-store"
    page = client.get("/patient")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for url in ("/", "/account", "/-/plugins.json", "/p/prevention/mes-patients.csv"):
        response = client.get(url)
        assert response.headers["cache-control"] == "no-store", (url, response.status_code)


def test_refusals_and_redirects_are_not_stored_either(client: Any) -> None:
    for url in ("/patient", "/p/dmp/documents", "/fhir/Patient/1", "/nowhere"):
        response = client.get(url)
        assert response.headers["cache-control"] == "no-store", (url, response.status_code)


def test_static_files_and_public_documents_keep_their_caching(client: Any) -> None:
    css = client.get("/static/bouquet.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")
    discovery = client.get("/.well-known/openid-configuration")
    assert discovery.headers["cache-control"] == "public, max-age=300"

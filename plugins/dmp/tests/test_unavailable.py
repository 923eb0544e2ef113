"""A DMP that is down, slow to fail, or answers garbage: the patient page still renders and the DMP
panel says what is wrong; idempotent calls are retried, never a provide."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from html import unescape
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bouquet.testing.fixtures import free_port, serve

pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def fake_dmp() -> Iterator[Callable[[Callable[[Request], Any]], tuple[str, list[str]]]]:
    """`fake_dmp(answer)`: a server answering every request with `answer(request)`; its URL and the paths it saw."""
    stops: list[Callable[[], None]] = []

    def make(answer: Callable[[Request], Any]) -> tuple[str, list[str]]:
        seen: list[str] = []

        async def endpoint(request: Request) -> Response:
            seen.append(f"{request.method} {request.url.path}")
            result = answer(request)
            return await result if inspect.isawaitable(result) else result

        port = free_port()
        stops.append(serve(Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])]), port))
        return f"http://127.0.0.1:{port}", seen

    yield make
    for stop in stops:
        stop()


def _patient_page_then_panel(client: Any, doctor: Any, open_patient: Callable[..., None]) -> str:
    client.login(doctor)
    open_patient(client)
    page = client.get("/patient")
    assert page.status_code == 200 and 'hx-get="/p/dmp/panel"' in page.text
    panel = client.get("/p/dmp/panel")
    assert panel.status_code == 200
    return unescape(panel.text)


def test_dmp_stopped(client, doctor, open_patient, monkeypatch):
    monkeypatch.setenv("BOUQUET_DMP_URL", f"http://127.0.0.1:{free_port()}")   # nobody listens there
    monkeypatch.setenv("BOUQUET_DMP_RETRIES", "1")
    panel = _patient_page_then_panel(client, doctor, open_patient)
    assert "DMP indisponible" in panel and "Le DMP est injoignable." in panel
    assert "Le DMP est injoignable." in unescape(client.get("/p/dmp/documents").text)
    assert client.get("/p/dmp/history").status_code == 200


def test_dmp_too_slow(client, doctor, open_patient, monkeypatch, fake_dmp):
    async def slow(request: Request) -> Response:
        await asyncio.sleep(1.5)
        return PlainTextResponse("trop tard")

    url, seen = fake_dmp(slow)
    monkeypatch.setenv("BOUQUET_DMP_URL", url)
    monkeypatch.setenv("BOUQUET_DMP_TIMEOUT_SECONDS", "0.3")
    panel = _patient_page_then_panel(client, doctor, open_patient)
    assert "Le DMP ne répond pas (délai dépassé)." in panel
    assert seen == ["GET /Patient"]          # the retries fit in the same budget: none was left


def test_dmp_answering_html(client, doctor, open_patient, monkeypatch, fake_dmp):
    url, _ = fake_dmp(lambda request: PlainTextResponse("<html>Maintenance</html>", media_type="text/html"))
    monkeypatch.setenv("BOUQUET_DMP_URL", url)
    panel = _patient_page_then_panel(client, doctor, open_patient)
    assert "DMP indisponible / réponse invalide" in panel and "ce n'est pas du FHIR JSON" in panel


def test_dmp_answering_a_malformed_bundle(client, doctor, open_patient, monkeypatch, fake_dmp):
    def answer(request: Request) -> Response:
        if request.url.path == "/Patient":
            return JSONResponse({"resourceType": "Bundle", "type": "searchset", "entry": [
                {"resource": {"resourceType": "Patient", "id": "p"}}]}, media_type="application/fhir+json")
        return JSONResponse({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "DocumentReference", "status": "nonsense", "content": "x"}}]},
            media_type="application/fhir+json")

    url, _ = fake_dmp(answer)
    monkeypatch.setenv("BOUQUET_DMP_URL", url)
    panel = _patient_page_then_panel(client, doctor, open_patient)
    assert "DMP indisponible / réponse invalide" in panel and "Bundle FHIR non conforme" in panel


def test_foreign_attachment_url_is_not_followed(client, doctor, open_patient, monkeypatch, fake_dmp):
    reference = {"resourceType": "DocumentReference", "id": "d1", "status": "current",
                 "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
                 "content": [{"attachment": {"contentType": "text/plain", "url": "http://evil.example/steal"}}]}
    url, seen = fake_dmp(lambda request: JSONResponse(reference, media_type="application/fhir+json"))
    monkeypatch.setenv("BOUQUET_DMP_URL", url)
    client.login(doctor)
    open_patient(client)
    page = client.get("/p/dmp/documents/d1")
    assert page.status_code == 502 and "pas la sienne" in unescape(page.text)
    assert seen == ["GET /DocumentReference/d1"]


def test_idempotent_calls_are_retried_a_provide_is_not(client, doctor, open_patient, monkeypatch, fake_dmp):
    url, seen = fake_dmp(lambda request: PlainTextResponse("busy", status_code=503))
    monkeypatch.setenv("BOUQUET_DMP_URL", url)
    monkeypatch.setenv("BOUQUET_DMP_RETRIES", "2")
    panel = _patient_page_then_panel(client, doctor, open_patient)
    assert "Le DMP est indisponible (erreur 503)." in panel
    assert seen == ["GET /Patient"] * 3
    seen.clear()
    response = client.submit("/p/dmp/upload", data={"type": "11488-4", "title": "CR", "date": "2026-11-01"},
                             files={"file": ("cr.txt", b"Compte rendu", "text/plain")})
    assert response.status_code == 400 and "DMP indisponible" in unescape(response.text)
    assert seen == ["POST /"]

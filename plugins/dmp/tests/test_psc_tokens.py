"""A DMP « Pro Santé Connecté » (`BOUQUET_DMP_PSC_TOKENS`): each call carries the professional's PSC
access token instead of the signed identity header; without a PSC sign-in the panel says to use PSC."""

from __future__ import annotations

from html import unescape

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bouquet.testing.fixtures import free_port, serve
from bouquet.testing.psc import give_psc_tokens

pytestmark = pytest.mark.backends("sqlite")


def test_the_dmp_gets_the_professionals_psc_token_when_it_requires_one(client, doctor, open_patient, monkeypatch):
    seen: list[dict[str, str]] = []

    async def endpoint(request: Request) -> Response:
        seen.append(dict(request.headers))
        return JSONResponse({"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []},
                            media_type="application/fhir+json")

    port = free_port()
    stop = serve(Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])]), port)
    try:
        monkeypatch.setenv("BOUQUET_DMP_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("BOUQUET_DMP_PSC_TOKENS", "true")
        client.login(doctor)  # with a password and a code: no PSC token
        open_patient(client)
        refused = unescape(client.get("/p/dmp/panel").text)
        assert "reconnectez-vous avec votre carte CPS" in refused and seen == []

        give_psc_tokens(client.app, client.session_token, "jeton-psc-1")
        client.get("/p/dmp/panel")
        assert seen and all(headers.get("authorization") == "Bearer jeton-psc-1" for headers in seen)
        assert all("x-bouquet-dmp-identity" not in headers for headers in seen)
    finally:
        stop()

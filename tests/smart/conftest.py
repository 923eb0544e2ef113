"""Fixtures for the SMART launch and token exchange tests.

`Launcher` is a small plugin standing in for the catalogue: `/p/launcher/open` sends the browser
to `app_launch_url(ctx, client_id, launch_uri)`, and `/p/launcher/api` is a plugin API protected by
`authenticate_bearer(..., audience="bouquet:plugin:launcher")`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bouquet import hookimpl, public
from bouquet.foundation.audit import Auditor
from bouquet.patient.context import CURRENT_KEY, establish
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.smart import app_launch_url
from bouquet.sso.oidc import BearerTokenError, authenticate_bearer
from bouquet.testing.oidc import (
    AMR_TOTP,
    Browser,
    Portal,
    RelyingParty,
    make_relying_party,
)
from bouquet.web.context import get_context

AUDIENCE = "bouquet:plugin:launcher"
SMART_SCOPE = "openid profile fhirUser launch patient/Patient.read"


async def _open(request: Request) -> Response:
    ctx = get_context(request)
    url = await app_launch_url(ctx, request.query_params["client_id"], request.query_params["launch_uri"])
    return RedirectResponse(url, status_code=303)


@public
async def _api(request: Request) -> Response:
    try:
        grant = await authenticate_bearer(request, audience=AUDIENCE)
    except BearerTokenError as error:
        return error.response()
    return JSONResponse({"client_id": grant.client_id, "scopes": sorted(grant.scopes), "audience": grant.audience,
                         "patient_context_id": grant.patient_context_id, "account_id": grant.account_id})


class Launcher:
    @hookimpl
    def bouquet_routes(self) -> list[Route]:
        return [Route("/open", _open), Route("/api", _api)]


@pytest.fixture
def portal(make_live_server: Callable[..., Any]) -> Portal:
    server = make_live_server(extra_plugins=[("launcher", Launcher())])
    return Portal(server.url, server.app)


def open_patient(portal: Portal, account: Any, patient: Any = DEMO_PATIENTS[0], acting_for: Any = None) -> str:
    """Establish `patient` as a context of `account` (as the patient page does); returns its id."""
    state = portal.app.state
    audit = Auditor(state.db, state.audit_key, actor=account.label)
    return establish(state.db, audit, account, acting_for, patient, "demo")


def browser_with_patient(portal: Portal, account: Any, context_id: str | None, acting_for: Any = None) -> Browser:
    """A browser signed in as `account` (a secretary: acting for `acting_for`, delegation granted)
    whose current patient is `context_id` (None: no patient)."""
    from bouquet.testing.fixtures import signed_in_session

    browser = Browser(portal)
    # Signed in to the provider and to the portal's pages (delegation granted for a secretary).
    created = signed_in_session(portal.app, account, amr=AMR_TOTP, acting_for=acting_for)
    if context_id:
        created.set(CURRENT_KEY, context_id)
        portal.app.state.sessions.save(created)
    browser.token, browser.session_row = created.new_token, created.row
    return browser


@pytest.fixture
def patients(portal: Portal) -> Iterator[Any]:
    """`patients.open(account, patient=…)` → context id; `patients.browser(account, context_id)` → Browser."""
    made: list[Browser] = []

    class Helpers:
        @staticmethod
        def open(account: Any, patient: Any = DEMO_PATIENTS[0], acting_for: Any = None) -> str:
            return open_patient(portal, account, patient, acting_for)

        @staticmethod
        def browser(account: Any, context_id: str | None, acting_for: Any = None) -> Browser:
            browser = browser_with_patient(portal, account, context_id, acting_for)
            made.append(browser)
            return browser

        @staticmethod
        def auditor(account: Any) -> Auditor:
            return Auditor(portal.db, portal.app.state.audit_key, actor=account.label)

    yield Helpers
    for browser in made:
        browser.close()


@pytest.fixture
def smart_rp(portal: Portal) -> Iterator[Callable[..., RelyingParty]]:
    made: list[Any] = []

    def make(**fields: Any) -> RelyingParty:
        fields.setdefault("scope", SMART_SCOPE)
        rp = make_relying_party(portal, **fields)
        made.append(rp.oauth)
        return rp

    yield make
    for oauth in made:
        oauth.close()

"""Consent: a person lets a third-party application receive their identity, once; and takes it back.

The consent page posts to `/authorize/consent`, which redirects to the client: the page therefore
sends its own Content-Security-Policy, whose `form-action` names the client's origin. A consent is
remembered per account and client, with the scopes it covered; asking for more asks again.
Withdrawing it (`/account/applications`) also revokes every token the client holds for the account.
Include `oidc/account_consents.html` in the account page to list them there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet.foundation.db import utcnow
from bouquet.sso.accounts import Account
from bouquet.sso.oidc import tokens
from bouquet.sso.oidc.adapter import current_session
from bouquet.sso.oidc.models import Consent, OidcClient
from bouquet.sso.oidc.scopes import CORE, KnownScopes, known_scopes, scope_list
from bouquet.sso.security_events import local_time
from bouquet.web.context import get_context
from bouquet.web.origins import csp_leaving_to
from bouquet.web.ui import render


def covers(account: Account, client: OidcClient, scope: str) -> bool:
    """Whether the account already let this client have every scope in `scope`."""
    # Two columns, no ORM object: asked on every authorization request.
    row = current_session().exec(select(Consent.scope, Consent.revoked_at).where(
        Consent.account_id == account.id, Consent.client_id == client.client_id)).first()
    return (row is not None and row.revoked_at is None
            and set(scope_list(scope)) <= set(scope_list(row.scope)))


def remember(account: Account, client: OidcClient, scope: str) -> None:
    """Record the person's consent (adding these scopes to an earlier one)."""
    session = current_session()
    assert account.id is not None
    row = session.exec(select(Consent).where(Consent.account_id == account.id,
                                             Consent.client_id == client.client_id)).first()
    if row is None:
        row = Consent(account_id=account.id, client_id=client.client_id, scope="")
    previous = scope_list(row.scope) if row.revoked_at is None else []
    row.scope = " ".join(dict.fromkeys([*previous, *scope_list(scope)]))
    row.granted_at, row.revoked_at = utcnow(), None
    session.add(row)


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL (for the Content-Security-Policy of pages that leave for it)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def leaving_to(origin: str) -> str:
    """The default Content-Security-Policy, letting a form on this page lead to `origin` (checked and
    re-assembled from its parts: anything but a valid web origin adds nothing)."""
    return csp_leaving_to(origin)


async def page(request: Request, *, client: OidcClient, scope: str, redirect_uri: str, query: str,
               patient: str | None = None) -> Response:
    """The consent page for this authorization request (`query`, posted back as it came); `patient`
    names the patient a SMART launch would share."""

    return await render(request, "oidc/consent.html", {
        "client": client, "shared": known_scopes(request.app).describe(scope), "query": query,
        "client_origin": origin_of(redirect_uri),
        "launch_patient": patient,  # not `patient`: the layout shows that one's banner
    }, headers={"Content-Security-Policy": leaving_to(origin_of(redirect_uri))})


# --- the account's applications ----------------------------------------------------------------

def granted(db: Any, account_id: int, known: KnownScopes = CORE) -> list[dict[str, Any]]:
    """The applications the account consented to, with what they receive (blocking), described with
    the app's `known` scopes (a scope no loaded plugin declares any more is not described)."""
    with db.session() as session:
        rows = session.exec(select(Consent, OidcClient).join(OidcClient, col(OidcClient.client_id) == col(Consent.client_id))
                            .where(Consent.account_id == account_id, col(Consent.revoked_at).is_(None))
                            .order_by(OidcClient.name)).all()
    return [{"client_id": client.client_id, "name": client.name, "client_uri": client.client_uri,
             "shared": known.describe(row.scope), "since": _day(row.granted_at)} for row, client in rows]


def _day(moment: datetime) -> str:
    return local_time(moment)


async def applications(request: Request) -> Response:
    """GET /account/applications: the list, as a page or (htmx) as the account page's fragment."""
    ctx = get_context(request)
    assert ctx.account is not None and ctx.account.id is not None
    rows = await ctx.db.run(granted, ctx.db, ctx.account.id, known_scopes(request.app))
    fragment = "hx-request" in request.headers and "hx-boosted" not in request.headers
    template = "oidc/_consent_list.html" if fragment else "oidc/account_applications.html"
    return await render(request, template, {"applications": rows})


async def revoke(request: Request) -> Response:
    """POST /account/applications/{client_id}/revoke: withdraw consent and the client's tokens."""
    ctx = get_context(request)
    account = ctx.account
    assert account is not None and account.id is not None
    client_id = request.path_params["client_id"]

    def withdraw() -> str | None:
        with ctx.db.write() as session:
            row = session.exec(select(Consent).where(Consent.account_id == account.id, Consent.client_id == client_id,
                                                     col(Consent.revoked_at).is_(None))).first()
            client = session.exec(select(OidcClient).where(OidcClient.client_id == client_id)).first()
            if row is None or client is None:
                return None
            row.revoked_at = utcnow()
            session.add(row)
            revoked = tokens.revoke_client_account(session, client_id, account.id, "consent_withdrawn")
            ctx.audit.write_in(session, "oidc.consent_revoked", resource=f"client:{client_id}",
                               details={"tokens_revoked": revoked})
            return client.name

    name = await ctx.db.run(withdraw)
    if name is None:
        raise HTTPException(404, "Cette application n'a pas ou plus votre autorisation.")
    ctx.flash(f"{name} ne reçoit plus vos informations : elle vous demandera votre accord la prochaine fois.", "success")
    return RedirectResponse("/account/applications", status_code=303)

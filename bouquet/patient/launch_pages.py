"""`GET /launch?launch=…`: the browser arrives from the practice software and lands on the patient.

    GET  /launch?launch=H    signed in as the professional H is for (or their secretary): consume H,
                             establish the patient context, redirect to /patient at once;
                             not signed in to the portal: to /authorize for the portal's client, back
                             to /launch?launch=H through /auth/callback (H is consumed only after);
                             signed in as someone else: 403, with a button to switch account
    POST /launch/switch      sign out, then sign in again, keeping the launch (form field `launch`)

An unknown handle answers 404, an expired one 410, a consumed one 409: each a page in French.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet.patient import launch_handles
from bouquet.patient.context import audit_ins, establish_in_session
from bouquet.patient.launch_handles import HandleState, Launch
from bouquet.patient.plugin import OPEN_PATIENT
from bouquet.sso import delegation, portal
from bouquet.sso.accounts import Account, AccountKind
from bouquet.sso.delegation import principals_of
from bouquet.sso.oidc.clients import find_client
from bouquet.sso.throttle import current_time
from bouquet.web.context import RequestContext, get_context
from bouquet.web.forms import read_form
from bouquet.web.routing import public
from bouquet.web.ui import render

REFUSALS = {
    HandleState.UNKNOWN: (404, "Lien d'ouverture inconnu",
                          "Ce lien d'ouverture du dossier n'existe pas. Vérifiez que vous avez copié l'adresse en "
                          "entier, ou ouvrez à nouveau le patient depuis votre logiciel métier."),
    HandleState.EXPIRED: (410, "Lien d'ouverture expiré",
                          "Ce lien d'ouverture du dossier a expiré : il n'est valable que quelques minutes. "
                          "Ouvrez à nouveau le patient depuis votre logiciel métier."),
    HandleState.CONSUMED: (409, "Lien d'ouverture déjà utilisé",
                           "Ce lien d'ouverture du dossier a déjà servi : il ne peut être utilisé qu'une fois. "
                           "Ouvrez à nouveau le patient depuis votre logiciel métier."),
}


def launch_path(handle: str) -> str:
    return f"/launch?launch={quote(handle, safe='')}"


@public  # an anonymous browser is sent to sign in first, with the launch kept in `next`
async def open_launch(request: Request) -> Response:
    ctx = get_context(request)
    if request.method == "HEAD":
        # Link checkers and prefetchers probe with HEAD: answer without consuming anything.
        return Response(status_code=200, headers={"Cache-Control": "no-store"})
    handle = request.query_params.get("launch", "")
    state = ctx.app_state
    launch = await ctx.db.run(launch_handles.find, ctx.db, handle, current_time(state))
    if launch.state is not HandleState.USABLE or launch.patient is None:
        return await _refused(request, launch, HandleState.EXPIRED if launch.state is HandleState.USABLE
                              else launch.state)
    if ctx.account is None or ctx.portal is None:
        return await portal.sign_in_redirect(ctx, launch_path(handle))
    if not await _acts_for(ctx, launch.professional):
        await ctx.audit.log("launch.refused", outcome="failure", resource=f"launch/{launch.id}",
                            details={"reason": "other_professional"})
        return await render(request, "launch/other_account.html", {"handle": handle}, status_code=403)
    if not ctx.can(OPEN_PATIENT):
        return await _refused(request, launch, None, status=403, title="Accès refusé",
                              message="Votre compte ne permet pas d'ouvrir le dossier d'un patient.")
    patient = launch.patient
    assert ctx.account.id is not None
    if not await ctx.db.run(launch_handles.consume, ctx.db, ctx.audit, launch.id, ctx.account.id,
                            current_time(state), audit_ins(patient)):
        # Another tab or worker was quicker, or the handle expired in between.
        return await _refused(request, launch, await ctx.db.run(launch_handles.state_of, ctx.db, launch.id,
                                                                current_time(state)))
    try:
        context_id = await establish_in_session(ctx, patient, source=await ctx.db.run(_source, ctx, launch))
    except BaseException:
        await ctx.db.run(launch_handles.release, ctx.db, launch.id)
        raise
    await ctx.db.run(launch_handles.link, ctx.db, launch.id, context_id)
    return RedirectResponse("/patient", status_code=303)


async def switch_account(request: Request) -> Response:
    """Sign this browser out (the session ends on every worker), then sign in again towards the launch."""
    ctx = get_context(request)
    handle = (await read_form(request, "launch"))["launch"]
    target = launch_path(handle) if launch_handles.well_formed(handle) else "/"
    if ctx.session is not None:
        await ctx.db.run(_end_session, ctx)
        ctx.session = None
        request.scope["state"]["browser_session"] = None
    # A new anonymous cookie (no session row) carries the portal's authorization request towards the launch.
    return await portal.sign_in_redirect(ctx, target)


def _end_session(ctx: RequestContext) -> None:
    assert ctx.session is not None
    ctx.app_state.sessions.end(ctx.session.row.id, "logout")
    ctx.audit.write("session.ended", details={"reason": "launch_switch_account", "session_id": ctx.session.row.id})


async def _acts_for(ctx: RequestContext, professional: str) -> bool:
    """Whether the signed-in account is the professional, or a secretary who may act for them now.

    A secretary acting for someone else, or for no one yet, is switched to this professional when
    they hold a live delegation from them (the switch is audited, as on `/acting-for`)."""
    account = ctx.account
    assert account is not None
    if account.kind == AccountKind.professional:
        return account.idnat_ps == professional
    if account.kind != AccountKind.secretary or ctx.session is None:
        return False
    if ctx.acting_for is not None and ctx.acting_for.idnat_ps == professional:
        return True
    principal = await ctx.db.run(_principal, ctx, account, professional)
    if principal is None:
        return False

    await ctx.db.run(delegation.select_principal, ctx.app_state, ctx.session, account, principal, automatic=False,
                     source_ip=ctx.source_ip, request_id=ctx.request_id)
    # The contexts open so far were for the previous principal: they no longer apply.
    ctx.acting_for, ctx.patient, ctx.patient_context_id, ctx.recent_patients = principal, None, None, []
    return True


def _principal(ctx: RequestContext, secretary: Account, professional: str) -> Account | None:
    assert secretary.id is not None
    with ctx.db.session() as session:
        return next((p for p in principals_of(session, secretary.id) if p.idnat_ps == professional), None)


def _source(ctx: RequestContext, launch: Launch) -> str:
    """The name of the practice software, as the patient banner shows it."""

    with ctx.db.session() as session:
        client = find_client(session, launch.client_id)
    return client.name if client is not None else launch.client_id


async def _refused(request: Request, launch: Launch, state: HandleState | None, *, status: int = 0,
                   title: str = "", message: str = "") -> Response:
    if state is not None:
        status, title, message = REFUSALS[state]
    values: dict[str, Any] = {"status": status, "title": title, "message": message,
                              "return_url": launch.return_url if launch.state is not HandleState.UNKNOWN else None}
    return await render(request, "launch/refused.html", values, status_code=status)

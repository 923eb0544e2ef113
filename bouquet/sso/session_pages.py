"""The account's live sessions: where it is signed in, and ending one or all the others."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.sso.security_events import local_time
from bouquet.web.context import RequestContext, get_context
from bouquet.web.sessions import WebSession
from bouquet.web.ui import render


def _ids(ctx: RequestContext) -> tuple[int, int]:
    assert ctx.account is not None and ctx.account.id is not None and ctx.session is not None
    assert ctx.session.row.id is not None
    return ctx.account.id, ctx.session.row.id


async def sessions_page(request: Request) -> Response:
    ctx = get_context(request)
    account_id, current_id = _ids(ctx)
    rows = await ctx.db.run(ctx.app_state.sessions.live_for, account_id)
    return await render(request, "sso/sessions.html", {"sessions": [_view(row, current_id) for row in rows]})


def _view(row: WebSession, current_id: int) -> dict[str, Any]:
    return {
        "id": row.id, "current": row.id == current_id, "device": describe_user_agent(row.user_agent),
        "user_agent": row.user_agent or "", "ip": row.source_ip or "inconnue",
        "started": local_time(row.created_at), "last_seen": local_time(row.last_seen_at),
    }


def describe_user_agent(user_agent: str | None) -> str:
    """A person's words for a browser's User-Agent: "Firefox sur Windows"."""
    ua = user_agent or ""
    browser = next((name for token, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
                    if token in ua), "Navigateur inconnu")
    system = next((name for token, name in (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"),
                                            ("iPad", "iPad"), ("Mac OS X", "macOS"), ("Linux", "Linux"))
                   if token in ua), None)
    return f"{browser} sur {system}" if system else browser


async def end_one(request: Request) -> Response:
    ctx = get_context(request)
    account_id, current_id = _ids(ctx)
    target = request.path_params["session_id"]
    if not await ctx.db.run(_end_one, ctx, account_id, target):
        raise HTTPException(404, "Cette session n'existe pas ou est déjà terminée.")
    if target == current_id:
        return RedirectResponse("/login?deconnecte", status_code=303)
    ctx.flash("La session est terminée : cet appareil devra se reconnecter.", "success")
    return RedirectResponse("/account/sessions", status_code=303)


def _end_one(ctx: RequestContext, account_id: int, session_id: int) -> bool:
    sessions = ctx.app_state.sessions
    if not any(row.id == session_id for row in sessions.live_for(account_id)):
        return False
    sessions.end(session_id, "ended_by_user")
    ctx.audit.write("session.ended", details={"reason": "ended_by_user", "session_id": session_id})
    return True


async def end_others(request: Request) -> Response:
    ctx = get_context(request)
    account_id, current_id = _ids(ctx)
    count = await ctx.db.run(_end_others, ctx, account_id, current_id)
    ctx.flash(f"{count} autre(s) session(s) terminée(s)." if count else "Aucune autre session n'était ouverte.",
              "success")
    return RedirectResponse("/account/sessions", status_code=303)


def _end_others(ctx: RequestContext, account_id: int, current_id: int) -> int:
    count = ctx.app_state.sessions.end_all(account_id, "ended_by_user", except_id=current_id)
    if count:
        ctx.audit.write("session.ended", details={"reason": "ended_others", "count": count})
    return count


routes: list[BaseRoute] = [
    Route("/account/sessions", sessions_page, methods=["GET"]),
    Route("/account/sessions/{session_id:int}/end", end_one, methods=["POST"]),
    Route("/account/sessions/end-others", end_others, methods=["POST"]),
]

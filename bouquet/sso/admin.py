"""The operator's account pages (`/admin/accounts`): find, inspect, invite, correct a professional's profession,
disable, end sessions, reset factors.

Only administrators reach them (403 for anyone else). Every action that changes something takes
a reason, and writes it to the audit trail in the same transaction as the change.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, true
from sqlmodel import Session, SQLModel, and_, col, or_, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bouquet.foundation.db import utcnow
from bouquet.sso import delegation, factors, invitations, password_pages, throttle
from bouquet.sso.accounts import (
    KIND_LABELS,
    PROFESSIONS,
    Account,
    AccountKind,
    InvalidAccount,
    create_account,
    profession_problems,
)
from bouquet.web.context import RequestContext, get_context
from bouquet.web.forms import Form, read_fields
from bouquet.web.ui import render

PAGE_SIZE = 25
MAX_REASON = 500
# Modules that keep second factors. Each may expose `delete_factors(session, account_id) -> int`;
# without it, rows of its tables that have an `account_id` column are deleted.
FACTOR_MODULES = ("bouquet.sso.totp", "bouquet.sso.recovery", "bouquet.sso.webauthn")
# Each action: (audit action, French confirmation).
ACTIONS = {
    "disable": ("admin.account_disabled", "Le compte est désactivé et ses sessions sont terminées."),
    "enable": ("admin.account_enabled", "Le compte est réactivé."),
    "end-sessions": ("admin.sessions_ended", "Les sessions du compte sont terminées."),
    "unlock": ("admin.account_unlocked", "Les tentatives de connexion du compte sont de nouveau possibles."),
    "reset-factors": ("admin.factors_reset", "Les seconds facteurs du compte sont supprimés et ses sessions "
                                             "terminées : il en enregistrera un nouveau à sa prochaine connexion."),
}


def _admin(ctx: RequestContext) -> Account:
    if ctx.account is None or ctx.account.kind != AccountKind.admin:
        raise HTTPException(403, "Ces pages sont réservées aux administrateurs de Bouquet.")
    return ctx.account


# --- queries ---------------------------------------------------------------------------------

def search(session: Session, text: str, kind: str | None, page: int) -> tuple[list[Account], int]:
    """Accounts whose name, username or RPPS number contain every word of `text`; and the total."""
    conditions = []
    for word in text.lower().split()[:5]:
        pattern = f"%{word}%"
        conditions.append(or_(col(Account.username).like(pattern), col(Account.idnat_ps).like(pattern),
                              col(Account.family_name).ilike(pattern), col(Account.given_name).ilike(pattern)))
    if kind:
        conditions.append(Account.kind == kind)
    where = and_(*conditions) if conditions else true()
    total = session.exec(select(func.count()).select_from(Account).where(where)).one()
    rows = session.exec(select(Account).where(where).order_by(Account.family_name, Account.given_name, Account.id)
                        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), total


def delete_factors(session: Session, account_id: int) -> dict[str, int]:
    """Delete every second factor of the account (TOTP, WebAuthn, recovery codes), per module.

    Modules not installed yet are skipped; the result says how many rows each module lost.
    """
    deleted: dict[str, int] = {}
    for name in FACTOR_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        if callable(getattr(module, "delete_factors", None)):
            deleted[name] = int(module.delete_factors(session, account_id))
            continue
        deleted[name] = sum(session.execute(delete(table).where(table.c.account_id == account_id)).rowcount
                            for table in _tables_of(module))
    return deleted


def _tables_of(module: Any) -> list[Any]:
    tables = []
    for value in vars(module).values():
        table = getattr(value, "__table__", None)
        if (isinstance(value, type) and issubclass(value, SQLModel) and table is not None
                and value.__module__ == module.__name__ and "account_id" in table.c):
            tables.append(table)
    return tables


@dataclass
class AccountDetail:
    account: Account
    live_sessions: int
    pending_invitations: int
    principals: list[Account]
    delegates: list[Account]
    lock: Any
    second_factors: int = 0
    reset_requested_at: datetime | None = None


def _detail(ctx: RequestContext, account_id: int) -> AccountDetail:
    with ctx.db.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise HTTPException(404, "Ce compte n'existe pas.")
        return AccountDetail(
            account=account,
            live_sessions=len(ctx.app_state.sessions.live_for(account_id)),
            pending_invitations=len(invitations.pending_for(session, account_id)),
            principals=delegation.principals_of(session, account_id),
            delegates=[delegate for _d, delegate in delegation.delegates_of(session, account_id)],
            lock=throttle.lock_status(session, account_id),
            second_factors=factors.total(session, account_id),
            reset_requested_at=password_pages.last_reset_request(session, account),
        )


# --- pages -----------------------------------------------------------------------------------

MAX_PAGE = 1_000_000


def _int(value: str | None, default: int) -> int:
    try:
        return min(max(1, int(value or default)), MAX_PAGE)  # a page past any list is empty, never an overflow
    except ValueError:
        return default


async def accounts_list(request: Request) -> Response:
    ctx = get_context(request)
    _admin(ctx)
    text = request.query_params.get("q", "").strip()[:100]
    kind = request.query_params.get("kind", "")
    kind = kind if kind in set(AccountKind) else ""
    page = _int(request.query_params.get("page"), 1)

    def load() -> tuple[list[Account], int]:
        with ctx.db.session() as session:
            return search(session, text, kind or None, page)

    rows, total = await ctx.db.run(load)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return await render(request, "admin/accounts.html", {
        "rows": rows, "total": total, "q": text, "kind": kind, "kinds": KIND_LABELS, "page": page, "pages": pages,
    })


async def _detail_page(request: Request, account_id: int, *, errors: dict[str, str] | None = None,
                       typed: dict[str, str] | None = None, invitation_link: str | None = None,
                       profession: Form | None = None, status_code: int = 200) -> Response:
    ctx = get_context(request)
    detail = await ctx.db.run(_detail, ctx, account_id)
    account = detail.account
    profession = profession or Form({"profession_code": account.profession_code or "",
                                     "specialty_label": account.specialty_label or "",
                                     "specialty_code": account.specialty_code or ""})
    return await render(request, "admin/account.html", {
        "detail": detail, "shown": account, "errors": errors or {}, "typed": typed or {},
        "invitation_link": invitation_link, "profession": profession, "professions": profession_choices(account),
    }, status_code=status_code)


def _account_id(request: Request) -> int:
    try:
        return int(request.path_params["account_id"])
    except ValueError:
        raise HTTPException(404, "Ce compte n'existe pas.") from None


async def account_page(request: Request) -> Response:
    _admin(get_context(request))
    return await _detail_page(request, _account_id(request))


async def invite(request: Request) -> Response:
    ctx = get_context(request)
    _admin(ctx)
    account_id = _account_id(request)

    def create() -> str | None:
        with ctx.db.write() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise HTTPException(404, "Ce compte n'existe pas.")
            if not account.active:
                return None
            _invitation, token = invitations.issue(session, ctx.app_state.audit_key, account,
                                                   record=ctx.audit.record("-"))
            return invitations.invitation_link(ctx.settings.base_url, token)

    link = await ctx.db.run(create)
    if link is None:
        return await _detail_page(request, account_id, status_code=400, errors={
            "invite": "Ce compte est désactivé : réactivez-le avant de l'inviter."})
    # Shown once, on this response only: the link is a credential and is stored nowhere in clear.
    return await _detail_page(request, account_id, invitation_link=link)


async def account_action(request: Request) -> Response:
    ctx = get_context(request)
    admin = _admin(ctx)
    account_id, action = _account_id(request), request.path_params["action"]
    if action not in ACTIONS:
        raise HTTPException(404)
    form = await request.form()
    reason = " ".join(str(form.get("reason", "")).split())
    if not reason:
        return await _detail_page(request, account_id, status_code=400,
                                  errors={action: "Indiquez le motif de cette action : il est conservé dans le journal."})
    if len(reason) > MAX_REASON:
        return await _detail_page(request, account_id, status_code=400, typed={action: reason},
                                  errors={action: f"Le motif ne doit pas dépasser {MAX_REASON} caractères."})
    if action == "disable" and account_id == admin.id:
        return await _detail_page(request, account_id, status_code=400, typed={action: reason},
                                  errors={action: "Vous ne pouvez pas désactiver votre propre compte."})
    audit_action, confirmation = ACTIONS[action]

    def apply() -> None:
        details: dict[str, Any] = {"reason": reason}
        if action in {"disable", "end-sessions", "reset-factors"}:
            # First, and through the session store, so that relying parties hear of it (back-channel
            # logout). Ending sessions is harmless even if the change below were to fail.
            details["sessions_ended"] = ctx.app_state.sessions.end_all(account_id, audit_action)
        with ctx.db.write() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise HTTPException(404, "Ce compte n'existe pas.")
            if action == "disable":
                account.disabled_at, account.disabled_reason = utcnow(), reason
            elif action == "enable":
                account.disabled_at, account.disabled_reason = None, None
            elif action == "reset-factors":
                details["deleted"] = delete_factors(session, account_id)
            elif action == "unlock":
                details["counters_cleared"] = throttle.unlock(session, account_id)
            session.add(account)
            ctx.audit.write_in(session, audit_action, resource=account.label, details=details)

    await ctx.db.run(apply)
    ctx.flash(confirmation, "success")
    return RedirectResponse(f"/admin/accounts/{account_id}", status_code=303)


PROFESSION_FIELDS = ("profession_code", "specialty_label", "specialty_code", "reason")
MAX_SPECIALTY_LABEL = 150


def profession_choices(account: Account) -> dict[str, str]:
    """The professions an administrator may give this account: `PROFESSIONS`, and the one it has from the
    directory import when that is not among them (so that correcting the specialty never loses it)."""
    choices = dict(PROFESSIONS)
    if account.profession_code and account.profession_code not in choices:
        choices[account.profession_code] = account.profession_label or account.profession_code
    return choices


def _profession_of(account: Account) -> dict[str, str | None]:
    return {"profession_code": account.profession_code, "profession_label": account.profession_label,
            "specialty_label": account.specialty_label, "specialty_code": account.specialty_code}


async def change_profession(request: Request) -> Response:
    """Set a professional's profession (TRE_G15) and specialty; audited with the old and new values and a reason."""
    ctx = get_context(request)
    _admin(ctx)
    account_id = _account_id(request)
    form = await read_fields(request, *PROFESSION_FIELDS)  # shown again as typed; checked and kept normalised
    reason = " ".join(form.values["reason"].split())

    def apply() -> dict[str, Any] | None:
        with ctx.db.write() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise HTTPException(404, "Ce compte n'existe pas.")
            if account.kind != AccountKind.professional:
                raise HTTPException(400, "Seul le compte d'un professionnel de santé a une profession.")
            code, label, specialty = (form.values["profession_code"], form.values["specialty_label"],
                                      form.values["specialty_code"].upper())
            choices = profession_choices(account)
            form.refuse_all(profession_problems(code, label, specialty, choices))
            if len(label) > MAX_SPECIALTY_LABEL:
                form.refuse("specialty_label", f"La spécialité ne doit pas dépasser {MAX_SPECIALTY_LABEL} caractères.")
            if not reason:
                form.refuse("reason", "Indiquez le motif de cette modification : il est conservé dans le journal.")
            elif len(reason) > MAX_REASON:
                form.refuse("reason", f"Le motif ne doit pas dépasser {MAX_REASON} caractères.")
            if form.errors:
                return None
            old = _profession_of(account)
            if code != account.profession_code:
                account.profession_code, account.profession_label = code, choices[code]
                account.profession_category = account.profession_category or "C"
            account.specialty_label, account.specialty_code = label or None, specialty or None
            new = _profession_of(account)
            if new == old:
                return {}
            session.add(account)
            ctx.audit.write_in(session, "admin.profession_changed", resource=account.label,
                               details={"reason": reason, "old": old, "new": new})
            return new

    changed = await ctx.db.run(apply)
    if changed is None:
        return await _detail_page(request, account_id, profession=form, status_code=400)
    if changed:
        ctx.flash(f"La profession est enregistrée : {changed['profession_label']}"
                  + (f", {changed['specialty_label']}." if changed["specialty_label"] else "."), "success")
    else:
        ctx.flash("Rien n'a changé : la profession et la spécialité étaient déjà celles-ci.", "info")
    return RedirectResponse(f"/admin/accounts/{account_id}", status_code=303)


NEW_ACCOUNT_FIELDS = ("kind", "username", "given_name", "family_name", "email", "idnat_ps", "organisation", "siren",
                      "profession_code", "specialty_label", "specialty_code")


async def new_account(request: Request) -> Response:
    ctx = get_context(request)
    _admin(ctx)
    choices = {"kinds": KIND_LABELS, "professions": PROFESSIONS}
    if request.method == "GET":
        return await render(request, "admin/account_new.html", Form().context(**choices))
    posted = await request.form()
    form = Form({name: str(posted.get(name, "")).strip()[:200] for name in NEW_ACCOUNT_FIELDS})

    def create() -> int:
        with ctx.db.write() as session:
            account = create_account(session, **form.values)
            ctx.audit.write_in(session, "admin.account_created", resource=account.label,
                               details={"kind": account.kind, "username": account.username})
            assert account.id is not None
            return account.id

    try:
        account_id = await ctx.db.run(create)
    except InvalidAccount as invalid:
        form.refuse_all(invalid.problems)
        return await render(request, "admin/account_new.html", form.context(**choices), status_code=400)
    ctx.flash("Le compte est créé. Envoyez-lui une invitation pour qu'il choisisse son mot de passe.", "success")
    return RedirectResponse(f"/admin/accounts/{account_id}", status_code=303)


routes = [
    Route("/admin/accounts", accounts_list),
    Route("/admin/accounts/new", new_account, methods=["GET", "POST"]),
    Route("/admin/accounts/{account_id:int}", account_page),
    Route("/admin/accounts/{account_id:int}/invite", invite, methods=["POST"]),
    Route("/admin/accounts/{account_id:int}/profession", change_profession, methods=["POST"]),
    Route("/admin/accounts/{account_id:int}/{action}", account_action, methods=["POST"]),
]

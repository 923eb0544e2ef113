"""Delegation: a professional lets a secretary act for them, and takes it back.

A secretary signs in with their own account and two factors, then acts *for* one principal at a
time (`web_session.acting_for_id`). Whom they act for is checked against the live delegations on
every request (`acting_for_of`, called while the request context loads), so a revocation or a
disabled principal stops the secretary at once, on every worker. A secretary with a single
principal acts for them without having to choose; with several, they pick on `/acting-for`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, or_, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bouquet.foundation import audit
from bouquet.foundation.db import UtcDateTime, utcnow
from bouquet.sso.accounts import Account, AccountKind, normalise_username
from bouquet.web.context import RequestContext, get_context
from bouquet.web.sessions import BrowserSession
from bouquet.web.ui import render

# Session data key: the automatic choice of a single principal was made (or is no longer wanted).
AUTO_CHOSEN = "acting_for_auto"
SEARCH_LIMIT = 20


class Delegation(SQLModel, table=True):
    """`delegate` (a secretary) may act for `principal` (a professional) while `revoked_at` is empty."""

    __tablename__ = "delegation"
    # One row per pair: granting again after a revocation reopens it (the audit trail keeps the history).
    __table_args__ = (UniqueConstraint("principal_id", "delegate_id", name="uq_delegation_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(foreign_key="account.id", index=True)
    delegate_id: int = Field(foreign_key="account.id", index=True)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DelegationRefused(ValueError):
    """The delegation cannot be granted; the message says why, in French."""


# --- rules -----------------------------------------------------------------------------------

def principals_of(session: Session, delegate_id: int) -> list[Account]:
    """The active professionals this secretary may act for now, by name."""
    query = (select(Account).join(Delegation, col(Delegation.principal_id) == col(Account.id))
             .where(Delegation.delegate_id == delegate_id, col(Delegation.revoked_at).is_(None),
                    col(Account.disabled_at).is_(None), Account.kind == AccountKind.professional)
             .order_by(Account.family_name, Account.given_name))
    return list(session.exec(query).all())


def delegates_of(session: Session, principal_id: int) -> list[tuple[Delegation, Account]]:
    """The professional's active delegations, with the secretary of each."""
    query = (select(Delegation, Account).join(Account, col(Delegation.delegate_id) == col(Account.id))
             .where(Delegation.principal_id == principal_id, col(Delegation.revoked_at).is_(None))
             .order_by(Account.family_name, Account.given_name))
    return [(delegation, account) for delegation, account in session.exec(query).all()]


def grant(session: Session, principal: Account, delegate: Account) -> Delegation:
    """Let `delegate` act for `principal` (in the caller's transaction). Raises `DelegationRefused`."""
    if principal.kind != AccountKind.professional:
        raise DelegationRefused("Seul un professionnel de santé peut déléguer.")
    if delegate.kind != AccountKind.secretary:
        raise DelegationRefused("Une délégation ne peut être accordée qu'à un compte de secrétaire.")
    if not delegate.active:
        raise DelegationRefused("Ce compte de secrétaire est désactivé.")
    delegation = session.exec(select(Delegation).where(Delegation.principal_id == principal.id,
                                                       Delegation.delegate_id == delegate.id)).first()
    if delegation is not None and delegation.revoked_at is None:
        raise DelegationRefused(f"{delegate.display_name} agit déjà pour vous.")
    if delegation is None:
        assert principal.id is not None and delegate.id is not None
        delegation = Delegation(principal_id=principal.id, delegate_id=delegate.id)
    delegation.granted_at, delegation.revoked_at = utcnow(), None
    session.add(delegation)
    session.flush()
    return delegation


def revoke(session: Session, delegation_id: int, principal_id: int) -> tuple[Delegation, Account] | None:
    """End one of `principal_id`'s active delegations; None if they have no such delegation."""
    delegation = session.get(Delegation, delegation_id)
    if delegation is None or delegation.principal_id != principal_id or delegation.revoked_at is not None:
        return None
    delegation.revoked_at = utcnow()
    session.add(delegation)
    delegate = session.get(Account, delegation.delegate_id)
    assert delegate is not None
    return delegation, delegate


def ensure(session: Session, principal: Account, delegate: Account) -> Delegation:
    """Grant the delegation unless it is already active (demonstration data, test fixtures)."""
    existing = session.exec(select(Delegation).where(Delegation.principal_id == principal.id,
                                                     Delegation.delegate_id == delegate.id,
                                                     col(Delegation.revoked_at).is_(None))).first()
    return existing or grant(session, principal, delegate)


def acting_for_of(state: Any, browser: BrowserSession, account: Account) -> Account | None:
    """Whom `account` acts for in this session, checked against live delegations (blocking).

    Called for every request while the context loads. Only a secretary acts for someone. A
    principal whose delegation was revoked (or who was disabled) is dropped from the session at
    once; a secretary who never chose and has exactly one principal gets that one.
    """
    if account.kind != AccountKind.secretary:
        return None
    assert account.id is not None
    with state.db.session() as session:
        principals = {principal.id: principal for principal in principals_of(session, account.id)}
    chosen = browser.row.acting_for_id
    if chosen is not None and chosen in principals:
        return principals[chosen]
    if chosen is not None:
        state.sessions.set_acting_for(browser.row.id, None)
        browser.row.acting_for_id = None
        browser.set(AUTO_CHOSEN, True)  # after a revocation the secretary chooses again, knowingly
        browser.flash("La délégation qui vous permettait d'agir pour ce professionnel a été retirée.", "warning")
        return None
    if len(principals) != 1 or browser.get(AUTO_CHOSEN):
        return None
    principal = next(iter(principals.values()))
    select_principal(state, browser, account, principal, automatic=True)
    return principal


def select_principal(state: Any, browser: BrowserSession, account: Account, principal: Account, *, automatic: bool,
                     source_ip: str | None = None, request_id: str | None = None) -> None:
    """Make the secretary's browser session act for `principal` (who delegated to them: the caller
    checks), audited; `automatic` says whether the portal chose it (a single principal) or the person."""
    state.sessions.set_acting_for(browser.row.id, principal.id)
    browser.row.acting_for_id = principal.id
    browser.set(AUTO_CHOSEN, True)
    with state.db.write() as session:
        audit.append(session, state.audit_key, audit.AuditRecord(
            actor=account.label, acting_for=principal.label, action="delegation.acting_for_selected",
            resource=principal.label, source_ip=source_ip, request_id=request_id,
            details={"automatic": automatic}))


# --- pages -----------------------------------------------------------------------------------

def _require(ctx: RequestContext, kind: AccountKind) -> Account:
    if ctx.account is None or ctx.account.kind != kind:
        raise HTTPException(403)
    return ctx.account


def _search_secretaries(session: Session, text: str) -> list[Account]:
    pattern = f"%{text.strip().lower()}%"
    query = (select(Account).where(Account.kind == AccountKind.secretary, col(Account.disabled_at).is_(None),
                                   or_(col(Account.username).like(pattern),
                                       col(Account.family_name).ilike(pattern),
                                       col(Account.given_name).ilike(pattern)))
             .order_by(Account.family_name, Account.given_name).limit(SEARCH_LIMIT))
    return list(session.exec(query).all())


async def _delegations_page(request: Request, principal: Account, *, errors: dict[str, str] | None = None,
                            delegate: str = "", status_code: int = 200) -> Response:
    ctx = get_context(request)
    query = request.query_params.get("q", "").strip()[:100]

    def load() -> tuple[list[tuple[Delegation, Account]], list[Account] | None]:
        assert principal.id is not None
        with ctx.db.session() as session:
            found = _search_secretaries(session, query) if query else None
            return delegates_of(session, principal.id), found

    active, found = await ctx.db.run(load)
    return await render(request, "sso/delegations.html", {
        "delegations": active, "query": query, "found": found, "errors": errors or {}, "delegate": delegate,
    }, status_code=status_code)


async def delegations(request: Request) -> Response:
    ctx = get_context(request)
    principal = _require(ctx, AccountKind.professional)
    if request.method == "GET":
        return await _delegations_page(request, principal)
    form = await request.form()
    username = normalise_username(str(form.get("delegate", "")))[:150]
    if not username:
        return await _delegations_page(request, principal, status_code=400,
                                       errors={"delegate": "Indiquez l'identifiant du compte de secrétaire."})

    def do_grant() -> str | None:
        with ctx.db.write() as session:
            delegate = session.exec(select(Account).where(Account.username == username)).first()
            if delegate is None:
                return "Aucun compte de secrétaire ne porte cet identifiant."
            try:
                grant(session, principal, delegate)
            except DelegationRefused as refused:
                session.rollback()
                return str(refused)
            ctx.audit.write_in(session, "delegation.granted", resource=delegate.label)
            ctx.flash(f"{delegate.display_name} peut désormais agir pour vous.", "success")
            return None

    problem = await ctx.db.run(do_grant)
    if problem:
        return await _delegations_page(request, principal, errors={"delegate": problem}, delegate=username,
                                       status_code=400)
    return RedirectResponse("/account/delegations", status_code=303)


async def revoke_delegation(request: Request) -> Response:
    ctx = get_context(request)
    principal = _require(ctx, AccountKind.professional)
    try:
        delegation_id = int(request.path_params["delegation_id"])
    except ValueError:
        raise HTTPException(404) from None

    def do_revoke() -> bool:
        assert principal.id is not None
        with ctx.db.write() as session:
            revoked = revoke(session, delegation_id, principal.id)
            if revoked is None:
                return False
            ctx.audit.write_in(session, "delegation.revoked", resource=revoked[1].label)
            ctx.flash(f"{revoked[1].display_name} ne peut plus agir pour vous.", "success")
            return True

    if not await ctx.db.run(do_revoke):
        raise HTTPException(404, "Cette délégation n'existe pas ou a déjà été retirée.")
    return RedirectResponse("/account/delegations", status_code=303)


async def acting_for_page(request: Request) -> Response:
    ctx = get_context(request)
    secretary = _require(ctx, AccountKind.secretary)
    assert secretary.id is not None and ctx.session is not None

    def load() -> list[Account]:
        with ctx.db.session() as session:
            return principals_of(session, secretary.id)

    principals = await ctx.db.run(load)
    if request.method == "GET":
        return await render(request, "sso/acting_for.html", {"principals": principals, "error": None})
    form = await request.form()
    chosen = next((p for p in principals if str(p.id) == str(form.get("principal", ""))), None)
    if chosen is None:
        return await render(request, "sso/acting_for.html", {
            "principals": principals, "error": "Choisissez l'un des professionnels qui vous ont délégué.",
        }, status_code=400)
    await ctx.db.run(select_principal, ctx.app_state, ctx.session, secretary, chosen, automatic=False,
                     source_ip=ctx.source_ip, request_id=ctx.request_id)
    ctx.acting_for = chosen
    ctx.flash(f"Vous agissez désormais pour {chosen.display_name}.", "success")
    return RedirectResponse("/", status_code=303)


routes = [
    Route("/account/delegations", delegations, methods=["GET", "POST"]),
    Route("/account/delegations/{delegation_id:int}/revoke", revoke_delegation, methods=["POST"]),
    Route("/acting-for", acting_for_page, methods=["GET", "POST"]),
]

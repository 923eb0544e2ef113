"""Invitations: how an account with no password yet (an imported professional) gets in the first time.

An invitation is a single-use link, `{base_url}/invitation/<token>`, valid 7 days by default. The
token is 256 random bits; only its SHA-256 is stored, so a copy of the database opens no account.
Following the link, the person chooses a password, then goes on to enrol a second factor like
anyone signing in for the first time.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Column, String, update
from sqlmodel import Field, Session, SQLModel, or_, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bouquet import audit
from bouquet.context import RequestContext, get_context
from bouquet.db import UtcDateTime, utcnow
from bouquet.routing import public
from bouquet.sessions import hash_token
from bouquet.sso import flow
from bouquet.sso.accounts import Account
from bouquet.sso.passwords import hash_password, weakness
from bouquet.ui import render

DEFAULT_LIFETIME = timedelta(days=7)


class Invitation(SQLModel, table=True):
    """A single-use link that lets one account choose its password."""

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_by: str = Field(max_length=200, description="Who issued it, as the audit trail names them")


class InvitationState(StrEnum):
    valid = "valid"
    used = "used"
    expired = "expired"
    unknown = "unknown"
    account_disabled = "account_disabled"


class AccountNotFound(LookupError):
    """No account has this id or username."""


def invitation_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/invitation/{token}"


def create(session: Session, account: Account, *, created_by: str,
           lifetime: timedelta = DEFAULT_LIFETIME) -> tuple[Invitation, str]:
    """Add an invitation for `account` in the caller's transaction; returns it and its raw token.

    The raw token exists only in the return value: show it once, never store it.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = Invitation(account_id=account.id, token_hash=hash_token(token), created_at=now,
                            expires_at=now + lifetime, created_by=created_by[:200])
    session.add(invitation)
    session.flush()
    return invitation, token


def find_account(session: Session, reference: str) -> Account:
    """The account named by its numeric id, its username or its IdNat_PS (CLI and admin use)."""
    reference = reference.strip()
    query = select(Account).where(or_(Account.username == reference.lower(), Account.idnat_ps == reference))
    account = session.exec(query).first()
    if account is None and reference.isdigit() and len(reference) < 12:
        account = session.get(Account, int(reference))
    if account is None:
        raise AccountNotFound(reference)
    return account


def issue(session: Session, key: bytes, account: Account, *, record: audit.AuditRecord,
          lifetime: timedelta = DEFAULT_LIFETIME) -> tuple[Invitation, str]:
    """Create an invitation and its audit event `account.invitation_created` in one transaction.

    `record` says who issues it (its `action` and `resource` are filled in here).
    """
    invitation, token = create(session, account, created_by=record.actor, lifetime=lifetime)
    audit.append(session, key, dataclasses.replace(
        record, action="account.invitation_created", resource=account.label,
        details={**(record.details or {}), "invitation_id": invitation.id,
                 "expires_at": invitation.expires_at.isoformat(timespec="seconds")}))
    return invitation, token


def lookup(session: Session, token: str) -> tuple[InvitationState, Invitation | None, Account | None]:
    """What this token is worth now, with its invitation and account when it names one."""
    if not token or len(token) > 100:
        return InvitationState.unknown, None, None
    invitation = session.exec(select(Invitation).where(Invitation.token_hash == hash_token(token))).first()
    if invitation is None:
        return InvitationState.unknown, None, None
    account = session.get(Account, invitation.account_id)
    if invitation.used_at is not None:
        return InvitationState.used, invitation, account
    if invitation.expires_at <= utcnow():
        return InvitationState.expired, invitation, account
    if account is None or not account.active:
        return InvitationState.account_disabled, invitation, account
    return InvitationState.valid, invitation, account


def pending_for(session: Session, account_id: int) -> list[Invitation]:
    """The account's invitations that could still be used, newest first."""
    return list(session.exec(select(Invitation).where(
        Invitation.account_id == account_id, Invitation.used_at.is_(None), Invitation.expires_at > utcnow(),
    ).order_by(Invitation.created_at.desc())).all())


def accept(session: Session, key: bytes, token: str, password_hash: str,
           record: audit.AuditRecord) -> Account | None:
    """Use the invitation: set the password, spend the token, audit. None if it is no longer valid.

    The token is spent by a conditional UPDATE, so two browsers racing with one link cannot
    both succeed. The account's other pending invitations are spent too: they are now useless.
    """
    state, invitation, account = lookup(session, token)
    if state != InvitationState.valid or invitation is None or account is None:
        return None
    now = utcnow()
    spent = session.execute(update(Invitation).where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
                            .values(used_at=now))
    if spent.rowcount != 1:
        return None
    session.execute(update(Invitation).where(Invitation.account_id == account.id, Invitation.used_at.is_(None),
                                             Invitation.expires_at > now).values(expires_at=now))
    account.password_hash = password_hash
    session.add(account)
    session.flush()
    audit.append(session, key, dataclasses.replace(
        record, actor=account.label, action="account.invitation_used", resource=account.label,
        details={"invitation_id": invitation.id}))
    return account


# --- pages -----------------------------------------------------------------------------------

GONE_MESSAGES = {
    InvitationState.unknown: (404, "Ce lien d'invitation n'existe pas. Vérifiez qu'il a été copié en entier."),
    InvitationState.used: (410, "Ce lien d'invitation a déjà été utilisé. Connectez-vous avec le mot de passe "
                                "que vous avez choisi, ou demandez une nouvelle invitation à l'administrateur."),
    InvitationState.expired: (410, "Ce lien d'invitation a expiré. Demandez une nouvelle invitation à "
                                   "l'administrateur de Bouquet."),
    InvitationState.account_disabled: (410, "Le compte concerné par cette invitation est désactivé. "
                                            "Contactez l'administrateur de Bouquet."),
}


def _lookup(ctx: RequestContext, token: str) -> tuple[InvitationState, Invitation | None, Account | None]:
    with ctx.db.session() as session:
        return lookup(session, token)


async def _gone(request: Request, state: InvitationState) -> Response:
    status, message = GONE_MESSAGES[state]
    return await render(request, "sso/invitation_gone.html", {"message": message}, status_code=status)


@public
async def invitation_page(request: Request) -> Response:
    ctx = get_context(request)
    token = request.path_params["token"]
    state, _invitation, account = await ctx.db.run(_lookup, ctx, token)
    if state != InvitationState.valid:
        return await _gone(request, state)
    assert account is not None
    if ctx.account is not None and ctx.account.id != account.id:
        # Someone else is signed in in this browser: starting another sign-in here would mix them up.
        return await render(request, "sso/invitation_gone.html", {"message": (
            f"Vous êtes connecté(e) avec le compte de {ctx.account.display_name}. Déconnectez-vous, "
            "puis ouvrez de nouveau ce lien d'invitation.")}, status_code=409)
    if request.method == "GET":
        return await render(request, "sso/invitation.html", {"invited": account, "errors": {}})

    form = await request.form()
    password, confirmation = str(form.get("password", "")), str(form.get("confirmation", ""))
    errors: dict[str, str] = {}
    problem = weakness(password, names=(account.username, account.given_name, account.family_name))
    if problem:
        errors["password"] = problem
    elif password != confirmation:
        errors["confirmation"] = "Les deux mots de passe ne sont pas identiques."
    if errors:
        return await render(request, "sso/invitation.html", {"invited": account, "errors": errors}, status_code=400)

    # Hash before taking the write lock: argon2 is deliberately slow.
    password_hash = await ctx.db.run(hash_password, password)

    def use() -> Account | None:
        with ctx.db.write() as session:
            return accept(session, ctx.app_state.audit_key, token, password_hash, ctx.audit.record("-"))

    used = await ctx.db.run(use)
    if used is None:  # spent or expired between the page and the post
        return await _gone(request, (await ctx.db.run(_lookup, ctx, token))[0])
    assert used.id is not None
    await flow.begin(ctx, used.id, [flow.PWD], "/", enrolling=True)
    return RedirectResponse("/enrol", status_code=303)


routes = [Route("/invitation/{token}", invitation_page, methods=["GET", "POST"])]

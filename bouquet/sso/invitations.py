"""Invitations: how an account with no password yet (an imported professional) gets in the first time.

An invitation is a single-use link, `{base_url}/invitation/<token>`, valid 7 days by default. The
token is 256 random bits; only its SHA-256 is stored, so a copy of the database opens no account.
Following the link, the person chooses a password, then goes on to enrol a second factor like
anyone signing in for the first time.

An invitation never weakens the second factor. For an account that already has one (a
professional who forgot their password), the page also asks for a code of their authenticator app
or one of their recovery codes, checked and throttled like the sign-in's second step; without it
nothing changes. Someone who has lost every factor too needs the administrator to reset the
factors first (`/admin/accounts/<id>`, with a reason, audited). Enrolling a factor on the strength
of the invitation alone is allowed only while the account has none, checked under a lock on the
account's row when the password is set and again when the factor is confirmed. Setting the
password ends every session of the account, and the owner sees the event on their account page.
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

from bouquet.foundation import audit
from bouquet.foundation.db import UtcDateTime, utcnow
from bouquet.sso import factors, flow, recovery, throttle, totp
from bouquet.sso.accounts import Account
from bouquet.sso.completion import finish_signin
from bouquet.sso.passwords import hash_password, weakness
from bouquet.sso.signin import check_second_factor
from bouquet.web.context import RequestContext, get_context
from bouquet.web.forms import read_form
from bouquet.web.routing import public
from bouquet.web.sessions import hash_token
from bouquet.web.ui import render

DEFAULT_LIFETIME = timedelta(days=7)
CODE_MISSING = ("Ce compte a déjà un second facteur : saisissez un code de votre application d'authentification "
                "ou un de vos codes de secours. Si vous les avez tous perdus, demandez à l'administrateur de "
                "réinitialiser vos seconds facteurs.")
CODE_FORMAT = ("Saisissez les 6 chiffres affichés par votre application, ou un code de secours de 12 caractères "
               "(par exemple abcd-efgh-jkmn).")
CODE_WRONG = "Ce code n'est pas valable. Vérifiez-le, ou utilisez un de vos codes de secours."


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


class FactorRequired(Exception):
    """The account has a second factor: the invitation is used only with one of them verified."""


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
           record: audit.AuditRecord, *, factor_verified: bool = False) -> Account | None:
    """Use the invitation: set the password, spend the token, audit. None if it is no longer valid.

    The token is spent by a conditional UPDATE, so two browsers racing with one link cannot
    both succeed. The account's other pending invitations are spent too: they are now useless.
    Raises `FactorRequired` (changing nothing) when the account has a second factor and the caller
    has not verified one: checked under a lock on the account's row, so an enrolment finishing at
    the same moment is seen.
    """
    state, invitation, account = lookup(session, token)
    if state != InvitationState.valid or invitation is None or account is None:
        return None
    session.exec(select(Account.id).where(Account.id == account.id).with_for_update()).first()
    if not factor_verified and factors.has_second_factor(session, account.id):
        raise FactorRequired(account.id)
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
        details={"invitation_id": invitation.id, "second_factor": "verified" if factor_verified else "none yet"}))
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


def _has_factor(ctx: RequestContext, account_id: int) -> bool:
    with ctx.db.session() as session:
        return factors.has_second_factor(session, account_id)


def _code_method(raw: str) -> tuple[str, str] | None:
    """("totp", code) or ("recovery", code) for what was typed in the code field, None if it is neither."""
    if (code := totp.normalise_code(raw)) is not None:
        return "totp", code
    if (code := recovery.normalise(raw)) is not None:
        return "recovery", code
    return None


async def _form(request: Request, account: Account, *, needs_factor: bool, errors: dict[str, str] | None = None,
                alert: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return await render(request, "sso/invitation.html", {
        "invited": account, "errors": errors or {}, "needs_factor": needs_factor, "alert": alert,
    }, status_code=status_code, headers=headers)


@public
async def invitation_page(request: Request) -> Response:
    ctx = get_context(request)
    token = request.path_params["token"]
    state, _invitation, account = await ctx.db.run(_lookup, ctx, token)
    if state != InvitationState.valid:
        return await _gone(request, state)
    assert account is not None and account.id is not None
    if ctx.account is not None and ctx.account.id != account.id:
        # Someone else is signed in in this browser: starting another sign-in here would mix them up.
        return await render(request, "sso/invitation_gone.html", {"message": (
            f"Vous êtes connecté(e) avec le compte de {ctx.account.display_name}. Déconnectez-vous, "
            "puis ouvrez de nouveau ce lien d'invitation.")}, status_code=409)
    needs_factor = await ctx.db.run(_has_factor, ctx, account.id)
    if request.method == "GET":
        return await _form(request, account, needs_factor=needs_factor)

    form = await read_form(request, "password", "confirmation", "code")
    password, confirmation = form["password"], form["confirmation"]
    errors: dict[str, str] = {}
    problem = weakness(password, names=(account.username, account.given_name, account.family_name))
    if problem:
        errors["password"] = problem
    elif password != confirmation:
        errors["confirmation"] = "Les deux mots de passe ne sont pas identiques."
    method = _code_method(form["code"]) if needs_factor else None
    if needs_factor and method is None:
        errors["code"] = CODE_MISSING if not form["code"].strip() else CODE_FORMAT
    if errors:
        return await _form(request, account, needs_factor=needs_factor, errors=errors, status_code=400)

    if method is not None:
        now = throttle.current_time(ctx.app_state)
        outcome = await ctx.db.run(check_second_factor, ctx, account.id, method[0], method[1], now)
        if isinstance(outcome, throttle.Refusal):
            return await _form(request, account, needs_factor=True, alert=outcome.message(now), status_code=429,
                               headers={"Retry-After": str(outcome.retry_after(now))})
        if outcome != totp.Check.accepted:
            return await _form(request, account, needs_factor=True, errors={"code": CODE_WRONG}, status_code=400)

    # Hash before taking the write lock: argon2 is deliberately slow.
    password_hash = await ctx.db.run(hash_password, password)

    def use() -> Account | None:
        with ctx.db.write() as session:
            return accept(session, ctx.app_state.audit_key, token, password_hash, ctx.audit.record("-"),
                          factor_verified=method is not None)

    try:
        used = await ctx.db.run(use)
    except FactorRequired:  # a factor was enrolled since the page was shown
        return await _form(request, account, needs_factor=True, errors={"code": CODE_MISSING}, status_code=400)
    if used is None:  # spent or expired between the page and the post
        return await _gone(request, (await ctx.db.run(_lookup, ctx, token))[0])
    assert used.id is not None
    # Whoever was signed in to this account with the old password is signed out everywhere.
    await ctx.db.run(ctx.app_state.sessions.end_all, used.id, "invitation_used")
    if method is not None:
        await flow.begin(ctx, used.id, [flow.PWD], "/")
        return await finish_signin(ctx, used.id, [flow.PWD, flow.OTP])
    await flow.begin(ctx, used.id, [flow.PWD], "/", enrolling=True)
    return RedirectResponse("/enrol", status_code=303)


routes = [Route("/invitation/{token}", invitation_page, methods=["GET", "POST"])]

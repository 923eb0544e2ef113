"""An account's security events: written to the audit trail in its name, read back for its owner.

Sign-in events are written with the account's `label` as actor even before the sign-in
completes (a wrong password, a lock), so that the person sees on their account page what
happened to it. Events about a username that matches no account are written as "anonymous".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from bouquet.foundation.audit import AuditEvent, Auditor
from bouquet.foundation.times import format_datetime
from bouquet.sso.accounts import Account

# The actions an account's owner is shown (prefixes), and how they read in French.
SHOWN_PREFIXES = ("signin.", "factor.", "session.", "recovery_codes.", "account.invitation_used", "account.password_")
LABELS = {
    "signin.success": "Connexion réussie",
    "signin.failure": "Échec de connexion",
    "signin.totp_replay": "Code déjà utilisé refusé",
    "signin.locked": "Vérification bloquée après trop d'échecs",
    "signin.recovery_code_used": "Connexion avec un code de secours",
    "signin.reauthenticated": "Identité confirmée",
    "account.password_changed": "Mot de passe changé",
    "account.password_reset_requested": "Demande de nouveau mot de passe",
    "factor.added": "Méthode de connexion ajoutée",
    "factor.removed": "Méthode de connexion supprimée",
    "session.ended": "Session terminée",
    "recovery_codes.issued": "Nouveaux codes de secours générés",
    "account.invitation_used": "Mot de passe choisi avec une invitation (toutes les sessions ont été terminées)",
}
FACTOR_LABELS = {
    "password": "mot de passe",
    "totp": "application d'authentification",
    "recovery_code": "code de secours",
    "webauthn": "clé de sécurité ou clé d'accès",
    "reauthentication": "confirmation d'identité",
}


def auditor_for(ctx: Any, account: Account | None) -> Auditor:
    """An audit writer in the name of `account` (who is not signed in yet), or "anonymous"."""
    return Auditor(ctx.db, ctx.app_state.audit_key, actor=account.label if account else "anonymous",
                   source_ip=ctx.source_ip, request_id=ctx.request_id)


@dataclass(frozen=True)
class SecurityEvent:
    """One event as the account page shows it."""

    at: datetime
    label: str
    detail: str
    outcome: str
    source_ip: str | None

    @property
    def when(self) -> str:
        return local_time(self.at)

    @property
    def failed(self) -> bool:
        return self.outcome != "success"


def recent(session: Session, account_id: int, limit: int = 20) -> list[SecurityEvent]:
    """The account's latest security events, newest first."""
    # Labels embed the display name, which may change: match on the stable "account:<id> (" part.
    rows = session.exec(
        select(AuditEvent)
        .where(AuditEvent.actor.startswith(f"account:{account_id} ("),
               or_(*[AuditEvent.action.startswith(prefix) for prefix in SHOWN_PREFIXES]))
        .order_by(AuditEvent.seq.desc()).limit(limit)
    ).all()
    return [SecurityEvent(row.at, LABELS.get(row.action, row.action), _detail(row.details or {}), row.outcome,
                          row.source_ip) for row in rows]


def _detail(details: dict[str, Any]) -> str:
    parts = []
    if factor := details.get("factor"):
        parts.append(FACTOR_LABELS.get(factor, str(factor)))
    if details.get("reason") == "reauthentication":
        parts.append(FACTOR_LABELS["reauthentication"])
    if details.get("reason") == "logout":
        parts.append("déconnexion")
    elif details.get("reason") in {"ended_by_user", "ended_others"}:
        parts.append("terminée depuis la page Sessions")
    if "remaining" in details:
        parts.append(f"{details['remaining']} code(s) restant(s)")
    return ", ".join(parts)


def local_time(at: datetime | None) -> str:
    """A time as people in France read it: "12/03/2025 à 14:05" (`bouquet.foundation.times`)."""
    return format_datetime(at)

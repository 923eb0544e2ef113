"""Who acts on a care plan: the signed-in account and, for a secretary, the professional they act for.

Care team membership belongs to professionals; a secretary acting for one sees and schedules
what their principal may, and the timeline names both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bouquet.api.accounts import Account
    from bouquet.api.web import RequestContext


@dataclass(frozen=True)
class Actor:
    """The account acting, the principal it acts for (if any), and what it may do."""

    account: Account
    acting_for: Account | None
    can_schedule: bool
    can_complete: bool

    @property
    def principal(self) -> Account:
        """Whose care team membership counts: the professional a secretary acts for, or the account itself."""
        return self.acting_for or self.account

    @property
    def principal_id(self) -> int:
        assert self.principal.id is not None
        return self.principal.id

    @property
    def label(self) -> str:
        return self.account.display_name

    @property
    def acting_for_label(self) -> str | None:
        return self.acting_for.display_name if self.acting_for else None


def actor_of(ctx: RequestContext) -> Actor | None:
    """The actor of a signed-in request, or None for an anonymous one."""
    if ctx.account is None:
        return None
    return Actor(ctx.account, ctx.acting_for, ctx.can("eparcours.task.schedule"), ctx.can("eparcours.task.complete"))

"""Permissions: the actions plugins declare (`bouquet_actions`) and who may do them."""

from __future__ import annotations

from bouquet.plugins.contributions import Action
from bouquet.sso.accounts import Account, AccountKind


class UnknownAction(KeyError):
    """Asked about an action no loaded plugin declares (a programming error, not a refusal)."""


class Permissions:
    """The actions of every loaded plugin, and the default grants they carry."""

    def __init__(self, actions: list[Action]) -> None:
        self.actions = {action.name: action for action in actions}

    def allows(self, account: Account | None, action_name: str, acting_for: Account | None = None) -> bool:
        """Whether `account` (a secretary acting for `acting_for`, if given) may do `action_name`."""
        action = self.actions.get(action_name)
        if action is None:
            raise UnknownAction(action_name)
        if account is None or not account.active:
            return False
        if account.kind == AccountKind.secretary:
            # A secretary acts only within what their principal may do, and only administrative actions.
            return action.secretary and acting_for is not None and self._grants(action, acting_for)
        return self._grants(action, account)

    @staticmethod
    def _grants(action: Action, account: Account) -> bool:
        if not account.active or account.kind not in action.roles:
            return False
        if account.kind == AccountKind.professional and action.professions:
            return account.profession_code in action.professions
        return True


def is_administrator(account: Account | None) -> bool:
    """Whether `account` is an active operator account (administration, operations pages)."""
    return account is not None and account.active and account.kind == AccountKind.admin

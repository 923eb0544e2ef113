"""Accounts: professionals (IdNat_PS, profession), secretaries, vendors, administrators."""

from bouquet.sso.accounts import PROFESSIONS, Account, AccountKind, luhn_key

__all__ = ["PROFESSIONS", "Account", "AccountKind", "luhn_key"]

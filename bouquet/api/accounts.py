"""Accounts: professionals (IdNat_PS, profession), secretaries, vendors, administrators."""

from bouquet.sso.accounts import Account, AccountKind, luhn_key

__all__ = ["Account", "AccountKind", "luhn_key"]

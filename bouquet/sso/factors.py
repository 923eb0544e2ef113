"""Second factors: which kinds exist, and how many of each an account has.

Each kind of second factor registers itself here when its module is imported (TOTP in
`bouquet.sso.totp`, security keys and passkeys in `bouquet.sso.webauthn`):

    factors.register(factors.SecondFactor("webauthn", "Clé de sécurité ou clé d'accès", count_credentials))

Sign-in asks `has_second_factor` to choose between the second-factor page and enrolment; the
account page asks `may_remove_one` before removing a credential, so that no account is ever left
without a second factor. Recovery codes are a fallback, not a factor: they are not counted.

A kind may also give `details(session, account_id)`: whatever its part of the account page
needs (e.g. the list of keys). The account page's template receives it as
`factor_details["<name>"]`, so two kinds never clobber each other's variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bouquet.sso.accounts import Account


@dataclass(frozen=True)
class SecondFactor:
    """A kind of second factor: its name, its French label, and how to count an account's credentials."""

    name: str
    label: str
    count: Callable[[Session, int], int]
    details: Callable[[Session, int], Any] | None = None


_KINDS: dict[str, SecondFactor] = {}


def register(kind: SecondFactor) -> None:
    """Make a kind of second factor known (registering the same name again replaces it)."""
    _KINDS[kind.name] = kind


def kinds() -> list[SecondFactor]:
    return list(_KINDS.values())


def counts(session: Session, account_id: int) -> dict[str, int]:
    """How many credentials of each registered kind the account has."""
    return {kind.name: kind.count(session, account_id) for kind in _KINDS.values()}


def details(session: Session, account_id: int) -> dict[str, Any]:
    """Each kind's data for the account page, by kind name (kinds without `details` are left out)."""
    return {kind.name: kind.details(session, account_id) for kind in _KINDS.values() if kind.details}


def total(session: Session, account_id: int) -> int:
    return sum(counts(session, account_id).values())


def has_second_factor(session: Session, account_id: int) -> bool:
    return total(session, account_id) > 0


def may_remove_one(session: Session, account_id: int) -> bool:
    """Whether one credential may be removed without leaving the account with no second factor.

    Locks the account's row until the caller's transaction ends, so that two removals made at
    the same time on two workers cannot both pass: call it in the transaction that removes.
    """
    session.exec(select(Account.id).where(Account.id == account_id).with_for_update()).first()
    return total(session, account_id) > 1

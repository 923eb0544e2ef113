"""Demonstration accounts (`bouquet demo`): one of each kind, with a known password.

Safe to run twice: accounts are found by username and brought back to these values; a password
is hashed again only when it no longer matches. No second factor is enrolled: the first sign-in
asks for one, as for anyone. Identifiers are fictitious ("999…" RPPS and SIREN numbers), with
valid Luhn keys. `docs/demo-accounts.md` lists the same accounts for people.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bouquet.foundation.db import Database
from bouquet.sso import delegation
from bouquet.sso.accounts import Account, AccountKind
from bouquet.sso.passwords import hash_password, verify_password

PASSWORD = "Bouquet-demo-2026!"

ACCOUNTS: list[dict[str, Any]] = [
    {"kind": AccountKind.admin, "username": "admin", "given_name": "Camille", "family_name": "Roux",
     "email": "admin@bouquet.example"},
    {"kind": AccountKind.professional, "username": "dr.martin", "given_name": "Jean", "family_name": "Martin",
     "email": "jean.martin@bouquet.example", "idnat_ps": "899900000011",
     "profession_code": "10", "profession_label": "Médecin", "profession_category": "C",
     "specialty_code": "SM54", "specialty_label": "Médecine générale",
     "practice_sites": [{
         "structure_id": "R99900012000017", "name": "Cabinet médical du Parc", "siret": "99900012000017",
         "address": "12 Rue de la République", "postal_code": "69002", "commune_code": "69382",
         "commune": "Lyon", "mode_code": "L", "mode": "Libéral", "sector": "Cabinet individuel",
     }]},
    {"kind": AccountKind.professional, "username": "inf.durand", "given_name": "Léa", "family_name": "Durand",
     "email": "lea.durand@bouquet.example", "idnat_ps": "899900000029",
     "profession_code": "60", "profession_label": "Infirmier", "profession_category": "C",
     "practice_sites": [{
         "structure_id": "R99900023000014", "name": "Cabinet infirmier des Pentes", "siret": "99900023000014",
         "address": "3 Montée de la Grande Côte", "postal_code": "69001", "commune_code": "69381",
         "commune": "Lyon", "mode_code": "L", "mode": "Libéral", "sector": "Cabinet de groupe",
     }]},
    {"kind": AccountKind.secretary, "username": "sec.bernard", "given_name": "Sophie", "family_name": "Bernard",
     "email": "sophie.bernard@bouquet.example"},
    {"kind": AccountKind.vendor, "username": "editeur.sante", "given_name": "Paul", "family_name": "Lambert",
     "email": "paul.lambert@bouquet.example", "organisation": "Éditions Santé Numérique", "siren": "999000003"},
]
# (principal, delegate)
DELEGATIONS = [("dr.martin", "sec.bernard")]


class _Passwords:
    """The demo password's hash, computed once: argon2 is slow on purpose, and all accounts share it."""

    def __init__(self) -> None:
        self._hash: str | None = None
        self._checked: dict[str, bool] = {}

    def hash_for(self, current: str | None) -> str:
        """`current` if it already matches the demo password, else a hash of it."""
        if current is not None:
            if current not in self._checked:
                self._checked[current] = verify_password(current, PASSWORD)
            if self._checked[current]:
                return current
        if self._hash is None:
            self._hash = hash_password(PASSWORD)
        return self._hash


def _upsert(session: Session, values: dict[str, Any], passwords: _Passwords) -> tuple[Account, bool]:
    account = session.exec(select(Account).where(Account.username == values["username"])).first()
    created = account is None
    if account is None:
        account = Account(**values)
    else:
        for name, value in values.items():
            if getattr(account, name) != value:
                setattr(account, name, value)
    password_hash = passwords.hash_for(account.password_hash)
    if account.password_hash != password_hash:
        account.password_hash = password_hash
    session.add(account)
    session.flush()
    return account, created


def load(db: Database) -> list[str]:
    """Create or refresh the demonstration accounts; returns the lines to show the operator."""
    lines = [f"Demonstration accounts (password for all: {PASSWORD}; the first sign-in enrols a second factor):"]
    passwords = _Passwords()
    with db.write() as session:
        accounts: dict[str, Account] = {}
        for values in ACCOUNTS:
            account, created = _upsert(session, values, passwords)
            accounts[account.username] = account
            lines.append(f"  {account.username:<15} {account.kind_label}: {account.display_name}"
                         + (" (created)" if created else ""))
        for principal, delegate in DELEGATIONS:
            delegation.ensure(session, accounts[principal], accounts[delegate])
            lines.append(f"  {delegate} acts for {principal} (delegation)")
    return lines

"""Accounts: professionals, secretaries, vendors and administrators, and the rules for their identifiers.

A professional is known by their IdNat_PS, the national identifier of the RPPS directory: "8"
followed by the 11-digit RPPS number, whose last digit is a Luhn key. A vendor belongs to an
organisation known by its SIREN (9 digits, Luhn key). Usernames are lower case; a professional
imported from the directory signs in with their IdNat_PS as username.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, Session, SQLModel, or_, select

from bouquet.foundation.db import UtcDateTime, utcnow


class AccountKind(StrEnum):
    professional = "professional"
    secretary = "secretary"
    vendor = "vendor"
    admin = "admin"
    # Care coordination beyond health professionals: social workers, DAC coordinators, médico-social
    # staff, carers (aidants). No RPPS; their organisation. Never a health professional's rights (no DMP).
    coordination = "coordination"


KIND_LABELS = {
    AccountKind.professional: "Professionnel de santé",
    AccountKind.secretary: "Secrétaire",
    AccountKind.vendor: "Éditeur",
    AccountKind.admin: "Administrateur",
    AccountKind.coordination: "Coordination (social, médico-social, aidant)",
}

# Profession codes of the RPPS whose members are addressed as "Docteur": médecin, chirurgien-dentiste, pharmacien.
DOCTOR_PROFESSIONS = frozenset({"10", "21", "40"})
# The professions an administrator may give a hand-made professional account: codes and labels of the
# nomenclature "TRE_G15-ProfessionSante" of the ANS (Agence du numérique en santé), as the RPPS
# directory uses them; https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/ (consulted 2026-12-07).
# Other professions come with the directory import.
PROFESSIONS: dict[str, str] = {
    "10": "Médecin",
    "21": "Pharmacien",
    "40": "Chirurgien-dentiste",
    "50": "Sage-femme",
    "60": "Infirmier",
    "70": "Masseur-kinésithérapeute",
    "80": "Pédicure-podologue",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
    "96": "Psychomotricien",
}
# Professions whose members practise a specialty (the "savoir-faire" of the RPPS): médecins.
SPECIALTY_REQUIRED = frozenset({"10"})
SPECIALTY_CODE = re.compile(r"S[A-Z][0-9]{2}")


class Account(SQLModel, table=True):
    """A person who signs in. Professionals carry their RPPS identity (`idnat_ps` = "8" + RPPS).

    `practice_sites` lists the professional's activities as the directory gives them, one dict per
    site: `structure_id`, `name`, `siret`, `siren`, `finess`, `finess_legal`, `address`,
    `postal_code`, `commune_code`, `commune`, `mode_code`, `mode`, `role_code`, `role`, `sector`.
    """

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    kind: AccountKind = Field(sa_type=String(20), index=True)
    username: str = Field(max_length=150, unique=True, description="Sign-in name, lower case")
    given_name: str = Field(max_length=150)
    family_name: str = Field(max_length=150)
    email: str | None = Field(default=None, max_length=254)
    idnat_ps: str | None = Field(default=None, max_length=12, unique=True)
    civility_code: str | None = Field(default=None, max_length=10, description="RPPS 'Code civilité', e.g. M, MME")
    profession_code: str | None = Field(default=None, max_length=10, description="RPPS code, e.g. 10 médecin")
    profession_label: str | None = Field(default=None, max_length=100)
    profession_category: str | None = Field(default=None, max_length=10, description="C civil, M militaire, E étudiant")
    specialty_code: str | None = Field(default=None, max_length=20, description="Savoir-faire, e.g. SM54")
    specialty_label: str | None = Field(default=None, max_length=150)
    practice_sites: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    organisation: str | None = Field(default=None, max_length=200, description="Vendor organisation (its name)")
    siren: str | None = Field(default=None, max_length=9, description="Vendor organisation's SIREN")
    coordination_role: str | None = Field(default=None, max_length=150,
                                          description="A coordination account's role in its organisation")
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UtcDateTime,
                                        description="Last change of identity fields (directory import, admin)")
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disabled_reason: str | None = Field(default=None, max_length=500)

    @property
    def display_name(self) -> str:
        prefix = "Dr " if self.kind == AccountKind.professional and self.profession_code in DOCTOR_PROFESSIONS else ""
        return f"{prefix}{self.given_name} {self.family_name}".strip()

    @property
    def label(self) -> str:
        """How the audit trail names this account."""
        return f"account:{self.id} ({self.display_name})"

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(AccountKind(self.kind), str(self.kind))

    @property
    def rpps(self) -> str | None:
        """The 11-digit RPPS number inside the IdNat_PS."""
        return self.idnat_ps[1:] if self.idnat_ps else None


# --- identifiers -----------------------------------------------------------------------------

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,149}")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits ends with its Luhn key (RPPS, SIREN and SIRET all use it)."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def luhn_key(body: str) -> str:
    """The digit that makes `body + key` Luhn-valid (to build test and demonstration identifiers)."""
    return next(str(key) for key in range(10) if luhn_valid(body + str(key)))


def is_rpps(value: str) -> bool:
    return len(value) == 11 and luhn_valid(value)


def is_idnat_ps(value: str) -> bool:
    """An IdNat_PS of the RPPS kind: "8" + an 11-digit RPPS number with a valid Luhn key."""
    return len(value) == 12 and value.startswith("8") and is_rpps(value[1:])


def is_siren(value: str) -> bool:
    return len(value) == 9 and luhn_valid(value)


def is_siret(value: str) -> bool:
    return len(value) == 14 and luhn_valid(value)


def normalise_username(value: str) -> str:
    """Usernames compare without regard to case or surrounding spaces: store them lower case."""
    return value.strip().lower()


def signin_lookup(identifier: str) -> Any:
    """The query for the account a person means by what they typed at sign-in: their username, or,
    for a professional, their IdNat_PS ("8" + RPPS), whichever account was created."""
    identifier = normalise_username(identifier)
    if is_idnat_ps(identifier):
        # A username never equals another account's IdNat (`create_account` refuses it), so at most one matches.
        return select(Account).where(or_(Account.username == identifier, Account.idnat_ps == identifier))
    return select(Account).where(Account.username == identifier)


def username_problem(value: str) -> str | None:
    """Why this (normalised) username is refused, in French, or None."""
    if not USERNAME_PATTERN.fullmatch(value):
        return ("L'identifiant doit compter de 2 à 150 caractères : lettres minuscules sans accent, "
                "chiffres, point, tiret ou tiret bas, et commencer par une lettre ou un chiffre.")
    return None


def new_account_problems(kind: str, username: str, given_name: str, family_name: str, *,
                         idnat_ps: str = "", siren: str = "", organisation: str = "", profession_code: str = "",
                         specialty_label: str = "", specialty_code: str = "") -> dict[str, str]:
    """The French error of each invalid field of an account about to be created (empty: all good).

    Uniqueness is checked by the caller, who holds the database session.
    """
    problems: dict[str, str] = {}
    if kind not in set(AccountKind):
        problems["kind"] = "Choisissez le type de compte."
    if problem := username_problem(username):
        problems["username"] = problem
    if not given_name.strip():
        problems["given_name"] = "Indiquez le prénom."
    if not family_name.strip():
        problems["family_name"] = "Indiquez le nom."
    if kind == AccountKind.professional and not is_idnat_ps(idnat_ps):
        problems["idnat_ps"] = ("Indiquez l'identifiant national RPPS : 12 chiffres commençant par 8, "
                                "dont le dernier est la clé de contrôle.")
    if kind == AccountKind.professional:
        problems.update(profession_problems(profession_code, specialty_label, specialty_code))
    if kind == AccountKind.coordination and not organisation.strip():
        problems["organisation"] = ("Indiquez l'organisation de la personne (DAC, service social, établissement "
                                    "médico-social…) ; pour un aidant, « Aidant ».")
    if kind == AccountKind.vendor:
        if not organisation.strip():
            problems["organisation"] = "Indiquez le nom de l'organisation."
        if not is_siren(siren):
            problems["siren"] = "Le numéro SIREN doit compter 9 chiffres, dont le dernier est la clé de contrôle."
    return problems


def profession_problems(profession_code: str, specialty_label: str, specialty_code: str,
                        professions: dict[str, str] = PROFESSIONS) -> dict[str, str]:
    """The French error of each invalid field of a professional's profession and specialty (empty: all good).

    `professions` are the codes one may choose (by default `PROFESSIONS`); `specialty_code` is upper case.
    """
    problems: dict[str, str] = {}
    # Access to patient data follows the profession (the DMP's matrix, prevention, pathways): without
    # it, the professional would see empty panels.
    if profession_code not in professions:
        problems["profession_code"] = ("Choisissez la profession : l'accès aux données des patients "
                                       "(DMP, prévention, parcours) en dépend.")
    elif profession_code in SPECIALTY_REQUIRED and not specialty_label.strip():
        problems["specialty_label"] = "Indiquez la spécialité du médecin, par exemple Médecine générale."
    if specialty_code and not SPECIALTY_CODE.fullmatch(specialty_code):
        problems["specialty_code"] = "Le code savoir-faire compte une lettre S, une lettre et 2 chiffres, par exemple SM54."
    return problems


class InvalidAccount(ValueError):
    """Some fields of a new account are invalid; `problems` maps each field to its French error."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def create_account(session: Session, *, kind: str, username: str, given_name: str, family_name: str,
                   email: str | None = None, idnat_ps: str = "", organisation: str = "",
                   siren: str = "", profession_code: str = "", specialty_label: str = "",
                   specialty_code: str = "", coordination_role: str = "") -> Account:
    """Add a new account, without a password, in the caller's transaction.

    Raises `InvalidAccount` (field → French message) for bad or already used values.
    """
    username, idnat_ps, siren = normalise_username(username), idnat_ps.strip(), siren.replace(" ", "")
    specialty_code = specialty_code.strip().upper()
    problems = new_account_problems(kind, username, given_name, family_name, idnat_ps=idnat_ps, siren=siren,
                                    organisation=organisation, profession_code=profession_code,
                                    specialty_label=specialty_label, specialty_code=specialty_code)
    if "username" not in problems and session.exec(select(Account.id).where(Account.username == username)).first():
        problems["username"] = "Cet identifiant est déjà utilisé par un autre compte."
    if "username" not in problems and is_idnat_ps(username) and username != idnat_ps:
        # Professionals sign in with their IdNat: another account must never answer to it.
        problems["username"] = ("Un identifiant de 12 chiffres commençant par 8 est réservé au professionnel "
                                "dont c'est l'identifiant national RPPS.")
    if kind == AccountKind.professional and "idnat_ps" not in problems and session.exec(
            select(Account.id).where(Account.idnat_ps == idnat_ps)).first():
        problems["idnat_ps"] = "Un compte existe déjà pour cet identifiant RPPS."
    if problems:
        raise InvalidAccount(problems)
    account = Account(
        kind=AccountKind(kind), username=username, given_name=given_name.strip(), family_name=family_name.strip(),
        email=(email or "").strip() or None,
        idnat_ps=idnat_ps if kind == AccountKind.professional else None,
        **(_profession(profession_code, specialty_label, specialty_code) if kind == AccountKind.professional else {}),
        organisation=(organisation.strip() or None) if kind in (AccountKind.vendor, AccountKind.coordination) else None,
        siren=siren if kind == AccountKind.vendor else None,
        coordination_role=(coordination_role.strip()[:150] or None) if kind == AccountKind.coordination else None,
    )
    session.add(account)
    session.flush()
    return account


def _profession(code: str, specialty_label: str, specialty_code: str) -> dict[str, Any]:
    return {"profession_code": code, "profession_label": PROFESSIONS[code], "profession_category": "C",
            "specialty_label": specialty_label.strip() or None, "specialty_code": specialty_code or None}


def missing_profession(account: Account | None) -> bool:
    """A professional whose account has no profession: every service that follows the profession shows them nothing."""
    return account is not None and account.kind == AccountKind.professional and not account.profession_code

"""The INS matricule (Identifiant National de Santé) and its assigning authority (OID).

An INS matricule is a NIR (numéro d'inscription au répertoire, INSEE) or a NIA (numéro
identifiant d'attente, given by the CNAV/SANDIA to people born abroad while their NIR is
pending): 13 characters followed by a 2-digit control key.

Structure of the 13 characters (INSEE; service-public.fr « Que signifie le numéro de
sécurité sociale ? »), positions counted from 1:

====  =========  ===================================================================
pos   name       accepted values
====  =========  ===================================================================
1     sex        1, 3, 7 (men) or 2, 4, 8 (women): 1/2 ordinary, 3/4 foreigners being
                 registered, 7/8 provisional numbers. Odd is male, even is female.
2-3   year       00-99, last two digits of the birth year
4-5   month      01-12, or 20-42 / 50-99 when the civil status gave no real month
6-7   dept       01-99, 2A or 2B (Corsica since 1976; 20 remains for earlier births),
                 96-99 for births abroad (99 + the INSEE country code), 97/98 for
                 overseas where the 3rd department digit sits in the commune field
8-10  commune    3 digits (INSEE COG code, or the country code when dept is 99)
11-13 order      3 digits
====  =========  ===================================================================

Key = 97 − (the 13 characters read as an integer, mod 97), with 2A read as 19 and 2B
as 18. The same structure and key rule apply to NIA, so both are checked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "OID_LABELS",
    "OID_NIA",
    "OID_NIR",
    "OID_NIR_DEMO",
    "OID_NIR_TEST",
    "Ins",
    "InsError",
    "nir_key",
    "with_key",
]

OID_NIR = "1.2.250.1.213.1.4.8"
OID_NIA = "1.2.250.1.213.1.4.9"
OID_NIR_TEST = "1.2.250.1.213.1.4.10"
OID_NIR_DEMO = "1.2.250.1.213.1.4.11"

#: Assigning authorities of INS matricules, with the French label shown to users.
OID_LABELS: dict[str, str] = {
    OID_NIR: "NIR",
    OID_NIA: "NIA (numéro identifiant d'attente)",
    OID_NIR_TEST: "NIR de test",
    OID_NIR_DEMO: "NIR de démonstration",
}

_URN_PREFIX = "urn:oid:"
_SEX_DIGITS = frozenset("123478")
_CORSICA = {"2A": "19", "2B": "18"}
# Computable shape only: digits everywhere except 2A/2B at the department.
_COMPUTABLE_13 = re.compile(r"\d{5}(?:\d{2}|2[AB])\d{6}")
_MATRICULE_15 = re.compile(r"[0-9AB]{15}")


class InsError(ValueError):
    """A patient identity value was refused.

    ``field`` names the offending input ("ins", "oid", "birth_date", …), ``code`` is a short
    machine code ("bad_key", "unknown_oid", "bad_format", …) and ``message`` is a French
    sentence that can be shown as is to a health professional.
    """

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        """The error as a JSON-ready mapping: ``{"field", "code", "message"}``."""
        return {"field": self.field, "code": self.code, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(field={self.field!r}, code={self.code!r}, message={self.message!r})"


def _as_number(first13: str) -> int:
    """The 13 characters as the integer the key is computed on (2A→19, 2B→18)."""
    department = first13[5:7]
    digits = first13[:5] + _CORSICA.get(department, department) + first13[7:]
    return int(digits)


def nir_key(first13: str) -> int:
    """The control key (1-97) of a 13-character NIR/NIA.

    Only checks that the key is computable (13 characters, digits, 2A/2B allowed at the
    department); raises InsError(field="ins", code="bad_format") otherwise. Use
    :func:`with_key` to also check the NIR structure.
    """
    if not isinstance(first13, str) or not _COMPUTABLE_13.fullmatch(first13):
        raise InsError(
            "ins",
            "bad_format",
            "Les 13 premiers caractères du NIR doivent être des chiffres "
            "(2A ou 2B admis pour le département).",
        )
    return 97 - _as_number(first13) % 97


def with_key(first13: str) -> str:
    """The 15-character matricule: ``first13`` (structure checked) followed by its key."""
    _check_structure(first13)
    return f"{first13}{nir_key(first13):02d}"


def _check_structure(first13: str) -> None:
    """Raise InsError(field="ins", code="bad_format") unless ``first13`` is a well-formed NIR/NIA body."""
    if len(first13) != 13:
        raise InsError("ins", "bad_format", f"Le NIR doit comporter 13 caractères avant la clé (reçu {len(first13)}).")
    sex, year, month = first13[0], first13[1:3], first13[3:5]
    department, commune, order = first13[5:7], first13[7:10], first13[10:13]
    if sex not in _SEX_DIGITS:
        raise InsError(
            "ins",
            "bad_format",
            f"Le premier chiffre du NIR (sexe) doit être 1, 2, 3, 4, 7 ou 8 (reçu « {sex} »).",
        )
    if not year.isdigit():
        raise InsError("ins", "bad_format",
                       f"L'année de naissance du NIR doit être composée de 2 chiffres (reçu « {year} »).")
    if not (month.isdigit() and (1 <= int(month) <= 12 or 20 <= int(month) <= 42 or int(month) >= 50)):
        raise InsError(
            "ins",
            "bad_format",
            f"Le mois de naissance du NIR doit être compris entre 01 et 12, 20 et 42 ou 50 et 99 (reçu « {month} »).",
        )
    if department not in _CORSICA and not (department.isdigit() and department != "00"):
        raise InsError(
            "ins",
            "bad_format",
            "Le département de naissance du NIR doit être compris entre 01 et 99, "
            f"ou valoir 2A ou 2B (reçu « {department} »).",
        )
    if not commune.isdigit():
        raise InsError("ins", "bad_format",
                       f"Le code commune du NIR doit être composé de 3 chiffres (reçu « {commune} »).")
    if not order.isdigit():
        raise InsError("ins", "bad_format",
                       f"Le numéro d'ordre du NIR doit être composé de 3 chiffres (reçu « {order} »).")


def _normalise_oid(oid: object) -> str:
    """The bare OID, accepting the ``urn:oid:`` form; raises InsError(field="oid")."""
    if oid is None or oid == "":
        raise InsError("oid", "missing", "L'OID de l'autorité d'affectation de l'INS est manquant.")
    if not isinstance(oid, str):
        raise InsError("oid", "wrong_type",
                       "L'OID de l'autorité d'affectation de l'INS doit être une chaîne de caractères.")
    bare = oid.strip()
    if bare.lower().startswith(_URN_PREFIX):
        bare = bare[len(_URN_PREFIX):]
    return bare


def _normalise_matricule(matricule: object) -> str:
    """The matricule without whitespace, in uppercase; raises InsError(field="ins") on a wrong type."""
    if matricule is None or matricule == "":
        raise InsError("ins", "missing", "Le matricule INS est manquant.")
    if not isinstance(matricule, str):
        raise InsError("ins", "wrong_type", "Le matricule INS doit être une chaîne de caractères.")
    return "".join(matricule.split()).upper()


@dataclass(frozen=True, repr=False)
class Ins:
    """A validated INS: 15-character matricule (13 + key) and the OID of its authority.

    Every instance is valid: construction checks the canonical form (no spaces, uppercase
    2A/2B), the structure, the key and the OID. Use :meth:`parse` for user input.
    """

    matricule: str
    oid: str

    def __post_init__(self) -> None:
        if not isinstance(self.oid, str) or self.oid not in OID_LABELS:
            raise InsError(
                "oid",
                "unknown_oid",
                f"L'OID « {self.oid} » n'est pas une autorité d'affectation de l'INS "
                "(attendu : NIR, NIA, NIR de test ou NIR de démonstration).",
            )
        if not isinstance(self.matricule, str):
            raise InsError("ins", "wrong_type", "Le matricule INS doit être une chaîne de caractères.")
        if len(self.matricule) != 15:
            raise InsError(
                "ins",
                "bad_format",
                f"Le matricule INS doit comporter 15 caractères, clé comprise (reçu {len(self.matricule)}).",
            )
        if not _MATRICULE_15.fullmatch(self.matricule):
            raise InsError(
                "ins",
                "bad_format",
                "Le matricule INS ne doit contenir que des chiffres (2A ou 2B admis pour le département).",
            )
        first13, key = self.matricule[:13], self.matricule[13:]
        _check_structure(first13)
        if not key.isdigit():
            raise InsError("ins", "bad_format", f"La clé du NIR doit être composée de 2 chiffres (reçu « {key} »).")
        expected = nir_key(first13)
        if int(key) != expected:
            raise InsError("ins", "bad_key", f"La clé du NIR est incorrecte (attendue {expected:02d}).")

    @classmethod
    def parse(cls, matricule: object, oid: object) -> Ins:
        """Normalise (drop whitespace, uppercase 2a/2b, accept ``urn:oid:``) then validate.

        Raises InsError naming the field ("ins" or "oid") and the reason.
        """
        bare_oid = _normalise_oid(oid)
        return cls(_normalise_matricule(matricule), bare_oid)

    @property
    def kind(self) -> str:
        """"NIA" for a numéro identifiant d'attente, "NIR" otherwise (test and demo NIR included)."""
        return "NIA" if self.oid == OID_NIA else "NIR"

    @property
    def is_test(self) -> bool:
        """True for the test and demonstration authorities (fictitious patients)."""
        return self.oid in (OID_NIR_TEST, OID_NIR_DEMO)

    @property
    def label(self) -> str:
        """French label of the assigning authority."""
        return OID_LABELS[self.oid]

    @property
    def system(self) -> str:
        """The FHIR identifier system, ``urn:oid:<oid>``."""
        return _URN_PREFIX + self.oid

    @property
    def key(self) -> int:
        """The 2-digit control key as an integer."""
        return int(self.matricule[13:])

    @property
    def sex_code(self) -> str:
        """"M" or "F" as encoded by the first digit (odd is male, even is female)."""
        return "M" if int(self.matricule[0]) % 2 else "F"

    @property
    def birth_year_2d(self) -> int:
        """The last two digits of the birth year."""
        return int(self.matricule[1:3])

    @property
    def birth_month(self) -> int | None:
        """The birth month 1-12, or None when the NIR carries a conventional (unknown) month."""
        month = int(self.matricule[3:5])
        return month if month <= 12 else None

    @property
    def department(self) -> str:
        """The 2-character birth department ("75", "2A", "99" for abroad…)."""
        return self.matricule[5:7]

    def __repr__(self) -> str:
        # Reprs end up in logs and tracebacks: never the full identifier.
        return f"Ins({self.kind}, {self.matricule[:1]}…{self.matricule[-2:]})"

    def __str__(self) -> str:
        return self.matricule

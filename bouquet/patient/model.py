"""The patient in context: INS traits, the launch payload, and its FR Core FHIR form.

Name rule (traits INS). The INS traits come from the RNIPP/SNGI through the INSi
teleservice in capitals without diacritics, and the Référentiel national
d'identitovigilance (RNIV, volet 1, saisie des traits stricts) asks that birth name and
first names be kept in unaccented capitals, with hyphen and apostrophe preserved. So a
name is normalised by: Unicode NFKD, dropping combining marks (É→E, Ç→C, Ï→I); Œ→OE,
Æ→AE, Ø→O, Ł→L, Đ→D; typographic apostrophes (’ ‘ ʼ ` ´) → ' and hyphen variants
(‐ ‑ ‒ – −) → -; uppercase; whitespace runs collapsed to one space and trimmed. The result
must hold only A-Z, space, hyphen and apostrophe and at least one letter, else
PatientContextError(code="bad_characters"). The double hyphen of pre-2011 double-barrelled
birth names (DUPONT--DURAND) is kept as is, since the RNIPP still holds it.

First names: a string is the INSi "liste des prénoms", split on spaces; a list keeps each
element as one first name (a composed first name may then contain a space). The first is
the « premier prénom ».
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bouquet.patient.ins import OID_NIR_DEMO, OID_NIR_TEST, Ins, InsError

__all__ = [
    "IDENTITY_STATUSES",
    "INS_NOT_SHARED",
    "MIN_BIRTH_DATE",
    "PatientContext",
    "PatientContextError",
    "PatientTraits",
    "Sex",
    "normalise_name",
]

#: Oldest birth date accepted: anything earlier is a typing error, not a patient.
MIN_BIRTH_DATE = date(1890, 1, 1)
_MAX_NAME_LENGTH = 200
_MAX_REF_LENGTH = 256

_FR_CORE = "https://hl7.fr/ig/fhir/core"
FR_CORE_IDENTIFIER_TYPE_SYSTEM = f"{_FR_CORE}/CodeSystem/fr-core-cs-v2-0203"
FR_CORE_BIRTH_LIST_GIVEN_NAME = f"{_FR_CORE}/StructureDefinition/fr-core-patient-birth-list-given-name"
FR_CORE_ADDRESS_INSEE_CODE = f"{_FR_CORE}/StructureDefinition/fr-core-address-insee-code"
FHIR_BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
INSEE_COMMUNE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"

_NAME_MAP = str.maketrans(
    {
        "Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
        "Đ": "D", "đ": "d", "’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'",
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "−": "-",
    }
)
# French labels of the fields, for messages shown to users.
_LABELS = {
    "birth_name": "nom de naissance", "given_names": "prénoms", "encounter": "venue",
    "document": "document", "source": "origine du contexte",
}
_NAME_OK = re.compile(r"[A-Z' -]*[A-Z][A-Z' -]*")
_BIRTHPLACE = re.compile(r"(?:\d{2}|2[AB])\d{3}")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


#: The identity's status (référentiel national d'identitovigilance, RNIV volet 1): only a « qualifiée »
#: identity lets the INS be shared (matricule + OID); the practice software sends it with the patient.
IDENTITY_STATUSES = {
    "provisoire": "Identité provisoire",
    "recuperee": "Identité récupérée",
    "validee": "Identité validée",
    "qualifiee": "Identité qualifiée",
}
#: Why a feature that needs the INS does without it, in French.
INS_NOT_SHARED = ("L'identité de ce patient n'est pas qualifiée : son INS n'est pas partagé "
                  "(référentiel national d'identitovigilance). Qualifiez l'identité dans votre logiciel.")


class PatientContextError(InsError):
    """A patient context was refused; same ``field`` / ``code`` / French ``message`` as InsError."""


def _fail(field_name: str, code: str, message: str) -> PatientContextError:
    return PatientContextError(field_name, code, message)


class Sex(StrEnum):
    """Sex as carried by the INS traits: M or F (the INSi service returns nothing else)."""

    MALE = "M"
    FEMALE = "F"

    @classmethod
    def parse(cls, value: object) -> Sex:
        """Accept "M"/"F" or the FHIR "male"/"female", any case; raise PatientContextError(field="sex")."""
        if isinstance(value, Sex):
            return value
        if value is None or value == "":
            raise _fail("sex", "missing", "Le sexe est manquant.")
        if not isinstance(value, str):
            raise _fail("sex", "wrong_type", "Le sexe doit être une chaîne de caractères (« M » ou « F »).")
        found = {"m": cls.MALE, "male": cls.MALE, "f": cls.FEMALE, "female": cls.FEMALE}.get(value.strip().lower())
        if found is None:
            raise _fail("sex", "bad_value",
                        f"Le sexe doit valoir « M » ou « F » pour une identité INS (reçu « {value} »).")
        return found

    @property
    def fhir_gender(self) -> str:
        """The FHIR administrative gender: "male" or "female"."""
        return "male" if self is Sex.MALE else "female"


def normalise_name(value: object, field_name: str) -> str:
    """The name in INS form (see the module docstring); raise PatientContextError naming ``field_name``."""
    label = _LABELS.get(field_name, field_name)
    if value is None:
        raise _fail(field_name, "missing", f"Le champ « {label} » est manquant.")
    if not isinstance(value, str):
        raise _fail(field_name, "wrong_type", f"Le champ « {label} » doit être une chaîne de caractères.")
    if len(value) > _MAX_NAME_LENGTH:
        raise _fail(field_name, "too_long", f"Le champ « {label} » dépasse {_MAX_NAME_LENGTH} caractères.")
    decomposed = unicodedata.normalize("NFKD", value.translate(_NAME_MAP))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    name = " ".join(stripped.upper().split())
    if not name:
        raise _fail(field_name, "missing", f"Le champ « {label} » est vide.")
    if not _NAME_OK.fullmatch(name):
        bad = "".join(sorted({c for c in name if not ("A" <= c <= "Z" or c in " -'")}))
        detail = f" (caractères refusés : « {bad} »)" if bad else ""
        raise _fail(field_name, "bad_characters", f"Le champ « {label} » ne peut contenir que des lettres, "
                    f"des espaces, des traits d'union et des apostrophes{detail}.")
    return name


def _given_names(value: object) -> tuple[str, ...]:
    """First names from the INSi space-separated list or a list of strings."""
    if value is None:
        raise _fail("given_names", "missing", "Les prénoms sont manquants.")
    if isinstance(value, str):
        parts: list[object] = list(value.split())
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        raise _fail("given_names", "wrong_type", "Les prénoms doivent être une chaîne ou une liste de chaînes.")
    if not parts:
        raise _fail("given_names", "missing", "Au moins un prénom est requis.")
    return tuple(normalise_name(p, "given_names") for p in parts)


def _parse_birth_date(value: object) -> date:
    """A ``date`` from "YYYY-MM-DD" (or a date); raise PatientContextError(field="birth_date")."""
    if value is None or value == "":
        raise _fail("birth_date", "missing", "La date de naissance est manquante.")
    if isinstance(value, datetime) or not isinstance(value, (str, date)):
        raise _fail("birth_date", "wrong_type", "La date de naissance doit être une chaîne au format AAAA-MM-JJ.")
    if isinstance(value, date):
        return value
    match = _ISO_DATE.fullmatch(value.strip())
    if match is None:
        raise _fail("birth_date", "bad_format",
                    f"La date de naissance doit être au format AAAA-MM-JJ (reçu « {value} »).")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise _fail("birth_date", "impossible_date", f"La date de naissance « {value} » n'existe pas.") from None


def _optional_ref(value: object, field_name: str) -> str | None:
    """An optional reference (encounter, document): None or a non-empty string without control characters."""
    label = _LABELS.get(field_name, field_name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(field_name, "wrong_type", f"Le champ « {label} » doit être une chaîne de caractères.")
    if value == "":
        raise _fail(field_name, "missing", f"Le champ « {label} » est vide.")
    if len(value) > _MAX_REF_LENGTH:
        raise _fail(field_name, "too_long", f"Le champ « {label} » dépasse {_MAX_REF_LENGTH} caractères.")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise _fail(field_name, "bad_characters", f"Le champ « {label} » contient des caractères de contrôle.")
    return value


@dataclass(frozen=True, repr=False)
class PatientTraits:
    """The INS traits. Construction normalises names and sex and checks every static rule.

    ``birthplace`` is the INSEE COG code at the date of birth (5 characters: 2-digit or
    2A/2B department + 3 digits; 99xxx for a birth abroad), or None when unknown. The
    birth date must be on or after :data:`MIN_BIRTH_DATE`; whether it lies in the future
    depends on a clock and is checked by :meth:`PatientContext.from_dict`.
    """

    birth_name: str
    given_names: tuple[str, ...]
    birth_date: date
    sex: Sex
    birthplace: str | None = None

    def __repr__(self) -> str:
        return "PatientTraits(…)"  # reprs reach logs and tracebacks: no names, no birth date

    def __post_init__(self) -> None:
        # Frozen: normalised values are written once, here, so every instance is canonical.
        object.__setattr__(self, "birth_name", normalise_name(self.birth_name, "birth_name"))
        object.__setattr__(self, "given_names", _given_names(self.given_names))
        object.__setattr__(self, "sex", Sex.parse(self.sex))
        if isinstance(self.birth_date, datetime) or not isinstance(self.birth_date, date):
            raise _fail("birth_date", "wrong_type", "La date de naissance doit être une date.")
        if self.birth_date < MIN_BIRTH_DATE:
            raise _fail("birth_date", "too_old", f"La date de naissance {self.birth_date.isoformat()} est "
                        f"antérieure au {MIN_BIRTH_DATE.strftime('%d/%m/%Y')} : vérifiez la saisie.")
        if self.birthplace is not None:
            if not isinstance(self.birthplace, str):
                raise _fail("birthplace", "wrong_type", "Le lieu de naissance doit être une chaîne de caractères.")
            code = self.birthplace.strip().upper()
            if not _BIRTHPLACE.fullmatch(code):
                raise _fail("birthplace", "bad_format", "Le lieu de naissance doit être un code INSEE de 5 caractères "
                            f"(ex. 75056, 2A004, 99350 pour une naissance à l'étranger ; reçu « {self.birthplace} »).")
            object.__setattr__(self, "birthplace", code)

    @property
    def first_given_name(self) -> str:
        """The « premier prénom »."""
        return self.given_names[0]

    @property
    def born_abroad(self) -> bool:
        """True when the birthplace is a country code (99xxx)."""
        return self.birthplace is not None and self.birthplace.startswith("99")


def _check_consistency(ins: Ins, traits: PatientTraits) -> None:
    """Refuse an INS whose sex digit, birth year or real birth month contradicts the traits."""
    born = traits.birth_date.isoformat()
    if ins.sex_code != traits.sex.value:
        encoded = "masculin" if ins.sex_code == "M" else "féminin"
        raise _fail("ins", "traits_mismatch", f"Le matricule INS indique un sexe {encoded}, "
                    f"incompatible avec le sexe « {traits.sex.value} » des traits.")
    if ins.birth_year_2d != traits.birth_date.year % 100:
        raise _fail("ins", "traits_mismatch", f"L'année de naissance du matricule INS ({ins.birth_year_2d:02d}) "
                    f"ne correspond pas à la date de naissance {born}.")
    if ins.birth_month is not None and ins.birth_month != traits.birth_date.month:
        raise _fail("ins", "traits_mismatch", f"Le mois de naissance du matricule INS ({ins.birth_month:02d}) "
                    f"ne correspond pas à la date de naissance {born}.")


@dataclass(frozen=True, repr=False)
class PatientContext:
    """The patient a professional is acting for: a valid INS, consistent traits, optional refs.

    ``source`` says where the context came from (the practice software's client name, or
    "manual"); ``established_at`` is when it was set, timezone-aware, or None.
    """

    ins: Ins
    traits: PatientTraits
    encounter: str | None = None
    document: str | None = None
    source: str = "manual"
    established_at: datetime | None = None
    identity_status: str | None = None
    #: Coded conditions the practice software sent (its problem list): (system, code) pairs, e.g.
    #: ("http://hl7.org/fhir/sid/icd-10", "J44"). Plugins map them (prevention's risk factors).
    conditions: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return f"PatientContext({self.ins!r}, source={self.source!r})"

    def __post_init__(self) -> None:
        if not isinstance(self.ins, Ins):
            raise _fail("ins", "wrong_type", "Le contexte patient exige un INS validé.")
        if not isinstance(self.traits, PatientTraits):
            raise _fail("traits", "wrong_type", "Le contexte patient exige des traits INS validés.")
        _check_consistency(self.ins, self.traits)
        _optional_ref(self.encounter, "encounter")
        _optional_ref(self.document, "document")
        if self.identity_status is not None and self.identity_status not in IDENTITY_STATUSES:
            raise _fail("identity_status", "bad_value", "Le statut de l'identité doit valoir « provisoire », "
                        "« recuperee », « validee » ou « qualifiee » (référentiel national d'identitovigilance).")
        if _optional_ref(self.source, "source") is None:
            raise _fail("source", "missing", "L'origine du contexte patient est manquante.")
        _check_conditions(self.conditions)
        if self.established_at is not None and (
            not isinstance(self.established_at, datetime) or self.established_at.utcoffset() is None
        ):
            raise _fail("established_at", "wrong_type",
                        "L'horodatage du contexte doit être une date-heure avec fuseau horaire.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, today: date | None = None) -> PatientContext:
        """Build a context from the launch API's JSON object, or raise PatientContextError.

        Required keys: ins, oid, birth_name, given_names (string or list), birth_date
        ("YYYY-MM-DD", not after ``today``, default the local date), sex ("M"/"F").
        Optional: birthplace, encounter, document (an empty string counts as absent),
        source (default "manual"), established_at (ISO 8601 with offset). Unknown keys are
        ignored. An InsError from the matricule is re-raised as PatientContextError.
        Callers that know the source or time from a trusted channel should set them with
        ``dataclasses.replace`` rather than trusting the payload.
        """
        if not isinstance(data, Mapping):
            raise _fail("context", "wrong_type", "Le contexte patient doit être un objet JSON.")
        try:
            ins = Ins.parse(data.get("ins"), data.get("oid"))
        except InsError as err:
            raise PatientContextError(err.field, err.code, err.message) from None
        birth_date = _parse_birth_date(data.get("birth_date"))
        if birth_date > (today or date.today()):
            raise _fail("birth_date", "future_date", f"La date de naissance {birth_date.isoformat()} est dans le futur.")
        traits = PatientTraits(
            birth_name=data.get("birth_name"),  # type: ignore[arg-type]  # checked in __post_init__
            given_names=data.get("given_names"),  # type: ignore[arg-type]  # checked in __post_init__
            birth_date=birth_date,
            sex=data.get("sex"),  # type: ignore[arg-type]  # checked in __post_init__
            birthplace=_blank_to_none(data.get("birthplace")),
        )
        return cls(
            ins=ins,
            traits=traits,
            encounter=_blank_to_none(data.get("encounter")),
            document=_blank_to_none(data.get("document")),
            source=_blank_to_none(data.get("source")) or "manual",
            established_at=_parse_established_at(data.get("established_at")),
            identity_status=_identity_status(data.get("identity_status")),
            conditions=_parse_conditions(data.get("conditions")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The launch JSON shape; ``from_dict(ctx.to_dict()) == ctx``. Absent optionals are omitted."""
        traits = self.traits
        out: dict[str, Any] = {
            "ins": self.ins.matricule, "oid": self.ins.oid, "birth_name": traits.birth_name,
            "given_names": list(traits.given_names), "birth_date": traits.birth_date.isoformat(),
            "sex": traits.sex.value, "birthplace": traits.birthplace, "source": self.source,
        }
        optional = {"encounter": self.encounter, "document": self.document,
                    "established_at": self.established_at.isoformat() if self.established_at else None,
                    "identity_status": self.identity_status,
                    "conditions": [{"system": system, "code": code} for system, code in self.conditions] or None}
        return out | {key: value for key, value in optional.items() if value is not None}

    @property
    def ins_shareable(self) -> bool:
        """Whether the INS (matricule + OID) may be shared: only for a qualified identity (RNIV)."""
        return self.identity_status == "qualifiee"

    @property
    def display_name(self) -> str:
        """Birth name then first first name, as the banner shows it: "DUPONT Jean"."""
        return f"{self.traits.birth_name} {self.traits.first_given_name.title()}"

    def age(self, on: date) -> int:
        """Age in whole years on ``on`` (a 29 February birthday counts from 1 March); ValueError before birth."""
        born = self.traits.birth_date
        if on < born:
            raise ValueError("on precedes the birth date")
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    def to_fhir_patient(self, id: str, *, include_ins: bool | None = None) -> dict[str, Any]:  # noqa: A002  # FHIR's own name for it
        """A FHIR R4 Patient dict shaped after FR Core Patient INS.

        identifier: system urn:oid:<oid>, value the matricule, type from fr-core-cs-v2-0203
        (INS-NIR, INS-NIA, INS-NIR-TEST, INS-NIR-DEMO), use "official" ("temp" for a NIA, as
        the profile fixes). name: use "official", family = birth name, given = the premier
        prénom only (the profile allows one) and the full list in the
        fr-core-patient-birth-list-given-name extension. birthPlace: the standard
        patient-birthPlace extension whose Address carries the INSEE code in FR Core's
        fr-core-address-insee-code extension (99xxx for abroad, as FR Core describes);
        omitted when unknown. meta.profile is not claimed. The INS identifier is left out unless
        ``include_ins`` (default: the identity is qualified, ``ins_shareable``).
        """
        ins, traits = self.ins, self.traits
        type_code = {OID_NIR_TEST: "INS-NIR-TEST", OID_NIR_DEMO: "INS-NIR-DEMO"}.get(ins.oid, f"INS-{ins.kind}")
        given_list = {"url": FR_CORE_BIRTH_LIST_GIVEN_NAME, "valueString": " ".join(traits.given_names)}
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": id,
            "identifier": [{
                "use": "temp" if ins.kind == "NIA" else "official",
                "type": {"coding": [{"system": FR_CORE_IDENTIFIER_TYPE_SYSTEM, "code": type_code}]},
                "system": ins.system,
                "value": ins.matricule,
            }],
            "name": [{"extension": [given_list], "use": "official", "family": traits.birth_name,
                      "given": [traits.first_given_name]}],
            "gender": traits.sex.fhir_gender,
            "birthDate": traits.birth_date.isoformat(),
        }
        if not (self.ins_shareable if include_ins is None else include_ins):
            del patient["identifier"]
        if traits.birthplace is not None:
            insee = {"url": FR_CORE_ADDRESS_INSEE_CODE,
                     "valueCoding": {"system": INSEE_COMMUNE_SYSTEM, "code": traits.birthplace}}
            patient["extension"] = [{"url": FHIR_BIRTH_PLACE, "valueAddress": {"extension": [insee]}}]
        return patient


def _identity_status(value: object) -> str | None:
    """The identity status (None when absent; a launch requires it); raise PatientContextError(field="identity_status")."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _fail("identity_status", "wrong_type", "Le statut de l'identité doit être une chaîne de caractères.")
    return value.strip().lower()


MAX_CONDITIONS = 200


def _parse_conditions(value: object) -> tuple[tuple[str, str], ...]:
    """`[{"system": …, "code": …}]` as (system, code) pairs; PatientContextError naming the item at fault."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail("conditions", "wrong_type", "« conditions » doit être une liste de codes {system, code}.")
    pairs = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _fail(f"conditions[{index}]", "wrong_type", "Chaque condition doit être un objet {system, code}.")
        pairs.append((item.get("system"), item.get("code")))
    result = tuple(pairs)
    _check_conditions(result)  # type: ignore[arg-type]
    return result  # type: ignore[return-value]


def _check_conditions(conditions: object) -> None:
    if not isinstance(conditions, tuple):
        raise _fail("conditions", "wrong_type", "« conditions » doit être une liste de codes {system, code}.")
    if len(conditions) > MAX_CONDITIONS:
        raise _fail("conditions", "too_many", f"Au plus {MAX_CONDITIONS} conditions par patient.")
    for index, pair in enumerate(conditions):
        for position, name in enumerate(("system", "code")):
            part = pair[position] if isinstance(pair, tuple) and len(pair) == 2 else None
            if not isinstance(part, str) or not part.strip() or len(part) > 256:
                raise _fail(f"conditions[{index}].{name}", "missing" if not part else "wrong_type",
                            f"Le champ « {name} » de la condition {index + 1} est obligatoire "
                            "(une chaîne d'au plus 256 caractères).")


def _blank_to_none(value: object) -> Any:
    """None for an absent or empty-string optional, the value unchanged otherwise."""
    return None if value is None or value == "" else value


def _parse_established_at(value: object) -> datetime | None:
    """An aware datetime from ISO 8601, or None; raise PatientContextError(field="established_at")."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise _fail("established_at", "wrong_type", "L'horodatage du contexte doit être une chaîne ISO 8601.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail("established_at", "bad_format", f"L'horodatage « {value} » n'est pas au format ISO 8601.") from None
    if parsed.utcoffset() is None:
        raise _fail("established_at", "bad_format", "L'horodatage du contexte doit indiquer son fuseau horaire.")
    return parsed

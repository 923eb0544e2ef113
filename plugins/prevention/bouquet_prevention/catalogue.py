"""The prevention acts Bouquet knows (what can be recorded and what satisfies a rule) and the
conditions rules may target, read from `data/catalogue.yaml`."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bouquet_prevention.errors import RuleFileError, from_validation

__all__ = ["ACT_SYSTEM", "ActDefinition", "Catalogue", "Coding", "default_catalogue", "load_catalogue"]

#: The FHIR code system of Bouquet's act codes (the code is the act code itself).
ACT_SYSTEM = "urn:bouquet:prevention:act"
CATALOGUE_FILE = Path(__file__).parent / "data" / "catalogue.yaml"

_CODE = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"


class Coding(BaseModel):
    """A FHIR coding that means an act."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)


class ActDefinition(BaseModel):
    """One act: its code, the French label shown on screen, its kind and the FHIR codings that mean it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=_CODE)
    label: str = Field(min_length=1, max_length=200)
    kind: Literal["vaccination", "depistage", "bilan"]
    #: The grammatical gender of the label's head noun, for the messages that name the act.
    gender: Literal["f", "m"]
    codings: tuple[Coding, ...] = ()
    #: False for an act a GP does not perform (a mammography): recorded as a result received, with its date.
    performed_in_practice: bool = True

    @property
    def fhir_resource(self) -> str:
        """The FHIR resource that records this act: Immunization for a vaccine, Procedure otherwise."""
        return "Immunization" if self.kind == "vaccination" else "Procedure"


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acts: list[ActDefinition] = Field(min_length=1)
    conditions: dict[str, str] = Field(default_factory=dict)

    @field_validator("conditions")
    @classmethod
    def _condition_codes(cls, value: dict[str, str]) -> dict[str, str]:
        for code, label in value.items():
            if not code or not code.replace("-", "").isalnum() or code != code.lower():
                raise ValueError(f"condition code {code!r} must be lowercase letters, digits and hyphens")
            if not label:
                raise ValueError(f"condition {code!r} has no label")
        return value


class Catalogue:
    """Acts by code and conditions by code; `act_for_coding` maps a FHIR coding back to an act code."""

    def __init__(self, acts: list[ActDefinition], conditions: dict[str, str]) -> None:
        self.acts: dict[str, ActDefinition] = {}
        for act in acts:
            if act.code in self.acts:
                raise ValueError(f"act code {act.code!r} is defined twice")
            self.acts[act.code] = act
        self.conditions = dict(conditions)
        self._by_coding: dict[tuple[str, str], str] = {}
        for act in acts:
            for coding in (Coding(system=ACT_SYSTEM, code=act.code), *act.codings):
                other = self._by_coding.setdefault((coding.system, coding.code), act.code)
                if other != act.code:
                    raise ValueError(f"coding {coding.system}|{coding.code} means both {other!r} and {act.code!r}")

    def act_for_coding(self, system: str | None, code: str | None) -> str | None:
        """The act code a FHIR coding means, or None when Bouquet does not know it."""
        if not system or not code:
            return None
        return self._by_coding.get((system, code))

    def recorded_message(self, act_code: str, performed_on: date, participle: str = "enregistré", *,
                         already: bool = False, received: bool = False) -> str:
        """« Mammographie de dépistage du 03/02/2026 enregistrée. », the participle (masculine
        singular: « enregistré », « supprimé »…) agreeing with the act's label: the one wording of
        every message saying what became of an act (`already`: it was recorded before;
        `received`: the result of an exam done elsewhere, « Résultat reçu : … enregistré »)."""
        act = self.acts.get(act_code)
        feminine = act is not None and act.gender == "f" and not received
        what = f"{self.label(act_code)} du {performed_on.strftime('%d/%m/%Y')}"
        if received:
            what = f"Résultat reçu : {what}"
        agreed = f"{participle}e" if feminine else participle
        return f"{what} était déjà {agreed}." if already else f"{what} {agreed}."

    def label(self, act_code: str) -> str:
        """The French label of an act (the code itself for an unknown one)."""
        act = self.acts.get(act_code)
        return act.label if act else act_code


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    """Read and validate a catalogue file; RuleFileError names the file and field on any problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleFileError(path.name, f"invalid YAML: {exc}") from None
    try:
        parsed = _CatalogueFile.model_validate(raw)
        return Catalogue(parsed.acts, parsed.conditions)
    except ValidationError as exc:
        raise from_validation(path.name, exc) from None
    except ValueError as exc:
        raise RuleFileError(path.name, str(exc)) from None


@cache
def default_catalogue() -> Catalogue:
    """The catalogue shipped with the plugin (read once per process: it is code, not state)."""
    return load_catalogue()

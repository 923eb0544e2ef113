"""What a pathway is: `PathwayDefinition` and its parts, validated data.

A definition is written by a region (YAML, JSON or a Python mapping) and checked in two passes:
`pydantic` checks each field's shape (`PathwayDefinition.model_validate`), then
`check_references` checks what ties fields together (a step's role exists, a step starts after
an existing step, sources are declared…). Both passes name the step and the field at fault.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from bouquet_eparcours.durations import Duration, DurationError

#: INSEE codes of the regions (2016 map) with their names; "FR" offers a pathway everywhere.
REGIONS: dict[str, str] = {
    "FR": "France entière", "01": "Guadeloupe", "02": "Martinique", "03": "Guyane", "04": "La Réunion",
    "06": "Mayotte", "11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté",
    "28": "Normandie", "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire", "53": "Bretagne",
    "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur", "94": "Corse",
}
#: The role every pathway has: the professional who leads the care plan.
COORDINATOR = "coordinator"
#: `start.after` value meaning "from the plan's reference date" (inclusion, hospital discharge…).
INCLUSION = "inclusion"

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_PROFESSION = re.compile(r"\d{2}")
_PUBLISHED = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return Duration.parse(value)
    except DurationError as err:
        raise ValueError(str(err)) from None


#: A duration field: "P3M" in files, a `Duration` in code, "P3M" again when dumped.
IsoDuration = Annotated[Duration, BeforeValidator(_duration), PlainSerializer(str, return_type=str)]
Slug = Annotated[str, Field(pattern=_SLUG)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=2000)]


class _Strict(BaseModel):
    # A misspelt field is an error, not silently ignored: regions learn about it at load time.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SourceReference(_Strict):
    """A recommendation the pathway follows. `verified` says whether its title and date were checked."""

    id: Slug
    title: Text
    publisher: Text
    published: str = Field(description="YYYY, YYYY-MM or YYYY-MM-DD")
    url: str | None = None
    verified: bool
    note: LongText = ""

    @field_validator("published")
    @classmethod
    def _published(cls, value: str) -> str:
        if not _PUBLISHED.fullmatch(value):
            raise ValueError(f"date de publication attendue au format AAAA, AAAA-MM ou AAAA-MM-JJ, reçu « {value} »")
        return value

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("l'adresse de la source doit commencer par https://")
        return value


class RoleDefinition(_Strict):
    """A member of the care team: `professions` lists the RPPS profession codes that may hold it (empty: any).

    `coordination: true` marks a role held by a coordination account instead of a health professional
    (social worker, DAC coordinator, médico-social staff, carer): no RPPS, no clinical step.
    """

    id: Slug
    label: Text
    professions: tuple[str, ...] = ()
    coordination: bool = False
    description: LongText = ""

    def admits(self, account: Any) -> bool:
        """Whether this account's kind and profession may hold the role."""
        if self.coordination:
            return account.kind == "coordination"
        return account.kind == "professional" and (not self.professions or account.profession_code in self.professions)

    @field_validator("professions")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [code for code in value if not _PROFESSION.fullmatch(code)]
        if bad:
            raise ValueError(f"codes de profession RPPS à 2 chiffres attendus (ex. « 10 », « 60 »), reçu {bad}")
        return value


class ChoiceOption(_Strict):
    code: Annotated[str, Field(min_length=1, max_length=40)]
    label: Text


class RecordField(_Strict):
    """What completing a step records: a quantity (with unit and bounds), a date, a note, yes/no or a choice."""

    id: Slug
    label: Text
    kind: Literal["quantity", "date", "text", "boolean", "choice"]
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    options: tuple[ChoiceOption, ...] = ()
    required: bool = False

    @model_validator(mode="after")
    def _by_kind(self) -> RecordField:
        if self.kind != "quantity" and (self.unit is not None or self.min is not None or self.max is not None):
            raise ValueError("unit, min et max ne s'emploient qu'avec kind: quantity")
        if self.kind == "quantity" and self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min:g}) doit être inférieur à max ({self.max:g})")
        if self.kind == "choice":
            if len(self.options) < 2:
                raise ValueError("kind: choice demande au moins deux options (code, label)")
            codes = [option.code for option in self.options]
            if len(set(codes)) != len(codes):
                raise ValueError("les codes des options doivent être uniques")
        elif self.options:
            raise ValueError("options ne s'emploie qu'avec kind: choice")
        return self


class StepStart(_Strict):
    """When the first occurrence is due: `offset` after the reference date or after another step is done."""

    after: Slug = INCLUSION
    offset: IsoDuration = Duration()


class Recurrence(_Strict):
    """Completing an occurrence schedules the next one `every` later, up to `count` occurrences if given."""

    every: IsoDuration
    count: Annotated[int, Field(ge=2, le=1000)] | None = None

    @field_validator("every")
    @classmethod
    def _not_zero(cls, value: Duration) -> Duration:
        if value.is_zero:
            raise ValueError("la période d'une récurrence ne peut pas être nulle")
        return value


class StepSource(_Strict):
    """Which declared source a step follows, what it says (`detail`), and whether that was checked."""

    ref: Slug
    detail: LongText = ""
    verified: bool = False


class StepDefinition(_Strict):
    """One step of the pathway: who does it, when, how often, and what doing it records."""

    id: Slug
    title: Text
    description: LongText = ""
    role: Slug
    start: StepStart = StepStart()
    window: IsoDuration | None = Field(default=None, description="Tolerance after the due date before it is overdue")
    recurrence: Recurrence | None = None
    required: bool = True
    records: tuple[RecordField, ...] = ()
    source: StepSource | None = None

    @field_validator("records")
    @classmethod
    def _unique_records(cls, value: tuple[RecordField, ...]) -> tuple[RecordField, ...]:
        ids = [field.id for field in value]
        if len(set(ids)) != len(ids):
            raise ValueError("les identifiants des valeurs recueillies (records[].id) doivent être uniques")
        return value


class PpcsObjective(_Strict):
    """An objective the pathway sets in its personalised coordination plan, with the actor's domain."""

    title: Text
    domain: Literal["sante", "social", "medico-social"] = "sante"
    actions: tuple[Text, ...] = ()


#: The four dimensions of the PPCS's global assessment.
PPCS_ASSESSMENT: dict[str, str] = {"medical": "Médicale", "psychological": "Psychologique", "social": "Sociale",
                                   "environmental": "Environnementale"}


class PpcsTemplate(_Strict):
    """What a pathway already knows of the HAS personalised coordination plan (PPCS); the team completes the rest."""

    problems: tuple[Text, ...] = ()
    objectives: tuple[PpcsObjective, ...] = ()
    reevaluation: IsoDuration | None = None  # re-evaluation this long after the reference date

    def start(self, reference_date: Any) -> dict[str, Any]:
        """The PPCS a new plan starts with (ppcs.py describes its shape)."""
        reevaluation = self.reevaluation.after(reference_date) if self.reevaluation else None
        return {"referent_id": None, "assessment": dict.fromkeys(PPCS_ASSESSMENT, ""), "project": "", "preferences": "",
                "problems": list(self.problems),
                "objectives": [{"title": o.title, "domain": o.domain, "actions": list(o.actions)} for o in self.objectives],
                "follow_up": "", "reevaluation_on": reevaluation.isoformat() if reevaluation else ""}


class PathwayDefinition(_Strict):
    """A care pathway offered in some regions: its care team roles and its steps."""

    id: Slug
    version: Annotated[str, Field(min_length=1, max_length=40)]
    title: Text
    description: LongText = ""
    regions: Annotated[tuple[str, ...], Field(min_length=1)]
    reference_date_label: Text = "Date d'inclusion"
    sources: tuple[SourceReference, ...] = ()
    roles: Annotated[tuple[RoleDefinition, ...], Field(min_length=1)]
    steps: Annotated[tuple[StepDefinition, ...], Field(min_length=1)]
    ppcs: PpcsTemplate = PpcsTemplate()

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if code not in REGIONS]
        if unknown:
            raise ValueError(f"codes INSEE de région inconnus : {unknown} (ex. « 84 » Auvergne-Rhône-Alpes, « FR »)")
        return value

    def role(self, role_id: str) -> RoleDefinition | None:
        return next((role for role in self.roles if role.id == role_id), None)

    def step(self, step_id: str) -> StepDefinition | None:
        return next((step for step in self.steps if step.id == step_id), None)

    def source(self, source_id: str) -> SourceReference | None:
        return next((source for source in self.sources if source.id == source_id), None)

    @property
    def region_names(self) -> list[str]:
        return [REGIONS[code] for code in self.regions]


def check_references(definition: PathwayDefinition) -> list[tuple[str | None, str, str]]:
    """What ties the fields together, as (step id or None, field, French message); empty when sound."""
    problems: list[tuple[str | None, str, str]] = []
    for kind, items in (("roles", definition.roles), ("steps", definition.steps), ("sources", definition.sources)):
        ids = [item.id for item in items]
        for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append((None, kind, f"identifiant « {duplicate} » en double"))
    if definition.role(COORDINATOR) is None:
        problems.append((None, "roles", f"le rôle « {COORDINATOR} » (coordinateur du parcours) est obligatoire"))
    for step in definition.steps:
        if definition.role(step.role) is None:
            problems.append((step.id, "role", f"rôle « {step.role} » non déclaré dans roles"))
        after = step.start.after
        if after != INCLUSION and definition.step(after) is None:
            problems.append((step.id, "start.after", f"étape « {after} » inconnue (ou « {INCLUSION} »)"))
        if step.source is not None and definition.source(step.source.ref) is None:
            problems.append((step.id, "source.ref", f"source « {step.source.ref} » non déclarée dans sources"))
    problems += [(step_id, "start.after", "les étapes dépendent les unes des autres en boucle")
                 for step_id in _cycles(definition)]
    return problems


def _cycles(definition: PathwayDefinition) -> list[str]:
    """Steps whose chain of `start.after` never reaches the inclusion."""
    looping = []
    for step in definition.steps:
        seen, current = set(), step
        while current is not None and current.start.after != INCLUSION and current.id not in seen:
            seen.add(current.id)
            current = definition.step(current.start.after)
        if current is not None and current.id in seen:
            looping.append(step.id)
    return looping

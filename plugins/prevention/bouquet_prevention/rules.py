"""A prevention rule as data: who it concerns, when the act is due, what satisfies it, where it comes from.

Rules are written in YAML (see `data/rules/` and the plugin's README) and validated here with
pydantic; `rulesets.py` reads the files and merges what other plugins contribute. Ages are
given in years and/or months (`65`, `{years: 1, months: 6}`, `{months: 6}`); an upper age
bound is exclusive: `max: 75` means "up to 74 ans révolus", the day before the 75th birthday.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bouquet_prevention.dates import add_months, month_day


def _valid_month_day(value: str) -> str:
    month_day(value)  # raises ValueError on anything but a real "MM-DD"
    return value


#: A day of the year, "MM-DD" (a campaign's or a season's first or last day).
MonthDay = Annotated[str, AfterValidator(_valid_month_day)]

__all__ = [
    "SCHEDULE_KINDS", "Age", "ActRequirement", "DuringPregnancy", "Exclusion", "FixedAges", "Once", "Population",
    "Recurring", "Rule",
    "RuleWithdrawal", "Schedule", "Seasonal", "Source", "Window", "Windows", "Wording",
]

_ID = r"^[a-z0-9][a-z0-9-]{1,79}$"
_VERSION = re.compile(r"^\d{4}\.\d+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Age(_Strict):
    """An age as years and months; `65` is read as `{years: 65}`."""

    years: int = Field(default=0, ge=0, le=130)
    months: int = Field(default=0, ge=0, le=1560)

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: Any) -> Any:
        return {"years": value} if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    def reached(self, birth: date) -> date:
        """The day someone born on `birth` reaches this age."""
        return add_months(birth, self.total_months)

    def __str__(self) -> str:
        if self.months and self.years:
            return f"{self.years} ans et {self.months} mois"
        return f"{self.months} mois" if self.months else f"{self.years} ans"


class AgeRange(_Strict):
    """`min` inclusive, `max` exclusive (the day of that birthday the person leaves the range)."""

    min: Age | None = None
    max: Age | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min is not None and self.max is not None and self.max.total_months <= self.min.total_months:
            raise ValueError("max must be greater than min")
        return self


class Conditions(_Strict):
    """Conditions the patient must have (at least one of `any_of`) or must not have (`none_of`)."""

    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()


class Population(_Strict):
    """Who the rule concerns: an age range, a sex (F, M or both), conditions, and birth-date bounds
    (`born_from` inclusive, `born_before` exclusive: « toute personne née depuis 1980 »)."""

    age: AgeRange = AgeRange()
    sex: Literal["F", "M"] | None = None
    conditions: Conditions = Conditions()
    born_from: date | None = None
    born_before: date | None = None

    @model_validator(mode="after")
    def _born(self) -> Population:
        if self.born_from is not None and self.born_before is not None and self.born_before <= self.born_from:
            raise ValueError("born_before must come after born_from")
        return self


class Exclusion(_Strict):
    """An act of another code that takes the patient out of the rule for `within_months` after it
    (a colonoscopy for colorectal screening): the rule is « done » until then, and says why."""

    act: str
    within_months: int = Field(ge=1, le=240)
    unsourced: str | None = Field(default=None, description="Why the window is not from the source, if it is not")


class LateStart(_Strict):
    """A different series for someone who starts it late (e.g. HPV: 3 doses from 15)."""

    from_age: Age
    doses: int = Field(ge=1, le=6)
    dose_intervals_months: tuple[int, ...] = ()
    min_dose_intervals_months: tuple[int, ...] | None = None

    @model_validator(mode="after")
    def _intervals(self) -> LateStart:
        _check_intervals(self.doses, self.dose_intervals_months, "late_start.dose_intervals_months")
        if self.min_dose_intervals_months is not None:
            _check_intervals(self.doses, self.min_dose_intervals_months, "late_start.min_dose_intervals_months")
        return self


class Once(_Strict):
    """One act (possibly a series of doses) from the start of the population's age range.

    Due from then; overdue from `overdue_from` (an age) or `grace_months` after becoming due, if
    either is given, else due for as long as the patient is in the population. A series started
    at or after `late_start.from_age` needs `late_start.doses` instead.

    `dose_intervals_months` is when the next dose is recommended; `min_dose_intervals_months` the
    least interval for a dose to count (a dose given sooner does not: « schéma incomplet »);
    `max_dose_intervals_months` the longest (Shingrix: 6 months): once it has passed without the
    next dose, the series is « schéma incomplet » and the next dose overdue; a dose given later
    still counts and is reported as given late.
    """

    kind: Literal["once"]
    doses: int = Field(default=1, ge=1, le=6)
    dose_intervals_months: tuple[int, ...] = ()
    min_dose_intervals_months: tuple[int, ...] | None = None
    max_dose_intervals_months: tuple[int, ...] | None = None
    overdue_from: Age | None = None
    grace_months: int | None = Field(default=None, ge=0, le=240)
    late_start: LateStart | None = None
    counts_from: Age | None = None

    @model_validator(mode="after")
    def _intervals(self) -> Once:
        _check_intervals(self.doses, self.dose_intervals_months, "dose_intervals_months")
        if self.min_dose_intervals_months is not None:
            _check_intervals(self.doses, self.min_dose_intervals_months, "min_dose_intervals_months")
        if self.max_dose_intervals_months is not None:
            _check_intervals(self.doses, self.max_dose_intervals_months, "max_dose_intervals_months")
            shortest = self.min_dose_intervals_months or self.dose_intervals_months
            if any(most < least for most, least in zip(self.max_dose_intervals_months, shortest, strict=False)):
                raise ValueError("max_dose_intervals_months must not be shorter than the recommended "
                                 "or least intervals")
        if self.overdue_from is not None and self.grace_months is not None:
            raise ValueError("give overdue_from or grace_months, not both")
        return self


class FixedAges(_Strict):
    """Appointments at fixed ages (25, 45, 65…), then every `then_every_years` after the last.

    An act in the `covers_before_years` before an appointment (or after it) covers it; the
    appointment is due from the birthday, overdue `grace_months` later.
    """

    kind: Literal["fixed_ages"]
    ages: tuple[int, ...] = Field(min_length=1)
    then_every_years: int | None = Field(default=None, ge=1, le=50)
    covers_before_years: int = Field(default=0, ge=0, le=20)
    grace_months: int | None = Field(default=None, ge=0, le=240)

    @field_validator("ages")
    @classmethod
    def _ascending(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(b <= a for a, b in zip(value, value[1:], strict=False)) or value[0] < 0:
            raise ValueError("ages must be positive and strictly increasing")
        return value


class Recurring(_Strict):
    """An act repeated while in the population: the n-th interval follows the n-th act, the last repeats.

    `intervals_months: [12, 36]` is "a second act a year after the first, then every 3 years".
    Due from the start of the age range (or when the interval has run out), overdue after `grace_months`.
    """

    kind: Literal["recurring"]
    intervals_months: tuple[int, ...] = Field(min_length=1)
    grace_months: int | None = Field(default=None, ge=0, le=240)

    @field_validator("intervals_months")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(months < 1 for months in value):
            raise ValueError("intervals must be at least one month")
        return value


class Window(_Strict):
    """An age window: `from_age` inclusive, `to_age` exclusive."""

    from_age: Age
    to_age: Age

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.to_age.total_months <= self.from_age.total_months:
            raise ValueError("to_age must be greater than from_age")
        return self


class Windows(_Strict):
    """One act in each of several age windows (e.g. Mon bilan prévention); due while in a window without one."""

    kind: Literal["windows"]
    windows: tuple[Window, ...] = Field(min_length=1)

    @field_validator("windows")
    @classmethod
    def _disjoint(cls, value: tuple[Window, ...]) -> tuple[Window, ...]:
        for earlier, later in zip(value, value[1:], strict=False):
            if later.from_age.total_months < earlier.to_age.total_months:
                raise ValueError("windows must be in order and must not overlap")
        return value


class Seasonal(_Strict):
    """Once per season (influenza). Seasons start on `season_start`; the act is due during the
    campaign (`campaign_start` to `campaign_end` inclusive, which may cross the new year) and
    upcoming outside it. Dates are "MM-DD". With `campaign` (a name of `data/seasons/`), a
    season that has a file uses its real dates (an extension to 28 February…); the MM-DD dates
    are used for seasons without one. `min_interval_months`: the least interval after the last
    dose (COVID-19: 6 months in autumn, 3 in spring); until then the act is upcoming, not due."""

    kind: Literal["seasonal"]
    season_start: MonthDay
    campaign_start: MonthDay
    campaign_end: MonthDay
    campaign: str | None = Field(default=None, pattern=_ID)
    season_end: MonthDay | None = Field(default=None, description="Last day of a season shorter than a year (spring)")
    min_interval_months: int | None = Field(default=None, ge=1, le=24)

    @model_validator(mode="after")
    def _campaign_in_season(self) -> Seasonal:
        # Days from the season's first day, in a common year: the campaign must run forward within one season.
        first = date(2001, *month_day(self.season_start))

        def offset(text: str) -> int:
            return (date(2001, *month_day(text)) - first).days % 365

        if offset(self.campaign_end) < offset(self.campaign_start):
            raise ValueError("campaign_end must come after campaign_start within one season")
        if self.season_end is not None and offset(self.season_end) < offset(self.campaign_end):
            raise ValueError("season_end must come after campaign_end")
        return self


class DuringPregnancy(_Strict):
    """One act during each pregnancy, from `from_weeks` weeks of amenorrhoea (SA) inclusive to
    `to_weeks` exclusive (`32` to `37`: from 32 SA + 0 d to 36 SA + 6 d), counted from the
    pregnancy's start (see `pregnancy.py`: SA = weeks since the start + 2). With `campaign_start`
    and `campaign_end` ("MM-DD", crossing the new year if need be), only on the campaign's days
    (maternal RSV: September to January); `campaign` names the season files of `data/seasons/`
    that give a season's real dates. An act from the pregnancy's start counts (not one of an
    earlier pregnancy). Without the term the outcome is upcoming and says it is unknown; when the
    weeks fall outside the campaign, or have passed without the act, the rule no longer applies to
    this pregnancy and says why (`Outcome.reason`)."""

    kind: Literal["pregnancy"]
    from_weeks: int = Field(ge=0, le=42)
    to_weeks: int = Field(ge=1, le=43)
    campaign_start: MonthDay | None = None
    campaign_end: MonthDay | None = None
    campaign: str | None = Field(default=None, pattern=_ID)

    @model_validator(mode="after")
    def _consistent(self) -> DuringPregnancy:
        if self.to_weeks <= self.from_weeks:
            raise ValueError("to_weeks must be greater than from_weeks")
        if (self.campaign_start is None) != (self.campaign_end is None):
            raise ValueError("give both campaign_start and campaign_end, or neither")
        if self.campaign is not None and self.campaign_start is None:
            raise ValueError("a campaign needs campaign_start and campaign_end (its default dates)")
        if self.campaign_start is not None and self.campaign_start == self.campaign_end:
            raise ValueError("campaign_end must differ from campaign_start")
        return self


Schedule = Annotated[Once | FixedAges | Recurring | Windows | Seasonal | DuringPregnancy, Field(discriminator="kind")]
SCHEDULE_KINDS = frozenset({"once", "fixed_ages", "recurring", "windows", "seasonal", "pregnancy"})


class ActRequirement(_Strict):
    """An act that satisfies a rule; `interval_months` overrides a recurring rule's interval after it."""

    act: str
    interval_months: int | None = Field(default=None, ge=1, le=240)

    @model_validator(mode="before")
    @classmethod
    def _from_code(cls, value: Any) -> Any:
        return {"act": value} if isinstance(value, str) else value


class Source(_Strict):
    """The official document a rule comes from: its title, publisher, date and URL. A URL that
    could not be found is left out and `not_found` says so (never invented)."""

    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    year: int | None = Field(default=None, ge=1990, le=2100)
    date: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    section: str | None = None
    not_found: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _year_from_date(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("year") is None and isinstance(value.get("date"), str):
            return {**value, "year": int(value["date"][:4])} if value["date"][:4].isdigit() else value
        return value

    @model_validator(mode="after")
    def _url_or_why(self) -> Source:
        if self.url is None and not self.not_found:
            raise ValueError("a source without url must say why in not_found")
        return self

    @property
    def label(self) -> str:
        """"Title, publisher, year" as a card shows it."""
        return f"{self.title}, {self.publisher}, {self.year}" if self.year else f"{self.title}, {self.publisher}"


class Wording(_Strict):
    """What the professional reads: a one-line summary and an optional detail (French)."""

    summary: str = Field(min_length=1, max_length=100)
    detail: str = ""


class Rule(_Strict):
    """A versioned prevention rule (see the module docstring and the plugin's README)."""

    id: str = Field(pattern=_ID)
    version: str
    title: str = Field(min_length=1, max_length=200)
    category: Literal["vaccination", "depistage", "bilan"]
    population: Population = Population()
    schedule: Schedule
    satisfied_by: tuple[ActRequirement, ...] = Field(min_length=1)
    exclusions: tuple[Exclusion, ...] = ()
    wording: Wording
    sources: tuple[Source, ...] = Field(min_length=1)
    verified: str = Field(min_length=1, description="What was checked against the sources, and what was not")

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("version must look like YYYY.N (e.g. 2025.1)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        codes = [requirement.act for requirement in self.satisfied_by]
        if len(set(codes)) != len(codes):
            raise ValueError("an act is listed twice in satisfied_by")
        if not isinstance(self.schedule, Recurring) and any(r.interval_months for r in self.satisfied_by):
            raise ValueError("interval_months in satisfied_by only applies to recurring schedules")
        if self.sources[0].url is None:
            raise ValueError("the first source (the reference shown to professionals) needs a url")
        if isinstance(self.schedule, DuringPregnancy) and self.population.conditions.any_of != ("grossesse",):
            raise ValueError("a pregnancy schedule concerns pregnant women: population.conditions.any_of "
                             "must be [grossesse]")
        if isinstance(self.schedule, FixedAges | Windows) and self.population.age.max is not None:
            raise ValueError(f"a {self.schedule.kind} schedule bounds ages itself: leave population.age.max out")
        return self

    @property
    def source(self) -> Source:
        """The primary reference (the first source)."""
        return self.sources[0]


class RuleWithdrawal(_Strict):
    """What a plugin returns to remove a rule by id (`{"withdraw": "grippe-65-ans", "reason": "…"}`)."""

    withdraw: str = Field(pattern=_ID)
    reason: str = Field(min_length=1)


def _check_intervals(doses: int, intervals: tuple[int, ...], name: str) -> None:
    if len(intervals) != doses - 1:
        raise ValueError(f"{name} needs {doses - 1} interval(s) for {doses} dose(s)")
    if any(months < 0 for months in intervals):
        raise ValueError(f"{name} must not be negative")


"""The rule engine: for one patient, their history of acts and an evaluation date, where each rule stands.

Pure Python and deterministic: the same rule set, patient, acts and date always give the same
outcomes; acts dated after the evaluation date are ignored. Each rule yields one `Outcome`:

- ``due`` (since a date), ``overdue`` (since the date it became overdue),
- ``upcoming`` (on a date: the patient enters the population or the next dose or season comes,
  within `horizon_months` for someone not yet in the population),
- ``done`` (until the date the next act is due; ``until=None`` means for good),
- ``not_applicable`` (sex, conditions or age put the patient outside the rule, now and within
  the horizon).

Rules are compiled once per rule set (`Engine(ruleset)`); evaluating a patient then costs a few
microseconds per rule, so that a list of 10,000 patients is evaluated in about a second.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bouquet_prevention.dates import add_months, add_years, month_day
from bouquet_prevention.pregnancy import day_at, gestational_age, over_on
from bouquet_prevention.rules import DuringPregnancy, FixedAges, Once, Recurring, Rule, Seasonal, Windows
from bouquet_prevention.rulesets import RuleSet

__all__ = ["MISSED", "OUTSIDE_CAMPAIGN", "TERM_UNKNOWN", "Act", "Engine", "Outcome", "PatientFacts", "Status",
           "index_acts"]

#: Why a pregnancy rule says what it says (`Outcome.reason`; French in `wording.py`).
TERM_UNKNOWN = "term_unknown"          # upcoming, no date: the pregnancy's term is needed
OUTSIDE_CAMPAIGN = "outside_campaign"  # not applicable: the weeks fall outside the campaign
MISSED = "missed"                      # not applicable: the weeks (in the campaign) passed without the act


class Status(StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """What the rules need to know about a patient: birth date, sex ("F", "M" or None), conditions,
    and the start of the current pregnancy when its term is known (`pregnancy.py`: « date de début de
    grossesse »; None with `grossesse` in the conditions: the term is unknown)."""

    birth_date: date
    sex: str | None = None
    conditions: frozenset[str] = frozenset()
    pregnancy_start: date | None = None


@dataclass(frozen=True, slots=True)
class Act:
    """One act of the patient's history: its code (see the catalogue) and the day it was performed."""

    code: str
    performed_on: date


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where one rule stands. Only the date that fits the status is set: `since` for due and
    overdue, `when` for upcoming, `until` for done. `last` is the last act that counted;
    `doses` is (given, needed) for a series of several doses."""

    rule: Rule
    status: Status
    since: date | None = None
    when: date | None = None
    until: date | None = None
    last: date | None = None
    doses: tuple[int, int] | None = None
    #: « schéma incomplet »: doses were given too close together to count (their dates).
    too_soon: tuple[date, ...] = ()
    #: The act that takes the patient out of the rule for a while (a colonoscopy), when one does.
    excluded_by: str | None = None
    #: « schéma incomplet »: the last day the next dose could be given (the longest interval after
    #: the last dose) has passed without it; the next dose is overdue since the day after.
    lapsed: date | None = None
    #: Doses given after the longest interval from the one before (they count; said as late).
    late: tuple[date, ...] = ()
    #: The longest interval, in months, that `lapsed` and `late` refer to.
    max_months: int | None = None
    #: A pregnancy rule: why (TERM_UNKNOWN, OUTSIDE_CAMPAIGN, MISSED), the last day the act is
    #: recommended, and the weeks of amenorrhoea on the evaluation day.
    reason: str | None = None
    deadline: date | None = None
    gestation: tuple[int, int] | None = None

    @property
    def incomplete(self) -> bool:
        """A series with a dose that did not count (given too soon after the one before), or whose
        next dose was not given within the longest interval."""
        return bool(self.too_soon) or self.lapsed is not None

    @property
    def actionable(self) -> bool:
        """Due or overdue: something should be done now."""
        return self.status in (Status.DUE, Status.OVERDUE)


ActIndex = dict[str, list[date]]
#: A seasonal schedule's season start, campaign start and campaign end as (month, day).
Season = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
#: Real campaign dates by campaign name: (first day, last day) of each season that has a file.
Campaigns = Mapping[str, Sequence[tuple[date, date]]]


def index_acts(acts: Iterable[Act]) -> ActIndex:
    """Acts grouped by code, each list sorted by date (what `Engine.evaluate` reads)."""
    index: ActIndex = {}
    for act in acts:
        index.setdefault(act.code, []).append(act.performed_on)
    for dates in index.values():
        dates.sort()
    return index


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    codes: tuple[str, ...]
    overrides: dict[str, int]
    sex: str | None
    any_of: frozenset[str]
    none_of: frozenset[str]
    min_months: int
    max_months: int | None
    not_applicable: Outcome  # shared: most rules do not apply to most patients
    season: Season | None  # parsed once
    campaigns: tuple[tuple[date, date], ...] = ()  # this rule's campaign's real dates, by season


class Engine:
    """Evaluates one rule set. Build it once (it compiles the rules) and call `evaluate` per patient."""

    def __init__(self, ruleset: RuleSet | Sequence[Rule], *, horizon_months: int = 12,
                 campaigns: Campaigns | None = None) -> None:
        self.horizon_months = horizon_months
        self._rules = [_compile(rule, campaigns or {}) for rule in ruleset]

    def evaluate(self, patient: PatientFacts, acts: Iterable[Act] | ActIndex, on: date) -> list[Outcome]:
        """One Outcome per rule, in the rule set's order, as of `on`."""
        index = acts if isinstance(acts, dict) else index_acts(acts)
        horizon = add_months(on, self.horizon_months)
        birthdays: dict[int, date] = {}  # rules share age bounds: compute each anniversary once
        return [self._one(compiled, patient, index, on, horizon, birthdays) for compiled in self._rules]

    def _one(self, c: _Compiled, patient: PatientFacts, index: ActIndex, on: date, horizon: date,
             birthdays: dict[int, date]) -> Outcome:
        rule = c.rule
        if c.sex is not None and patient.sex != c.sex:
            return c.not_applicable
        if (c.any_of and not (c.any_of & patient.conditions)) or (c.none_of & patient.conditions):
            return c.not_applicable
        birth = patient.birth_date
        if on < birth:
            return c.not_applicable
        born = rule.population
        if (born.born_from is not None and birth < born.born_from) or (
                born.born_before is not None and birth >= born.born_before):
            return c.not_applicable
        if rule.exclusions and (excluded := _excluded(rule, index, on)) is not None:
            return excluded
        end = _reached(birthdays, birth, c.max_months) if c.max_months is not None else None
        if end is not None and on >= end:
            return c.not_applicable
        start = _reached(birthdays, birth, c.min_months)
        schedule = rule.schedule
        if isinstance(schedule, Recurring):
            return _recurring(c, schedule, _dated_codes(c, index, on), start, end, on, horizon)
        dates = _dates(c, index, on)
        if isinstance(schedule, DuringPregnancy):
            return _pregnancy(c, schedule, patient.pregnancy_start, dates, on)
        if isinstance(schedule, Once):
            return _once(rule, schedule, birth, dates, start, on, horizon)
        if isinstance(schedule, FixedAges):
            return _fixed_ages(rule, schedule, birth, dates, on, horizon)
        if isinstance(schedule, Windows):
            return _windows(rule, schedule, birth, dates, on, horizon)
        return _seasonal(rule, c.season, dates, start, on, horizon, c.campaigns,  # type: ignore[arg-type]
                         month_day(schedule.season_end) if schedule.season_end else None,
                         schedule.min_interval_months)


def _excluded(rule: Rule, index: ActIndex, on: date) -> Outcome | None:
    """Done until the end of the latest exclusion window still open on `on` (a recent colonoscopy)."""
    latest: tuple[date, date, str] | None = None
    for exclusion in rule.exclusions:
        dates = index.get(exclusion.act)
        if not dates:
            continue
        performed = dates[:bisect_right(dates, on)]
        if performed and (until := add_months(performed[-1], exclusion.within_months)) > on:
            if latest is None or until > latest[0]:
                latest = (until, performed[-1], exclusion.act)
    if latest is None:
        return None
    return Outcome(rule, Status.DONE, until=latest[0], last=latest[1], excluded_by=latest[2])


def _compile(rule: Rule, campaigns: Campaigns) -> _Compiled:
    age = rule.population.age
    schedule = rule.schedule
    season = None
    if isinstance(schedule, Seasonal):
        season = (month_day(schedule.season_start), month_day(schedule.campaign_start),
                  month_day(schedule.campaign_end))
    elif isinstance(schedule, DuringPregnancy) and schedule.campaign_start and schedule.campaign_end:
        # A season runs from the day after one campaign's end to the next campaign's end.
        ends = month_day(schedule.campaign_end)
        after = date(2001, *ends) + timedelta(days=1)
        season = ((after.month, after.day), month_day(schedule.campaign_start), ends)
    return _Compiled(
        rule=rule,
        codes=tuple(requirement.act for requirement in rule.satisfied_by),
        overrides={r.act: r.interval_months for r in rule.satisfied_by if r.interval_months is not None},
        sex=rule.population.sex,
        any_of=frozenset(rule.population.conditions.any_of),
        none_of=frozenset(rule.population.conditions.none_of),
        min_months=age.min.total_months if age.min else 0,
        max_months=age.max.total_months if age.max else None,
        not_applicable=Outcome(rule, Status.NOT_APPLICABLE),
        season=season,
        campaigns=tuple(sorted(campaigns.get(schedule.campaign, ()))) if isinstance(schedule, Seasonal | DuringPregnancy)
        and schedule.campaign else (),
    )


def _reached(birthdays: dict[int, date], birth: date, months: int) -> date:
    """The day someone born on `birth` is `months` old, memoised for one patient's evaluation."""
    day = birthdays.get(months)
    if day is None:
        day = birthdays[months] = add_months(birth, months)
    return day


def _dates(c: _Compiled, index: ActIndex, on: date) -> list[date]:
    """The dates of the rule's acts up to `on`, sorted."""
    if len(c.codes) == 1:
        dates = index.get(c.codes[0])
        return dates[:bisect_right(dates, on)] if dates else []
    merged = [d for code in c.codes for d in index.get(code, ()) if d <= on]
    merged.sort()
    return merged


def _dated_codes(c: _Compiled, index: ActIndex, on: date) -> list[tuple[date, str]]:
    merged = [(d, code) for code in c.codes for d in index.get(code, ()) if d <= on]
    merged.sort()
    return merged


def _not_yet(rule: Rule, when: date, horizon: date) -> Outcome:
    """Before the patient enters the rule: upcoming if it happens within the horizon."""
    return Outcome(rule, Status.UPCOMING, when=when) if when <= horizon else Outcome(rule, Status.NOT_APPLICABLE)


def _due(rule: Rule, since: date, overdue_at: date | None, on: date, **extra: object) -> Outcome:
    if overdue_at is not None and on >= overdue_at:
        return Outcome(rule, Status.OVERDUE, since=overdue_at, **extra)  # type: ignore[arg-type]
    return Outcome(rule, Status.DUE, since=since, **extra)  # type: ignore[arg-type]


def _once(rule: Rule, s: Once, birth: date, dates: list[date], start: date, on: date, horizon: date) -> Outcome:
    if s.counts_from is not None:
        counts_from = s.counts_from.reached(birth)
        dates = [d for d in dates if d >= counts_from]
    doses, intervals, minimum = s.doses, s.dose_intervals_months, s.min_dose_intervals_months
    maximum = s.max_dose_intervals_months
    if s.late_start is not None:
        late_from = s.late_start.from_age.reached(birth)
        if (dates[0] if dates else max(on, start)) >= late_from:
            doses, intervals = s.late_start.doses, s.late_start.dose_intervals_months
            minimum, maximum = s.late_start.min_dose_intervals_months, None
    too_soon: tuple[date, ...] = ()
    if minimum is not None and len(dates) > 1:
        dates, too_soon = _valid_doses(dates, minimum)
    late = _late_doses(dates, maximum) if maximum is not None else ()
    count = (min(len(dates), doses), doses) if doses > 1 else None
    last = dates[-1] if dates else None
    max_months = maximum[min(len(dates), len(maximum)) - 1] if maximum and dates else None
    if len(dates) >= doses:
        return Outcome(rule, Status.DONE, last=last, doses=count, too_soon=too_soon, late=late,
                       max_months=max_months if late else None)
    if on < start:
        return _not_yet(rule, start, horizon)
    if last is not None:
        next_dose = add_months(last, intervals[len(dates) - 1])
        if too_soon and minimum is not None:
            # After a dose given too soon, the next may not come before the least interval from it either.
            next_dose = max(next_dose, add_months(too_soon[-1], minimum[len(dates) - 1]))
        if on < next_dose:
            return Outcome(rule, Status.UPCOMING, when=next_dose, last=last, doses=count, too_soon=too_soon)
        if maximum is not None:
            last_day = add_months(last, maximum[len(dates) - 1])
            if on > last_day:  # the longest interval has passed: « schéma incomplet », the next dose overdue
                return Outcome(rule, Status.OVERDUE, since=last_day + timedelta(days=1), last=last, doses=count,
                               too_soon=too_soon, lapsed=last_day, late=late, max_months=max_months)
        return Outcome(rule, Status.DUE, since=next_dose, last=last, doses=count, too_soon=too_soon)
    if s.overdue_from is not None:
        overdue_at: date | None = s.overdue_from.reached(birth)
    else:
        overdue_at = add_months(start, s.grace_months) if s.grace_months is not None else None
    return _due(rule, start, overdue_at, on, doses=count)


def _valid_doses(dates: list[date], minimum: tuple[int, ...]) -> tuple[list[date], tuple[date, ...]]:
    """The doses that count (each at least the least interval after the last that counted) and those that do not."""
    valid, too_soon = [dates[0]], []
    for day in dates[1:]:
        if len(valid) > len(minimum):
            valid.append(day)  # beyond the series: extra doses always count
        elif day >= add_months(valid[-1], minimum[len(valid) - 1]):
            valid.append(day)
        else:
            too_soon.append(day)
    return valid, tuple(too_soon)


def _late_doses(dates: list[date], maximum: tuple[int, ...]) -> tuple[date, ...]:
    """The doses of the series given after the longest interval from the one before (they count)."""
    return tuple(day for position, day in enumerate(dates[1:len(maximum) + 1])
                 if day > add_months(dates[position], maximum[position]))


def _appointment(s: FixedAges, index: int) -> int | None:
    """The age (years) of the index-th appointment, or None after the last one."""
    if index < len(s.ages):
        return s.ages[index]
    if s.then_every_years is None:
        return None
    return s.ages[-1] + (index - len(s.ages) + 1) * s.then_every_years


def _fixed_ages(rule: Rule, s: FixedAges, birth: date, dates: list[date], on: date, horizon: date) -> Outcome:
    last = dates[-1] if dates else None

    def covered(appointment: date) -> bool:
        # An act from `covers_before_years` before the appointment onwards stands for it.
        return last is not None and last >= add_years(appointment, -s.covers_before_years)

    current: date | None = None
    index = 0
    while (age := _appointment(s, index)) is not None and (when := add_years(birth, age)) <= on:
        current, index = when, index + 1
    if current is not None and not covered(current):
        overdue_at = add_months(current, s.grace_months) if s.grace_months is not None else None
        return _due(rule, current, overdue_at, on, last=last)
    while (age := _appointment(s, index)) is not None and covered(add_years(birth, age)):
        index += 1
    following = add_years(birth, age) if age is not None else None
    if current is None:
        return _not_yet(rule, following, horizon) if following else Outcome(rule, Status.NOT_APPLICABLE)
    return Outcome(rule, Status.DONE, until=following, last=last)


def _recurring(c: _Compiled, s: Recurring, acts: list[tuple[date, str]], start: date, end: date | None,
               on: date, horizon: date) -> Outcome:
    rule = c.rule
    if acts:
        last, code = acts[-1]
        interval = c.overrides.get(code) or s.intervals_months[min(len(acts), len(s.intervals_months)) - 1]
        next_due = max(start, add_months(last, interval))
    else:
        last, next_due = None, start
    if on < start:
        return _not_yet(rule, next_due, horizon)
    if end is not None and next_due >= end:
        return Outcome(rule, Status.DONE, until=end, last=last)
    if on < next_due:
        return Outcome(rule, Status.DONE, until=next_due, last=last)
    overdue_at = add_months(next_due, s.grace_months) if s.grace_months is not None else None
    return _due(rule, next_due, overdue_at, on, last=last)


def _windows(rule: Rule, s: Windows, birth: date, dates: list[date], on: date, horizon: date) -> Outcome:
    bounds = [(w.from_age.reached(birth), w.to_age.reached(birth)) for w in s.windows]
    for position, (opens, closes) in enumerate(bounds):
        if on < opens:
            return _not_yet(rule, opens, horizon)
        if on < closes:
            done_in_window = [d for d in dates if d >= opens]
            if done_in_window:
                following = bounds[position + 1][0] if position + 1 < len(bounds) else None
                return Outcome(rule, Status.DONE, until=following, last=done_in_window[-1])
            return Outcome(rule, Status.DUE, since=opens, last=dates[-1] if dates else None)
    return Outcome(rule, Status.NOT_APPLICABLE)


def _season(s: Season, day: date) -> tuple[date, date, date]:
    """The season containing `day`: its first day, and its campaign's first and last days."""
    first, campaign_start, campaign_end = s
    year = day.year if (day.month, day.day) >= first else day.year - 1
    begins = date(year, *first)

    def in_season(month_day: tuple[int, int]) -> date:
        candidate = date(year, *month_day)
        return candidate if candidate >= begins else date(year + 1, *month_day)

    return begins, in_season(campaign_start), in_season(campaign_end)


def _campaign_dates(s: Season, campaigns: tuple[tuple[date, date], ...], day: date) -> tuple[date, date, date]:
    """As `_season`, with the real campaign dates of that season when a season file gives them."""
    begins, opens, closes = _season(s, day)
    ends = add_years(begins, 1)
    for first, last in campaigns:
        if begins <= first < ends:
            return begins, first, last
    return begins, opens, closes


def _seasonal(rule: Rule, s: Season, dates: list[date], start: date, on: date, horizon: date,
              campaigns: tuple[tuple[date, date], ...] = (), season_end: tuple[int, int] | None = None,
              min_interval: int | None = None) -> Outcome:
    season_begins, opens, closes = _campaign_dates(s, campaigns, on)
    next_opens = _campaign_dates(s, campaigns, add_years(season_begins, 1))[1]
    ends = None
    if season_end is not None:  # a season shorter than a year (spring): acts outside it do not count
        ends = date(season_begins.year, *season_end)
        ends = ends if ends >= season_begins else date(season_begins.year + 1, *season_end)
    in_season = [d for d in dates if d >= season_begins and (ends is None or d <= ends)]
    last = dates[-1] if dates else None
    if in_season:
        return Outcome(rule, Status.DONE, until=next_opens, last=in_season[-1])
    if ends is not None and on > ends and on >= start:
        return Outcome(rule, Status.UPCOMING, when=next_opens, last=last)
    if on < start:
        # Not in the population yet: the first campaign day on which they will be.
        starts_begins, starts_opens, starts_closes = _campaign_dates(s, campaigns, start)
        first = max(starts_opens, start) if start <= starts_closes else _campaign_dates(
            s, campaigns, add_years(starts_begins, 1))[1]
        return _not_yet(rule, first, horizon)
    # The least interval after the last dose (COVID-19): not due before it, even during the campaign.
    earliest = add_months(last, min_interval) if last is not None and min_interval else None
    if on < opens:
        return Outcome(rule, Status.UPCOMING, when=max(opens, earliest) if earliest and earliest <= closes
                       else opens if earliest is None else next_opens, last=last)
    if on <= closes:
        if earliest is not None and on < earliest:
            return Outcome(rule, Status.UPCOMING, when=earliest if earliest <= closes else next_opens, last=last)
        return Outcome(rule, Status.DUE, since=max(opens, start, earliest or opens), last=last)
    return Outcome(rule, Status.UPCOMING, when=next_opens, last=last)


def _pregnancy(c: _Compiled, s: DuringPregnancy, start: date | None, dates: list[date], on: date) -> Outcome:
    """One act per pregnancy between two terms (SA), on the campaign's days (maternal RSV)."""
    rule = c.rule
    if start is None or start > on:
        return Outcome(rule, Status.UPCOMING, reason=TERM_UNKNOWN)
    if on >= over_on(start):
        return c.not_applicable
    gestation = gestational_age(start, on)
    given = [d for d in dates if d >= start]  # a dose of an earlier pregnancy does not count
    if given:
        return Outcome(rule, Status.DONE, last=given[-1], gestation=gestation)
    opens, closes = day_at(start, s.from_weeks), day_at(start, s.to_weeks) - timedelta(days=1)
    window = _campaign_window(c, opens, closes) if c.season is not None else (opens, closes)
    if window is None:
        return Outcome(rule, Status.NOT_APPLICABLE, reason=OUTSIDE_CAMPAIGN, gestation=gestation)
    first, last = window
    if on < first:
        return Outcome(rule, Status.UPCOMING, when=first, deadline=last, gestation=gestation)
    if on <= last:
        return Outcome(rule, Status.DUE, since=first, deadline=last, gestation=gestation)
    return Outcome(rule, Status.NOT_APPLICABLE, reason=MISSED, deadline=last, gestation=gestation)


def _campaign_window(c: _Compiled, opens: date, closes: date) -> tuple[date, date] | None:
    """The first stretch of [opens, closes] inside a campaign (a season file's dates, else the rule's)."""
    for day in (opens, closes):
        _, first, last = _campaign_dates(c.season, c.campaigns, day)  # type: ignore[arg-type]
        begins, ends = max(opens, first), min(closes, last)
        if begins <= ends:
            return begins, ends
    return None

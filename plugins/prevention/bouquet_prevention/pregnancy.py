"""The term of a pregnancy: what maternal vaccinations need besides the condition `grossesse`.

A pregnancy is known by its start, the « date de début de grossesse » (DDG) French practice software
and the maternity record carry, or by its expected delivery date, the « date prévue d'accouchement »
(DPA). French practice counts in weeks of amenorrhoea (SA, « semaines d'aménorrhée »): weeks since
the last menstrual period, i.e. since the start of the pregnancy plus two weeks, and sets the term at
41 SA, 39 weeks after the start (a pregnancy started on 20 January 2021 has its term on
20 October 2021: Journal des Femmes quoting a midwife; 41 SA in France, 40 in Belgium:
prematurite.be; both in SOURCES.md). So:

- SA on a day = (day − start) + 14 days, in weeks and days (« 33 SA + 2 j »);
- DDG = DPA − 273 days (39 weeks);
- a pregnancy is current from its start to 42 SA + 6 d (DPA + 13 days) and over from 43 SA + 0 d,
  two weeks after the expected delivery: Bouquet's choice (no official text read; a pregnancy is
  « à terme dépassé » from 42 SA), so that a forgotten problem-list entry or declaration does not
  keep a woman « enceinte » for flu and COVID-19 and a past pregnancy's vaccination is not asked again.

Each source of conditions (the practice software's launch, the CDS Hooks prefetch, a professional's
declaration, other plugins) reports codes and, maybe, pregnancy starts (`Reported`); `resolve` turns
them into the patient's conditions and the current pregnancy's start on a given day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DUE_SYSTEM", "GROSSESSE", "START_SYSTEM", "TERM_DAYS", "Reported", "day_at", "due_from_start",
           "gestational_age", "is_current", "over_on", "resolve", "sa", "start_from_due"]

GROSSESSE = "grossesse"
#: Weeks from the start of the pregnancy to its term (41 SA): 39 weeks.
TERM_DAYS = 273
#: How long after the expected delivery a pregnancy still counts (Bouquet's choice): to 42 SA + 6 d.
AFTER_TERM_DAYS = 14
#: The practice software's launch carries a date as a coding of these systems (`patient.conditions`
#: only holds {system, code} pairs): the code is the day, YYYY-MM-DD. Either one means `grossesse`.
START_SYSTEM = "urn:bouquet:prevention:grossesse:date-debut"
DUE_SYSTEM = "urn:bouquet:prevention:grossesse:date-prevue-accouchement"


def start_from_due(due: date) -> date:
    """The start of a pregnancy (DDG) whose expected delivery (DPA, 41 SA) is `due`."""
    return due - timedelta(days=TERM_DAYS)


def due_from_start(start: date) -> date:
    """The expected delivery date (41 SA) of a pregnancy started on `start`."""
    return start + timedelta(days=TERM_DAYS)


def day_at(start: date, weeks: int, days: int = 0) -> date:
    """The day a pregnancy started on `start` reaches `weeks` SA + `days` d."""
    return start + timedelta(days=weeks * 7 + days - 14)


def gestational_age(start: date, on: date) -> tuple[int, int]:
    """(weeks, days) of amenorrhoea on `on`."""
    return divmod((on - start).days + 14, 7)  # type: ignore[return-value]


def sa(age: tuple[int, int]) -> str:
    """« 33 SA + 2 j » (« 32 SA » on the first day of a week)."""
    weeks, days = age
    return f"{weeks} SA + {days} j" if days else f"{weeks} SA"


def over_on(start: date) -> date:
    """The first day a pregnancy started on `start` no longer counts (43 SA + 0 d)."""
    return due_from_start(start) + timedelta(days=AFTER_TERM_DAYS)


def is_current(start: date, on: date) -> bool:
    """Whether a pregnancy started on `start` is under way on `on` (a start in the future is not a date
    of this pregnancy: refused or ignored by the callers)."""
    return start <= on < over_on(start)


@dataclass(frozen=True, slots=True)
class Reported:
    """What one source says: catalogue condition codes, and the starts of the pregnancies it dates."""

    codes: frozenset[str] = frozenset()
    starts: tuple[date, ...] = ()

    @staticmethod
    def of(codes: Iterable[str], starts: Iterable[date] = ()) -> Reported:
        found = tuple(sorted(set(starts)))
        return Reported(frozenset(codes) | ({GROSSESSE} if found else set()), found)

    def __or__(self, other: Reported) -> Reported:
        return Reported.of(self.codes | other.codes, (*self.starts, *other.starts))


def resolve(reports: Sequence[Reported], on: date) -> tuple[frozenset[str], date | None]:
    """The patient's conditions on `on`, and the start of the current pregnancy if one is dated.

    `reports` come in order of precedence (a professional's declaration first, then the practice
    software, then other plugins). Within one source a dated pregnancy decides: current, it is
    `grossesse` with its term; over, the source's `grossesse` no longer counts (its undated pregnancy
    code is taken as the same pregnancy). A start after `on` is not a date (ignored). The start kept is
    the most recent current one of the first source that dates one."""
    conditions: set[str] = set()
    start: date | None = None
    for report in reports:
        codes = set(report.codes)
        dated = [s for s in report.starts if s <= on]
        if dated:
            codes.discard(GROSSESSE)
            current = [s for s in dated if is_current(s, on)]
            if current:
                codes.add(GROSSESSE)
                if start is None:
                    start = max(current)
        conditions |= codes
    return frozenset(conditions), start

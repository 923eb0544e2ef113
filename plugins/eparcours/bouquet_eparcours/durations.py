"""Calendar durations of pathway steps: the date part of ISO 8601 (`P3M`, `P1Y`, `P2W`, `P15D`).

Months and years are calendar months and years, as a clinician counts them: 31 January plus
one month is the last day of February, not 3 March.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_ISO = re.compile(r"P(?:(\d{1,3})Y)?(?:(\d{1,3})M)?(?:(\d{1,3})W)?(?:(\d{1,4})D)?")


class DurationError(ValueError):
    """Not a duration this module understands; the message is French, for the definition's author."""


@dataclass(frozen=True)
class Duration:
    """Years, months, weeks and days; all non-negative."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: object) -> Duration:
        """`P3M`, `P1Y6M`, `P2W`, `P15D`, `P0D`… Raises DurationError otherwise (times are refused)."""
        if not isinstance(text, str):
            raise DurationError(f"durée ISO 8601 attendue (ex. P3M, P1Y, P15D), reçu « {text} »")
        match = _ISO.fullmatch(text.strip().upper())
        if match is None or text.strip().upper() == "P":
            raise DurationError(f"durée ISO 8601 attendue (ex. P3M, P1Y, P15D), reçu « {text} »")
        years, months, weeks, days = (int(part) if part else 0 for part in match.groups())
        return cls(years, months, weeks, days)

    def after(self, start: date) -> date:
        """`start` plus this duration (months and years first, clamped to the month's last day)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(weeks=self.weeks, days=self.days)

    @property
    def is_zero(self) -> bool:
        return not (self.years or self.months or self.weeks or self.days)

    def __str__(self) -> str:
        parts = [f"{n}{unit}" for n, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D")) if n]
        return "P" + ("".join(parts) or "0D")

    @property
    def label(self) -> str:
        """In French: "3 mois", "1 an et 6 mois", "2 semaines", "immédiatement"."""
        parts = []
        if self.years:
            parts.append(f"{self.years} an" + ("s" if self.years > 1 else ""))
        if self.months:
            parts.append(f"{self.months} mois")
        if self.weeks:
            parts.append(f"{self.weeks} semaine" + ("s" if self.weeks > 1 else ""))
        if self.days:
            parts.append(f"{self.days} jour" + ("s" if self.days > 1 else ""))
        if not parts:
            return "immédiatement"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]

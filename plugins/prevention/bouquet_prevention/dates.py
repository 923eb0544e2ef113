"""Calendar arithmetic for ages and intervals, consistent with `PatientContext.age`.

An anniversary that does not exist in the target month (born 29 February, or an interval from
31 January) falls on the first day of the following month: someone born on 29 February 2000 is
18 on 1 March 2018, as the core's `PatientContext.age` counts it.
"""

from __future__ import annotations

from datetime import date

__all__ = ["add_months", "add_years", "month_day"]

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in(year: int, month: int) -> int:
    if month == 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return 29
    return _DAYS[month - 1]


def add_months(start: date, months: int) -> date:
    """`start` moved by `months` calendar months (negative goes back); a day the target month
    lacks rolls to the 1st of the month after."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if start.day <= 28 or start.day <= _days_in(year, month):
        return date(year, month, start.day)
    return date(year + month // 12, month % 12 + 1, 1)


def add_years(start: date, years: int) -> date:
    """`start` moved by whole years, with the same rule as :func:`add_months`."""
    return add_months(start, 12 * years)


def month_day(text: str) -> tuple[int, int]:
    """Parse "MM-DD" into (month, day); ValueError for anything else (29 February is refused)."""
    month_text, _, day_text = text.partition("-")
    if len(month_text) != 2 or len(day_text) != 2 or not (month_text.isdigit() and day_text.isdigit()):
        raise ValueError(f"expected MM-DD, got {text!r}")
    month, day = int(month_text), int(day_text)
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS[month - 1]:
        raise ValueError(f"{text!r} is not a day of every year")
    return month, day

"""Times as the portal's users read them: in Europe/Paris, one way everywhere.

Every timestamp is stored in UTC (`bouquet.foundation.db.UtcDateTime`); every page shows it in the
time of metropolitan France, where the portal's users work, through these two functions (the Jinja
filters `datetime` and `date` of every template, the core's and the plugins').
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

__all__ = ["PARIS", "format_date", "format_datetime", "in_paris"]

PARIS = ZoneInfo("Europe/Paris")
NONE = "—"


def in_paris(value: datetime) -> datetime:
    """The same instant in Paris time; a naive datetime is taken as UTC (the database's convention)."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(PARIS)


def format_datetime(value: datetime | None) -> str:
    """"12/03/2025 à 14:05", in Paris time; "—" for no value."""
    if value is None:
        return NONE
    return in_paris(value).strftime("%d/%m/%Y à %H:%M")


def format_date(value: date | datetime | str | None) -> str:
    """"12/03/2025": a calendar date as is; the day of an instant in Paris (23:30 UTC is the next day there)."""
    if value is None or value == "":
        return NONE
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = in_paris(value)
    return value.strftime("%d/%m/%Y")
